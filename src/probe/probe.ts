import { performance } from 'node:perf_hooks';
import { SmtpkitError } from '../errors.js';
import { authMechanisms, hasExtension } from '../protocol/capabilities.js';
import { replyText } from '../protocol/reply.js';
import { formatTarget } from '../protocol/target.js';
import type { DnsFailure, Resolver } from '../dns/resolver.js';
import type { SmtpEvent } from '../session/events.js';
import { SmtpSession, type SessionOptions } from '../session/session.js';
import { boundedTest, MATCH_LIMIT_MS } from '../util/bounded-match.js';
import { describeTimeout } from '../util/duration.js';
import { login, type AuthPlan } from '../flows/establish.js';
import { outcomeOf as failureOutcome } from '../errors.js';
import { mailTransaction } from '../flows/transaction.js';
import type { Check, CheckStatus, ProbeResult } from './result.js';
import { tlsScanChecks, type TlsScanSettings } from './tls-scan.js';
import { enumerationChecks } from './enumeration.js';
import { freshSession, inBatches } from './fresh-session.js';
import { localDomain, relayCheck, relayForms, tryForm } from './relay.js';

export interface ProbeSettings {
  expectBanner: RegExp | undefined;
  /** check_smtp's -e: text the greeting must contain. */
  expectText?: string;
  /** STARTTLS must be offered (-S, --starttls always): its absence fails instead of warning. */
  requireStartTls?: boolean;
  warnDays: number;
  critDays: number;
  /** Thresholds in ms: "total" or a phase name → limit. */
  warnMs: Record<string, number>;
  critMs: Record<string, number>;
  auth: AuthPlan | undefined;
  from: string | undefined;
  rcpt: string | undefined;
  relayTest: boolean;
  /** Set for --enum-test: VRFY, EXPN and RCPT for a known and a random user. */
  enumTest?: boolean;
  /** Set for --tls-scan. */
  tlsScan?: TlsScanSettings;
  /** Set for --ptr and --dnsbl. */
  resolver: Resolver | undefined;
  ptr?: boolean;
  /** --dnsbl: the lists to look the server's address up in. */
  dnsbl?: string[];
  /** The whole probe's time limit. */
  totalMs: number;
  /** --dane: DANE (RFC 7672) judges the certificate with TLSA records from this resolver. */
  daneResolver?: Resolver;
  /** --save-cert: told each target's presented chain (DER, leaf first), empty without TLS. */
  onCertificates?: (target: ProbeTarget, chain: Buffer[]) => void;
}

export interface ProbeTarget {
  label: string;
  options: SessionOptions;
  /** An MX host of a domain (--mx): server-to-server delivery, whatever the port. */
  mx?: boolean;
  /** The domain publishes an MTA-STS policy in enforce mode covering this host. */
  mtaStsEnforce?: boolean;
  /** With --mx: the domain whose mail host this is (its postmaster is a known address). */
  domain?: string;
}

/** Which rule judged the certificate, and whether a bad one fails or only warns. */
export interface CertificatePolicy {
  rule: 'tls-verify' | 'dane' | 'mta-sts' | 'opportunistic' | 'authenticated';
  enforced: boolean;
  why: string;
}

/**
 * Port 25 between MTAs is opportunistic TLS (RFC 3207 §4.1, RFC 7435): senders deliver
 * over an untrusted or mismatched certificate, so it warns, unless --tls-verify, DANE
 * (RFC 7672) or an MTA-STS policy in enforce mode (RFC 8461) demands a valid one. Clients
 * of other ports (587, 465) check the certificate: there it fails.
 */
export function certificatePolicy(
  port: number,
  o: { verify: boolean; dane?: boolean; mtaStsEnforce?: boolean; mx?: boolean },
): CertificatePolicy {
  // dane: the host publishes DNSSEC-validated TLSA records, so they decide (RFC 7672 §2.2).
  if (o.dane)
    return {
      rule: 'dane',
      enforced: true,
      why: 'the host’s DNSSEC-validated TLSA records decide (--dane): senders that use DANE will not deliver over a certificate they do not match',
    };
  if (o.verify) return { rule: 'tls-verify', enforced: true, why: '--tls-verify asks for a valid certificate' };
  if (o.mtaStsEnforce)
    return {
      rule: 'mta-sts',
      enforced: true,
      why: 'the domain’s MTA-STS policy is in enforce mode: senders that honour it will not deliver over it',
    };
  if (port === 25 || o.mx)
    return {
      rule: 'opportunistic',
      enforced: false,
      why: 'port 25 between MTAs is opportunistic TLS, so senders deliver anyway; --tls-verify, --dane or an MTA-STS policy in enforce mode make this a failure',
    };
  return {
    rule: 'authenticated',
    enforced: true,
    why: `clients of port ${port} check the certificate; --ca-file adds a private CA`,
  };
}

const SUBMISSION = 587;
const SMTPS = 465;

/**
 * One probe: connect, greet, EHLO, TLS, and the optional steps, each judged as a named
 * check. A failure that makes going on pointless stops the probe with the core's exit
 * code; the whole probe is bounded by `totalMs` whatever the server does.
 */
export async function probe(target: ProbeTarget, s: ProbeSettings): Promise<ProbeResult> {
  const events: SmtpEvent[] = [];
  // With --tls-verify the session itself stops at a bad certificate (exit 6, as everywhere).
  const policyFor = (dane: boolean) =>
    certificatePolicy(target.options.port, {
      verify: target.options.tls.verify,
      dane,
      mtaStsEnforce: target.mtaStsEnforce,
      mx: target.mx,
    });
  let policy = policyFor(false);
  // Options are copied: the DANE judge is installed on this session only.
  const session = new SmtpSession({ ...target.options }, (e) => events.push(e));
  const dane = s.daneResolver
    ? (await import('../flows/mx-targets.js')).installDane(session, s.daneResolver)
    : undefined;
  const daneDecided = () => ['authenticated', 'mismatch', 'lookup-failed'].includes(dane?.result()?.status ?? '');
  const checks: Check[] = [];
  const add = (name: string, status: CheckStatus, message: string) => checks.push({ name, status, message });
  const { port } = target.options;
  const started = performance.now();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  // The whole probe, whatever each wait allows, ends at --timeout: the step then running names the failure.
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(deadlineError(session, events, s.totalMs));
      session.close();
    }, s.totalMs);
  });
  let error: ProbeResult['error'] = null;
  let exitCode = 0;
  let scan: ProbeResult['scan'];
  const steps = async () => {
    const greeting = await session.connect();
    add(
      'connect',
      'pass',
      `connected to ${formatTarget(target.options.candidates?.[0]?.address ?? target.options.host, port)} in ${session.timings.connect ?? 0} ms`,
    );
    const banner = `${greeting.code} ${replyText(greeting)}`;
    const matched = s.expectBanner ? boundedTest(s.expectBanner, banner) : true;
    if (matched === undefined)
      add(
        'greeting',
        'fail',
        `--expect-banner ${s.expectBanner} took over ${MATCH_LIMIT_MS} ms on "${banner}" (a pattern that backtracks): stopped`,
      );
    else if (!matched) add('greeting', 'fail', `"${banner}" does not match ${s.expectBanner}`);
    else if (s.expectText !== undefined && !banner.includes(s.expectText))
      add('greeting', 'fail', `"${banner}" does not contain "${s.expectText}" (--expect)`);
    else add('greeting', 'pass', `${banner} after ${session.timings.banner ?? 0} ms`);

    const plainCaps = await session.ehlo();
    add('ehlo', 'pass', `${plainCaps.via} accepted; ${Object.keys(plainCaps.extensions).join(' ') || 'no extensions'}`);
    const implicitTls = session.isTls;
    const authBefore = implicitTls ? [] : authMechanisms(plainCaps);

    if (implicitTls)
      add(
        'tls',
        'pass',
        session.implicitTlsDetected
          ? `implicit TLS (port ${port}): no greeting in plaintext, but the port answers TLS; say --tls-on-connect or smtps:// next time`
          : `implicit TLS (port ${port})`,
      );
    else if (hasExtension(plainCaps, 'STARTTLS')) {
      await session.starttls();
      add('tls', 'pass', `STARTTLS works (${session.timings.tls} ms handshake)`);
    } else {
      const required = port === SUBMISSION || port === SMTPS || s.requireStartTls || target.options.requireStartTls;
      add(
        'tls',
        required ? 'fail' : 'warn',
        port === SMTPS
          ? 'no TLS on port 465: it expects implicit TLS (--tls-on-connect)'
          : `STARTTLS is not offered: mail to this server travels in clear${s.requireStartTls ? ' (STARTTLS required: -S)' : ''}`,
      );
    }
    const t = session.tls;
    if (t) {
      add(
        'tls-version',
        t.protocol === 'TLSv1' || t.protocol === 'TLSv1.1' ? 'warn' : 'pass',
        `${t.protocol}, ${t.cipher}${t.protocol === 'TLSv1' || t.protocol === 'TLSv1.1' ? ': obsolete, should be TLS 1.2 or later' : ''}`,
      );
      if (daneDecided()) policy = policyFor(true);
      const bad: CheckStatus = policy.enforced ? 'fail' : 'warn';
      // A certificate judge (DANE) may vouch for what PKIX does not.
      const vouched = session.certificateVerdict;
      const trusted = t.trusted || !!vouched;
      const nameMatches = t.nameMatches || !!vouched?.nameWaived;
      add(
        'certificate-trust',
        trusted ? 'pass' : bad,
        t.trusted
          ? 'the chain is trusted'
          : vouched
            ? `authenticated by ${vouched.by}`
            : `not trusted: ${t.trustError} (${policy.why})`,
      );
      // --ca-file does not help a name mismatch: the rule is named only where it is not the usual one.
      add(
        'certificate-name',
        nameMatches ? 'pass' : bad,
        t.nameMatches
          ? `valid for ${t.nameChecked}`
          : nameMatches
            ? `not checked: ${vouched?.by} authenticates the certificate itself`
            : `${t.nameError}${policy.rule === 'authenticated' ? '' : ` (${policy.why})`}`,
      );
      const days = t.chain[0]?.daysLeft;
      if (days !== undefined) {
        const status: CheckStatus = days < s.critDays ? 'fail' : days < s.warnDays ? 'warn' : 'pass';
        add(
          'certificate-expiry',
          status,
          days < 0
            ? `EXPIRED ${-days} days ago`
            : `${days} days left${status === 'pass' ? '' : ` (below ${status === 'fail' ? s.critDays : s.warnDays})`}`,
        );
      }
    }
    if (s.tlsScan && t) {
      const address =
        events.find((e): e is Extract<SmtpEvent, { type: 'connected' }> => e.type === 'connected')?.remoteAddress ??
        session.currentHost;
      const { ehloName, localAddress, tls } = target.options;
      const sni = tls.sni === false ? undefined : (tls.sni ?? t.sni ?? undefined);
      const found = await tlsScanChecks(
        {
          host: session.currentHost,
          address,
          port,
          implicitTls,
          ehloName,
          sni,
          localAddress,
          timeoutMs: s.tlsScan.timeoutMs,
        },
        s.tlsScan,
      );
      checks.push(...found.checks);
      scan = found.scan;
    }
    const authAfter = session.isTls ? authMechanisms(session.capabilities!) : [];
    if (authBefore.some((m) => m === 'PLAIN' || m === 'LOGIN'))
      add(
        'auth-before-tls',
        'warn',
        `AUTH ${authBefore.join(' ')} is offered before TLS: a client could send its password in clear`,
      );
    else
      add(
        'auth-before-tls',
        'pass',
        authBefore.length ? `only challenge mechanisms before TLS (${authBefore.join(' ')})` : 'no AUTH before TLS',
      );
    if (port === SUBMISSION || port === SMTPS) {
      add(
        'port-conventions',
        authAfter.length ? 'pass' : 'fail',
        authAfter.length
          ? `submission port with AUTH ${authAfter.join(' ')} over TLS`
          : `a submission port (${port}) should offer AUTH over TLS, and does not`,
      );
    } else if (port === 25) {
      const auth = authAfter.length ? authAfter : authBefore;
      add(
        'port-conventions',
        auth.length ? 'warn' : 'pass',
        auth.length
          ? `AUTH on port 25 is unusual (${auth.join(' ')}): submission belongs on 587 or 465`
          : 'port 25 without AUTH, as expected for server-to-server mail',
      );
    }

    if (s.auth) {
      const mech = await login(session, s.auth);
      add('auth', 'pass', `logged in as ${s.auth.user} with ${mech}`);
    }
    if (s.from && s.rcpt) {
      const refused = await envelope(session, s.from, s.rcpt);
      add(
        'envelope',
        refused ? 'fail' : 'pass',
        refused
          ? `${refused.phase === 'mail' ? 'MAIL' : 'RCPT'} refused: ${refused.reply!.code} ${replyText(refused.reply!)}`
          : `MAIL FROM:<${s.from}> and RCPT TO:<${s.rcpt}> accepted (no message sent)`,
      );
      await session.command('RSET');
    }
    if (s.relayTest || s.enumTest) {
      const address =
        events.find((e): e is Extract<SmtpEvent, { type: 'connected' }> => e.type === 'connected')?.remoteAddress ??
        session.currentHost;
      const local = localDomain(replyText(greeting), session.currentHost);
      const open = () => freshSession(target.options, (e) => events.push(e), session.isTls);
      if (s.relayTest) {
        const forms = relayForms(local, address);
        const attempts = await inBatches(forms, 5, open, tryForm, (f, err) => ({
          form: f.form,
          commands: [],
          reply: `error: ${(err as Error).message}`,
          accepted: false,
        }));
        checks.push(relayCheck(attempts));
      }
      // postmaster exists everywhere (RFC 5321 §4.5.1): at the --mx domain, else the greeting's.
      if (s.enumTest) checks.push(...(await enumerationChecks(open, s.rcpt ?? `postmaster@${target.domain ?? local}`)));
    }
    const address =
      events.find((e): e is Extract<SmtpEvent, { type: 'connected' }> => e.type === 'connected')?.remoteAddress ?? '';
    if (s.resolver && s.dnsbl?.length) {
      const { checkDnsbl } = await import('../dns/checks/dnsbl.js');
      const { finding } = await checkDnsbl(s.resolver, [address], s.dnsbl);
      add(
        'dnsbl',
        finding.status === 'absent' ? 'pass' : finding.status,
        `${finding.summary}${finding.details.length ? ` (${finding.details.join('; ')})` : ''}`,
      );
    }
    if (s.resolver && s.ptr !== false) {
      // A failed look-up says so: it is not "no reverse DNS name".
      // (DnsFailure is an SmtpkitError of class dns; a type import keeps dns2 unloaded here.)
      const names = await s.resolver.ptr(address).catch((err: unknown) => {
        if (err instanceof SmtpkitError && err.errorClass === 'dns') return err as DnsFailure;
        throw err;
      });
      const greetName = (replyText(greeting).split(/\s+/)[0] ?? '').toLowerCase();
      if (!Array.isArray(names))
        add(
          'ptr',
          'warn',
          `${address}: the reverse DNS (PTR) look-up failed (${names.short}), so whether it has a name is unknown`,
        );
      else if (!names.length) add('ptr', 'warn', `${address} has no reverse DNS name`);
      else if (names.some((n) => n.toLowerCase() === greetName))
        add('ptr', 'pass', `${address} is ${names.join(', ')}, the name in the greeting`);
      else add('ptr', 'warn', `${address} is ${names.join(', ')}, but the greeting says ${greetName || '(nothing)'}`);
    }
  };
  const running = steps();
  running.catch(() => {});
  try {
    await Promise.race([running, deadline]);
  } catch (err) {
    const o = failureOutcome(err);
    error = {
      errorClass: o.errorClass ?? 'internal',
      message: o.message,
      ...(o.phase ? { phase: o.phase } : {}),
      ...(o.hint ? { hint: o.hint } : {}),
    };
    exitCode = o.exitCode;
  } finally {
    clearTimeout(timer);
    if (!timedOut) {
      // QUIT too stays within what is left of the probe's time.
      session.options.timeouts.command = Math.max(
        1,
        Math.min(session.options.timeouts.command, s.totalMs - (performance.now() - started)),
      );
      await session.quit();
    } else session.close();
    s.onCertificates?.(target, session.certificates);
  }
  if (!error && session.brokenBy) {
    const o = failureOutcome(session.brokenBy);
    error = {
      errorClass: o.errorClass ?? 'internal',
      message: o.message,
      ...(o.phase ? { phase: o.phase } : {}),
      ...(o.hint ? { hint: o.hint } : {}),
    };
    exitCode = o.exitCode;
  }
  const totalMs = Math.round((performance.now() - started) * 10) / 10;
  // The server's time: the wait spent finding out that a silent port speaks TLS was ours.
  const ownMs = session.timings['implicit-tls-detect'] ?? 0;
  const responseMs = Math.round((totalMs - ownMs) * 10) / 10;
  if (!error) {
    const over = (limits: Record<string, number>) =>
      Object.entries(limits).filter(
        ([phase, limit]) => (phase === 'total' ? responseMs : (session.timings[phase] ?? 0)) > limit,
      );
    const crit = over(s.critMs);
    const warn = over(s.warnMs);
    const describe = (list: [string, number][]) =>
      list.map(([p, l]) => `${p} ${p === 'total' ? responseMs : session.timings[p]} ms > ${l} ms`).join(', ');
    const own = ownMs ? ` (not counting ${ownMs} ms spent finding out that the port speaks implicit TLS)` : '';
    if (crit.length) add('response-time', 'fail', describe(crit) + own);
    else if (warn.length) add('response-time', 'warn', describe(warn) + own);
    else add('response-time', 'pass', `${responseMs} ms in all${own}`);
    exitCode = checks.some((c) => c.status === 'fail') ? 1 : 0;
  }
  if (daneDecided()) policy = policyFor(true);
  const daneResult = dane?.result();
  return {
    target: target.label,
    host: session.currentHost,
    port,
    checks,
    certificatePolicy: session.tls ? { rule: policy.rule, enforced: policy.enforced } : null,
    ...(daneResult ? { dane: daneResult } : {}),
    tls: session.tls ?? null,
    timings: session.timings,
    totalMs,
    responseMs,
    exitCode,
    error,
    events,
    ...(scan ? { scan } : {}),
  };
}

/**
 * Out of time: the failure is that of the step that was running. Before the greeting it is
 * a connection failure (exit 4), in the handshake a TLS one (6), after it a protocol one (5).
 */
function deadlineError(session: SmtpSession, events: SmtpEvent[], totalMs: number): SmtpkitError {
  const within = `within ${describeTimeout(totalMs)}`;
  const details = { kind: 'timeout' } as const;
  if (session.currentPhase === 'tls')
    return new SmtpkitError(
      'tls',
      `the probe did not finish ${within} (--timeout): the TLS handshake was still running`,
      'tls',
      details,
    );
  const greeted = events.some((e) => e.type === 'reply' && e.command === 'CONNECT');
  if (!greeted)
    return new SmtpkitError(
      'connect',
      `the probe did not finish ${within} (--timeout): no greeting`,
      'banner',
      details,
    );
  return new SmtpkitError('protocol', `the probe did not finish ${within} (--timeout)`, session.currentPhase, details);
}

/** MAIL and RCPT through the shared transaction, stopping before DATA: the refusal, if any. */
async function envelope(session: SmtpSession, from: string, rcpt: string): Promise<SmtpkitError | undefined> {
  try {
    await mailTransaction(
      session,
      { from: { name: undefined, address: from }, recipients: [{ name: undefined, address: rcpt }] },
      undefined,
      { pipelining: false, stopAfter: 'rcpt' },
    );
    return undefined;
  } catch (err) {
    if (err instanceof SmtpkitError && err.errorClass === 'rejected' && err.reply) return err;
    throw err;
  }
}
