import type { Outcome } from '../errors.js';
import { alignment } from '../dns/checks/dmarc-discovery.js';
import { Resolver } from '../dns/resolver.js';
import type { TransportOptions } from '../dns/transport.js';
import { verifyMessage, type SignatureResult } from '../dkim/verify.js';
import { renderDkimVerify, type DkimAlignment } from '../render/dkim.js';
import { plainFailure, type Report } from '../render/report.js';

export interface DkimVerifySpec {
  /** The message, as read from the file or standard input. */
  input: AsyncIterable<Buffer>;
  resolver: Readonly<TransportOptions>;
}

export interface DkimVerifyResult {
  signatures: SignatureResult[];
  fromDomain: string | undefined;
  aligned: DkimAlignment[];
  outcome: Outcome;
}

/** `smtpkit dkim-verify FILE|-`: every DKIM signature of a received message, checked, with its DMARC alignment. */
export async function dkimVerify(spec: Readonly<DkimVerifySpec>): Promise<DkimVerifyResult> {
  const resolver = new Resolver(spec.resolver);
  const { signatures, fromDomain } = await verifyMessage(spec.input, resolver);
  const aligned: DkimAlignment[] = [];
  if (fromDomain) {
    for (const s of signatures.filter((x) => x.domain && x.result === 'pass')) {
      try {
        const a = await alignment(resolver, fromDomain, s.domain!);
        aligned.push({ index: s.index, domain: s.domain!, ...a });
      } catch (err) {
        aligned.push({
          index: s.index,
          domain: s.domain!,
          strict: s.domain === fromDomain,
          relaxed: undefined,
          fromOrg: undefined,
          authOrg: undefined,
          error: (err as Error).message,
        });
      }
    }
  }
  const passed = signatures.filter((s) => s.result === 'pass');
  const ended = (exitCode: number, message: string) => ({
    signatures,
    fromDomain,
    aligned,
    outcome: { ok: exitCode === 0, exitCode, message },
  });
  if (!signatures.length) return ended(1, 'the message has no DKIM-Signature');
  if (passed.length) {
    const al = aligned.filter((a) => a.relaxed || a.strict);
    const unknown = aligned.some((a) => a.relaxed === undefined);
    return ended(
      0,
      `${passed.length} of ${signatures.length} DKIM signature${signatures.length === 1 ? '' : 's'} pass${passed.length === 1 ? 'es' : ''}${al.length ? `; aligned with From: ${fromDomain} (DMARC)` : unknown ? `; alignment with From: ${fromDomain} could not be determined (a DNS look-up failed)` : fromDomain ? `; none aligned with From: ${fromDomain}, so none counts for DMARC` : ''}`,
    );
  }
  if (signatures.some((s) => s.result === 'temperror'))
    return ended(
      3,
      `no DKIM signature passes; ${signatures.filter((s) => s.result === 'temperror').length} could not be checked for a DNS failure`,
    );
  return ended(1, `none of the ${signatures.length} DKIM signature${signatures.length === 1 ? '' : 's'} passes`);
}

/** The report of a run, or of a failure before or during it (nothing found then). */
export function dkimVerifyReport(
  file: string,
  startedAt: string,
  r: DkimVerifyResult | undefined,
  failed?: Outcome,
): Report {
  const { signatures = [], fromDomain = undefined, aligned = [] } = r ?? {};
  return {
    command: 'dkim-verify',
    target: file,
    outcome: failed ? plainFailure(failed) : r!.outcome,
    fields: { startedAt, fromDomain: fromDomain ?? null, signatures, alignment: aligned },
    text: (c) => renderDkimVerify(signatures, aligned, fromDomain, c),
  };
}
