import { SmtpkitError } from '../../errors.js';
import type { DnsFailure } from '../../dns/resolver.js';
import { replyText } from '../../protocol/reply.js';
import type { Check } from '../result.js';
import { check, connectedAddress, needed, type CheckContext, type ProbeCheck } from './context.js';

/** The reverse DNS name of the address the probe reached, against the name the greeting gives. */
export async function runPtr(ctx: CheckContext): Promise<Check<'ptr'>> {
  const address = connectedAddress(ctx) ?? '';
  // A failed look-up says so: it is not "no reverse DNS name".
  // (DnsFailure is an SmtpkitError of class dns; a type import keeps dns2 unloaded here.)
  const names = await needed(ctx.settings.resolver, 'the resolver')
    .ptr(address)
    .catch((err: unknown) => {
      if (err instanceof SmtpkitError && err.errorClass === 'dns') return err as DnsFailure;
      throw err;
    });
  const greetName = (replyText(needed(ctx.greeting, 'the greeting')).split(/\s+/)[0] ?? '').toLowerCase();
  if (!Array.isArray(names))
    return check(
      'ptr',
      'warn',
      `${address}: the reverse DNS (PTR) look-up failed (${names.short}), so whether it has a name is unknown`,
    );
  if (!names.length) return check('ptr', 'warn', `${address} has no reverse DNS name`);
  if (names.some((n) => n.toLowerCase() === greetName))
    return check('ptr', 'pass', `${address} is ${names.join(', ')}, the name in the greeting`);
  return check('ptr', 'warn', `${address} is ${names.join(', ')}, but the greeting says ${greetName || '(nothing)'}`);
}

export const ptr: ProbeCheck<'ptr'> = {
  names: ['ptr'],
  when: (s) => !!s.resolver && s.ptr !== false,
  run: async (ctx) => [await runPtr(ctx)],
};
