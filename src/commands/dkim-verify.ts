import { SmtpkitError } from '../errors.js';
import { openInput } from '../flows/message-input.js';
import { alignment } from '../dns/checks/dmarc-discovery.js';
import { Resolver, type ResolverFlags } from '../dns/resolver.js';
import { verifyMessage, type SignatureResult } from '../dkim/verify.js';
import { renderDkimVerify, type DkimAlignment } from '../render/dkim.js';
import { jsonDocument } from '../render/json.js';
import { processOutput } from '../render/output.js';
import { printable } from '../render/printable.js';
import { readOption } from '../flows/options.js';
import { failureOutcome } from '../flows/run.js';
import { classified, writeBareFailure } from '../render/print-outcome.js';
import type { Outcome } from '../render/outcome.js';

export interface DkimVerifyFlags extends ResolverFlags {
  json?: boolean;
  quiet?: boolean;
  color?: boolean;
}

/** `smtpkit dkim-verify FILE|-`: every DKIM signature of a received message, checked and explained. */
export async function dkimVerify(file: string, flags: DkimVerifyFlags): Promise<number> {
  const startedAt = new Date().toISOString();
  let signatures: SignatureResult[] = [];
  let fromDomain: string | undefined;
  const aligned: DkimAlignment[] = [];
  let exitCode = 0;
  let message: string;
  let errorClass: Outcome['errorClass'];
  try {
    const ca = flags.caFile ? readOption(flags.caFile, '--ca-file') : undefined;
    const resolver = Resolver.fromFlags(flags, ca);
    ({ signatures, fromDomain } = await verifyMessage(await openInput(file), resolver));
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
    if (!signatures.length) {
      exitCode = 1;
      message = 'the message has no DKIM-Signature';
    } else if (passed.length) {
      const al = aligned.filter((a) => a.relaxed || a.strict);
      const unknown = aligned.some((a) => a.relaxed === undefined);
      message = `${passed.length} of ${signatures.length} DKIM signature${signatures.length === 1 ? '' : 's'} pass${passed.length === 1 ? 'es' : ''}${al.length ? `; aligned with From: ${fromDomain} (DMARC)` : unknown ? `; alignment with From: ${fromDomain} could not be determined (a DNS look-up failed)` : fromDomain ? `; none aligned with From: ${fromDomain}, so none counts for DMARC` : ''}`;
    } else if (signatures.some((s) => s.result === 'temperror')) {
      exitCode = 3;
      message = `no DKIM signature passes; ${signatures.filter((s) => s.result === 'temperror').length} could not be checked for a DNS failure`;
    } else {
      exitCode = 1;
      message = `none of the ${signatures.length} DKIM signature${signatures.length === 1 ? '' : 's'} passes`;
    }
  } catch (err) {
    const o = failureOutcome(err);
    exitCode = o.exitCode;
    message = o.message;
    errorClass = o.errorClass;
  }
  const ok = exitCode === 0;
  const outcome = classified({ ok, exitCode, message, ...(errorClass ? { errorClass } : {}) });
  const output = await processOutput(flags);
  if (flags.json) {
    output.stdout.write(
      jsonDocument('dkim-verify', file, outcome, {
        startedAt,
        fromDomain: fromDomain ?? null,
        signatures,
        alignment: aligned,
      }),
    );
  } else if (flags.quiet || errorClass === 'usage') {
    writeBareFailure(output, 'dkim-verify', outcome, flags);
  } else {
    const c = output.paint;
    output.stdout.write(renderDkimVerify(signatures, aligned, fromDomain, c));
    if (ok) output.stdout.write(`${c.green.bold(`=== ${printable(message)}`)}\n`);
    else output.stderr.write(`${c.red.bold(`*** ${printable(message)}`)}\n`);
  }
  return exitCode;
}

export { SmtpkitError };
