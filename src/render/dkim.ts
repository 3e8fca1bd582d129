import type { SignatureResult } from '../dkim/verify.js';
import type { Paint } from './paint.js';
import { printable } from './printable.js';

export interface DkimAlignment {
  index: number;
  domain: string;
  strict: boolean;
  /** undefined: the organisational domains could not be found (DNS failure). */
  relaxed: boolean | undefined;
  fromOrg: string | undefined;
  authOrg: string | undefined;
  error?: string;
}

const MARK = { pass: '✔', fail: '✖', permerror: '✖', temperror: '?' };

/** dkim-verify's text: one block per signature, the reason first, then what else is worth knowing. */
export function renderDkimVerify(
  sigs: SignatureResult[],
  aligned: DkimAlignment[],
  fromDomain: string | undefined,
  c: Paint,
): string {
  const out: string[] = [];
  out.push(
    c.blue(
      `=== ${sigs.length} DKIM signature${sigs.length === 1 ? '' : 's'}; From: domain ${fromDomain ?? '(none found)'}`,
    ),
  );
  for (const s of sigs) {
    const paint = s.result === 'pass' ? c.green : s.result === 'temperror' ? c.yellow : c.red;
    out.push(paint(`${MARK[s.result]} #${s.index} ${s.result} (${s.reason}): ${printable(s.explanation)}`));
    out.push(
      c.dim(
        `    d=${printable(s.domain ?? '?')} s=${printable(s.selector ?? '?')} a=${printable(s.algorithm ?? '?')} c=${printable(s.canonicalization ?? '?')}${s.keyBits ? ` key ${s.keyBits} bits` : ''}`,
      ),
    );
    out.push(c.dim(`    signed headers: ${printable(s.signedHeaders.join(', '))}`));
    for (const n of s.notes) out.push(c.yellow(`    ! ${printable(n)}`));
    const a = aligned.find((x) => x.index === s.index);
    if (a) {
      const how = a.strict
        ? 'aligned (strict: the same domain)'
        : a.relaxed
          ? `aligned (relaxed: the same organisational domain ${a.fromOrg}, RFC 9989 §4.10.2)`
          : a.relaxed === undefined
            ? `alignment unknown: ${a.error}`
            : `not aligned: d=${a.domain} (organisational domain ${a.authOrg}) is not From: ${fromDomain} (${a.fromOrg})`;
      out.push((a.strict || a.relaxed ? c.green : c.yellow)(`    DMARC: ${printable(how)}`));
    }
  }
  return `${out.join('\n')}\n`;
}
