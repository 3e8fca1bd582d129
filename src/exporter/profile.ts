import { usageError } from '../errors.js';
import type { AuthPlan } from '../flows/establish.js';
import type { ProbeSettings } from '../probe/probe.js';
import { assertEhloName } from '../protocol/command.js';
import { defaultEhloName, sessionOptionsFor } from '../session/for-target.js';
import type { SessionOptions } from '../session/session.js';
import { durationMs } from '../util/duration.js';
import { readSmallFile } from '../util/read-file.js';
import { ROLE_PORTS, type Module } from './modules.js';

/** What a module's probe takes from the exporter's own settings. */
export interface ModuleDefaults {
  /** A probe's limit when neither the module nor Prometheus sets one. */
  defaultTimeoutMs: number;
  /** A module's login (its secret from its variable or file), by the command line's rules. */
  login: (auth: NonNullable<Module['auth']>) => Promise<AuthPlan>;
  /** Certificate days left (warn below, fail below) for a module that sets none. */
  days: { warn: number; crit: number };
}

/**
 * One scrape's probe from a module, as `smtpkit probe` with the same settings would run it:
 * its settings, and the session options for the target. Read again for each scrape, so a
 * rotated password file or CA bundle is picked up; a mistake in them is that scrape's 400.
 */
export async function moduleProbe(
  m: Module,
  target: string,
  o: Readonly<ModuleDefaults>,
): Promise<{ settings: ProbeSettings; options: SessionOptions }> {
  let expectBanner: RegExp | undefined;
  try {
    expectBanner = m.expectBanner ? new RegExp(m.expectBanner) : undefined;
  } catch {
    throw usageError(`--expect-banner: ${JSON.stringify(m.expectBanner)} is not a regular expression`);
  }
  const days = (n: number | undefined, d: number, option: string) => {
    if (n !== undefined && !(n >= 0)) throw usageError(`${option} takes a number of days`);
    return n ?? d;
  };
  const auth = m.auth ? await o.login(m.auth) : undefined;
  // The secret is read now, before the probe connects (as probe asks once before the first).
  await auth?.secret();
  const timeoutMs = m.timeout === undefined ? o.defaultTimeoutMs : durationMs(m.timeout, '--timeout');
  const settings: ProbeSettings = {
    expectBanner,
    requireStartTls: false,
    warnDays: days(m.warnDays, o.days.warn, '--warn-days'),
    critDays: days(m.critDays, o.days.crit, '--crit-days'),
    warnMs: {},
    critMs: {},
    auth,
    from: undefined,
    rcpt: undefined,
    relayTest: false,
    enumTest: false,
    resolver: undefined,
    ptr: false,
    dnsbl: [],
    totalMs: timeoutMs,
  };
  const { options } = sessionOptionsFor(
    target,
    {
      port: undefined,
      family: undefined,
      localAddress: undefined,
      tlsOnConnect: m.role === 'smtps' ? true : undefined,
      ehloName: assertEhloName(m.ehlo ?? defaultEhloName()),
      timeouts: { connect: timeoutMs, greeting: timeoutMs, command: timeoutMs, tls: timeoutMs },
      tls: {
        sni: undefined,
        ca: m.caFile ? readSmallFile(m.caFile, '--ca-file') : undefined,
        minVersion: undefined,
        maxVersion: undefined,
        cert: undefined,
        key: undefined,
        verify: m.tlsVerify ?? false,
      },
      raw: false,
    },
    ROLE_PORTS[m.role as keyof typeof ROLE_PORTS],
  );
  return { settings, options };
}
