import type { CheckMessageResult } from '../auth/check-message.js';
import type { Paint } from './paint.js';
import { printable } from './printable.js';

const MARK: Record<string, string> = {
  pass: '✔',
  none: '·',
  'not-evaluated': '·',
  neutral: '·',
  softfail: '⚠',
  temperror: '?',
  fail: '✖',
  permerror: '✖',
};
const SOURCE = { option: 'given', received: 'from the topmost Received:', 'return-path': 'from Return-Path:' };

/** check-message's text: one line per method (SPF, each DKIM signature, DMARC, ARC), then the Authentication-Results field. */
export function renderCheckMessage(r: CheckMessageResult, c: Paint): string {
  const out: string[] = [];
  const line = (result: string, text: string) => {
    const paint =
      result === 'pass'
        ? c.green
        : result === 'fail' || result === 'permerror'
          ? c.red
          : result === 'temperror' || result === 'softfail'
            ? c.yellow
            : c.dim;
    out.push(paint(`${MARK[result] ?? '·'} ${printable(text)}`));
  };
  const s = r.spf;
  const envelope = [
    s.ip ? `client ${s.ip} (${SOURCE[s.ipSource!]})` : 'client address unknown',
    s.helo ? `HELO ${s.helo} (${SOURCE[s.heloSource!]})` : undefined,
    s.mailFrom !== undefined ? `MAIL FROM <${s.mailFrom}> (${SOURCE[s.mailFromSource!]})` : undefined,
  ].filter(Boolean);
  out.push(
    c.blue(`=== From: ${printable(r.fromDomain ?? '(no single From: domain)')}; ${printable(envelope.join(', '))}`),
  );
  if (r.received) out.push(c.dim(`    Received: ${printable(r.received)}`));
  const spfWhat = s.domain ? ` for ${s.identity === 'helo' ? 'HELO' : 'MAIL FROM'} ${s.domain}` : '';
  line(
    s.result,
    s.result === 'not-evaluated'
      ? `SPF not evaluated: ${s.reason}`
      : `SPF ${s.result}${spfWhat} from ${s.ip}${s.reason ? `: ${s.reason}` : ''}${s.explanation ? ` (explanation: ${s.explanation})` : ''}`,
  );
  if (!r.dkim.length) line('none', 'DKIM none: the message has no DKIM-Signature');
  for (const d of r.dkim) {
    const al = r.dmarc.dkim.find((x) => x.index === d.index);
    line(
      d.result,
      `DKIM #${d.index} ${d.result}${d.result === 'pass' ? '' : ` (${d.reason})`} d=${d.domain ?? '?'} s=${d.selector ?? '?'} a=${d.algorithm ?? '?'}: ${d.explanation}${al ? `; ${al.aligned ? 'aligned' : al.aligned === undefined ? 'alignment unknown' : 'not aligned'} with From: (${al.how})` : ''}`,
    );
    for (const n of d.notes) out.push(c.yellow(`    ! ${printable(n)}`));
  }
  const m = r.dmarc;
  const act =
    m.result === 'fail'
      ? `the policy asks to ${m.disposition === 'none' ? 'deliver as usual (none)' : m.disposition}${m.testing && m.policy !== m.disposition ? ` (p=${m.policy}, one step softer for t=y)` : ''}`
      : m.result === 'pass'
        ? 'deliver'
        : undefined;
  line(
    m.result,
    `DMARC ${m.result}${m.policy ? ` (policy ${m.policyTag}=${m.policy}${m.testing ? ' t=y' : ''} from _dmarc.${m.policyDomain})` : ''}: ${m.reason}${act ? `; disposition: ${act}` : ''}`,
  );
  for (const n of m.notes) out.push(c.yellow(`    ! ${printable(n)}`));
  const a = r.arc;
  line(a.result, `ARC ${a.result}: ${a.reason}${a.oldestPass ? `; oldest-pass=${a.oldestPass}` : ''}`);
  for (const set of a.sets) {
    const ams = set.messageSignature;
    out.push(
      c.dim(
        `    i=${set.instance} cv=${printable(set.cv ?? '?')} seal ${set.seal.result} (d=${printable(set.seal.domain ?? '?')}), message signature ${ams?.result ?? 'missing'}${ams && ams.result !== 'pass' ? ` (${ams.reason})` : ''} (d=${printable(ams?.domain ?? '?')})`,
      ),
    );
    if (set.authResults)
      out.push(c.dim(`      ${printable(set.authservId ?? '?')} recorded: ${printable(set.authResults)}`));
  }
  out.push('', ...r.authenticationResults.split('\r\n').map((l) => printable(l)));
  return `${out.join('\n')}\n`;
}
