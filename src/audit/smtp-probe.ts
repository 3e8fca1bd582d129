import { judgeAuthBeforeTls } from '../probe/checks/auth-before-tls.js';
import { enumerationChecks } from '../probe/checks/enumeration.js';
import { localDomain, relayCheck, relayForms, tryForm } from '../probe/checks/open-relay.js';
import { freshSession, inBatches } from '../probe/fresh-session.js';
import { probe, type ProbeSettings } from '../probe/probe.js';
import type { Check, ProbeResult } from '../probe/result.js';
import { authMechanisms, hasExtension, parseEhlo } from '../protocol/capabilities.js';
import { replyText, type Reply } from '../protocol/reply.js';
import type { SmtpSession } from '../session/session.js';
import type { SessionOptions } from '../session/session.js';
import type { AuditOptions } from './options.js';

/** One MX address to probe: the host it belongs to, and whether the cipher scan runs on it. */
export interface MxAddress {
  host: string;
  address: string;
  family: 4 | 6;
  /** The first address of each host carries the cipher scan: once per host is polite enough. */
  scan: boolean;
}

/** What one probe of an MX address saw, for the checks to read. */
export interface SmtpFacts {
  result: ProbeResult;
  /** The presented chain (DER, leaf first); empty without TLS. */
  chain: Buffer[];
  /** The greeting and the first EHLO reply, as the server sent them. */
  greeting: Reply | undefined;
  ehlo: Reply | undefined;
  check(name: string): Check | undefined;
  /** Set when STARTTLS failed and the checks after it were judged in plaintext: why. */
  plaintext?: string;
}

/**
 * The probe engine on one MX address: greeting, EHLO, STARTTLS and the certificate, AUTH
 * before TLS, the relay test in every address form, VRFY/EXPN/RCPT enumeration against
 * postmaster, reverse DNS against the greeting, and on the host's first address the cipher
 * scan. All within what is left of the audit's time.
 */
/** A session to one MX address on the audit's port: plaintext SMTP first, STARTTLS when offered, opportunistic. */
export function mxSessionOptions(
  a: Pick<MxAddress, 'host' | 'address'>,
  o: AuditOptions,
  wait: number,
): SessionOptions {
  return {
    host: a.host,
    candidates: [{ host: a.host, address: a.address }],
    port: o.port,
    family: undefined,
    localAddress: undefined,
    tlsOnConnect: false,
    ehloName: o.ehloName,
    timeouts: { connect: wait, greeting: wait, command: wait, tls: wait },
    tls: {
      sni: undefined,
      ca: o.ca,
      minVersion: undefined,
      maxVersion: undefined,
      cert: undefined,
      key: undefined,
      verify: false,
    },
    raw: false,
    // An MX speaks plaintext SMTP on its port; waiting to find out otherwise costs the budget.
    sniffImplicitTls: false,
  };
}

export async function probeMx(
  a: MxAddress,
  o: AuditOptions,
  remainingMs: number,
  signal?: AbortSignal,
): Promise<SmtpFacts> {
  const wait = Math.min(o.waitMs, remainingMs);
  const endsAt = Date.now() + remainingMs;
  const options = mxSessionOptions(a, o, wait);
  let chain: Buffer[] = [];
  const settings: ProbeSettings = {
    expectBanner: undefined,
    warnDays: 21,
    critDays: 7,
    warnMs: {},
    critMs: {},
    auth: undefined,
    from: undefined,
    rcpt: undefined,
    relayTest: true,
    enumTest: true,
    ...(a.scan ? { tlsScan: { concurrency: o.scanConcurrency, timeoutMs: wait, ...(signal ? { signal } : {}) } } : {}),
    resolver: o.resolver,
    ptr: true,
    totalMs: remainingMs,
    onCertificates: (_t, c) => (chain = c),
  };
  const result = await probe({ label: `${a.host} (${a.address})`, options, mx: true, domain: o.domain }, settings);
  const replies = result.events.flatMap((e) => (e.type === 'reply' ? [e] : []));
  const greeting = replies.find((e) => e.command === 'CONNECT')?.reply;
  const ehlo = replies.find((e) => /^EHLO /i.test(e.command) || e.command === 'EHLO')?.reply;
  // Not when the probe's time ran out (its deadline is the audit's): there is none left for more sessions.
  const fallback =
    tlsFailed(result, ehlo) && Date.now() + wait < endsAt
      ? await inPlaintext(a, o, options, greeting!, ehlo!, signal)
      : [];
  const checks = [...result.checks, ...fallback];
  return {
    result,
    chain,
    greeting,
    ehlo,
    check: (name) => checks.find((c) => c.name === name),
    ...(fallback.length ? { plaintext: `STARTTLS failed (${result.error!.message})` } : {}),
  };
}

/** The probe stopped between an EHLO that offered STARTTLS and a working TLS session. */
function tlsFailed(result: ProbeResult, ehlo: Reply | undefined): boolean {
  return (
    result.error?.errorClass === 'tls' && !result.tls && ehlo?.code === 250 && hasExtension(parseEhlo(ehlo), 'STARTTLS')
  );
}

/**
 * STARTTLS failed, so the probe stopped before judging what matters most on a plaintext
 * server: AUTH is judged from the EHLO read before STARTTLS, and the relay and enumeration
 * tests run on fresh sessions that never try TLS (as a sender would fall back to).
 */
async function inPlaintext(
  a: Pick<MxAddress, 'host' | 'address'>,
  o: AuditOptions,
  options: SessionOptions,
  greeting: Reply,
  ehlo: Reply,
  signal: AbortSignal | undefined,
): Promise<Check[]> {
  const open = async (): Promise<SmtpSession> => {
    if (signal?.aborted) throw new Error("the audit's time limit ran out");
    const session = await freshSession(options, () => {}, false);
    signal?.addEventListener('abort', () => session.abandon(), { once: true });
    return session;
  };
  const local = localDomain(replyText(greeting), a.host);
  const attempts = await inBatches(relayForms(local, a.address), 5, open, tryForm, (f, err) => ({
    form: f.form,
    commands: [],
    reply: `error: ${(err as Error).message}`,
    accepted: false,
  }));
  let enumeration: Check[];
  try {
    enumeration = await enumerationChecks(open, `postmaster@${o.domain}`);
  } catch {
    enumeration = [];
  }
  return [judgeAuthBeforeTls(authMechanisms(parseEhlo(ehlo))), relayCheck(attempts), ...enumeration];
}
