/**
 * smtpkit as a library: the client core without the command line. Everything here takes
 * typed values, never argv or a CLI flags object, and prints nothing; the CLI is one client
 * of the same modules. package.json's `exports` points here (built by tsconfig.lib.json).
 */
import { getServers } from 'node:dns';
import { lookupMx as lookupMxWith, type MxReport } from './dns/mx.js';
import { dohUrl, parseServer, Resolver } from './dns/resolver.js';
import { probe as probeWith, type ProbeSettings, type ProbeTarget } from './probe/probe.js';
import type { ProbeResult } from './probe/result.js';
import { DEFAULT_TIMEOUT_MS, type Timeouts } from './session/timeouts.js';
import { defaultEhloName } from './session/for-target.js';
import type { SessionOptions, TlsSettings } from './session/session.js';
import { SINK_DEFAULTS, type SinkOptions } from './sink/server.js';
import { checkHost as checkHostWith, type SpfQuery, type SpfVerdict } from './spf/check-host.js';
import { resolverPort } from './spf/dns-port.js';

export {
  SmtpSession,
  type CertificateJudge,
  type CertificateVerdict,
  type CommandOptions,
  type IdleWatcher,
  type SessionOptions,
  type TlsSettings,
} from './session/session.js';
export type { EventSink, SmtpEvent, Timings } from './session/events.js';
export type { Timeouts } from './session/timeouts.js';
export type { CertificateFacts, TlsFacts } from './session/tls-facts.js';
export {
  ExitCode,
  SmtpkitError,
  type ErrorClass,
  type ErrorDetails,
  type FailureKind,
  type Hint,
  type Wait,
} from './errors.js';
export { DnsFailure, type DnsErrorInfo } from './dns/resolver.js';
export {
  mailTransaction,
  type Envelope,
  type RecipientResult,
  type TransactionOptions,
  type TransactionResult,
  type TransactionStep,
} from './flows/transaction.js';
export { mail, rcpt, type MailParams, type RcptParams } from './protocol/envelope.js';
export {
  isFailure,
  isPositive,
  replyClass,
  ReplyParser,
  replyText,
  type Reply,
  type ReplyClass,
} from './protocol/reply.js';
export { authMechanisms, hasExtension, parseEhlo, sizeLimit, type Capabilities } from './protocol/capabilities.js';
export { buildMessage, type Attachment, type MessageSpec, type OutgoingMessage } from './message/build.js';
export { parseAddress, type Address } from './message/address.js';
export {
  explainCode,
  explainEnhanced,
  explainReply,
  type EnhancedExplanation,
  type Explanation,
} from './explain/explain.js';
export { explainPasted, type ExplainedInput } from './explain/pasted.js';
export type { Cause } from './explain/causes.js';
export type { Check, CheckStatus, ProbeResult } from './probe/result.js';
export type { CheckName } from './probe/checks/names.js';
export type { ProbeTarget } from './probe/probe.js';
export type { AuthPlan } from './flows/establish.js';
export { deliveryCandidates, type HostAddress, type MxHost, type MxReport } from './dns/mx.js';
export {
  Sink,
  SINK_DEFAULTS,
  type DropPoint,
  type SaveFailure,
  type SinkMessage,
  type SinkOptions,
} from './sink/server.js';
export { LOCALHOST_CERT, LOCALHOST_KEY } from './sink/localhost-cert.js';
export {
  MessageStore,
  STORE_DEFAULTS,
  type MessageFilter,
  type MessageSummary,
  type StoreOptions,
  type Transcript,
} from './sink/store.js';
export { createSinkApi, SINK_API_DEFAULTS, type SinkApiOptions } from './sink/http-api.js';
export { readMessage, type MimeAttachment, type ReadMessage } from './sink/mime-read.js';
export { spfIdentity, type SpfQuery, type SpfResult, type SpfStep, type SpfVerdict } from './spf/check-host.js';

/** Where DNS questions go: the system's resolvers unless `servers` ("IP" or "IP:port") are given. */
export interface DnsOptions {
  servers?: string[];
  tcp?: boolean;
  /** A DNS-over-HTTPS endpoint (RFC 8484), instead of the servers. */
  doh?: string;
  /** Per question; 5 s unless given. */
  timeoutMs?: number;
  /** Extra CA (PEM) for a DoH endpoint with a private certificate. */
  ca?: string;
}

/** What `SessionOptions` needs at least; the rest as the command line defaults it. */
export type SessionInit = Pick<SessionOptions, 'host' | 'port'> &
  Partial<Omit<SessionOptions, 'timeouts' | 'tls'>> & { timeouts?: Partial<Timeouts>; tls?: Partial<TlsSettings> };

/** A probe's settings with DNS given as plain options (ProbeSettings holds resolver objects). */
export type ProbeOptions = Omit<ProbeSettings, 'resolver' | 'daneResolver'> & { dns?: DnsOptions; dane?: boolean };

// The CLI's --dns-timeout default (5s), for a caller that gives none.
const DNS_TIMEOUT_MS = 5000;

function resolver(o: DnsOptions = {}): Resolver {
  const servers = (o.servers?.length ? o.servers : getServers()).map(parseServer);
  return new Resolver({
    servers,
    tcp: !!o.tcp,
    doh: o.doh === undefined ? undefined : dohUrl(o.doh, 'doh'),
    timeoutMs: o.timeoutMs ?? DNS_TIMEOUT_MS,
    ca: o.ca,
  });
}

/**
 * Full session options from the few a caller cares about: 30 s for each wait, STARTTLS
 * unless the port is 465, certificates checked but not enforced, this machine's name in EHLO.
 */
export function withSessionDefaults(init: SessionInit): SessionOptions {
  return {
    family: undefined,
    localAddress: undefined,
    tlsOnConnect: init.port === 465,
    ehloName: defaultEhloName(),
    raw: false,
    ...init,
    timeouts: {
      connect: DEFAULT_TIMEOUT_MS,
      greeting: DEFAULT_TIMEOUT_MS,
      command: DEFAULT_TIMEOUT_MS,
      tls: DEFAULT_TIMEOUT_MS,
      ...init.timeouts,
    },
    tls: {
      sni: undefined,
      ca: undefined,
      minVersion: undefined,
      maxVersion: undefined,
      cert: undefined,
      key: undefined,
      verify: false,
      ...init.tls,
    },
  };
}

/** Full sink options: on 127.0.0.1, a free port (read it from `listen()`), no TLS or AUTH, no faults. */
export function withSinkDefaults(init: Partial<SinkOptions> = {}): SinkOptions {
  return {
    host: '127.0.0.1',
    port: 0,
    name: 'sink.localhost',
    tls: undefined,
    auth: undefined,
    rejectRcpt: undefined,
    tempfailRate: 0,
    delayGreetingMs: 0,
    delayDataMs: 0,
    dropAfter: undefined,
    saveDir: undefined,
    transcript: false,
    random: Math.random,
    ...SINK_DEFAULTS,
    ...init,
  };
}

/** The mail hosts of a domain in the order a sending MTA tries them (RFC 5321 §5.1), each with its addresses. */
export function lookupMx(domain: string, options: DnsOptions & { ptr?: boolean } = {}): Promise<MxReport> {
  return lookupMxWith(resolver(options), domain, { ptr: options.ptr });
}

/** A health check of one server: every check's verdict, timings and the session's events. */
export function probe(target: ProbeTarget, options: ProbeOptions): Promise<ProbeResult> {
  const { dns, dane, ...rest } = options;
  const r = rest.ptr || rest.dnsbl?.length || dane ? resolver(dns) : undefined;
  // As the CLI does: a resolver in `resolver` means PTR and DNSBL checks, so only when asked for.
  const ptrOrDnsbl = rest.ptr || !!rest.dnsbl?.length;
  return probeWith(target, { ...rest, resolver: ptrOrDnsbl ? r : undefined, ...(dane ? { daneResolver: r } : {}) });
}

/** SPF as a receiver computes it (RFC 7208 check_host()): the result for a client address, with its trace. */
export function checkHost(query: SpfQuery, options: DnsOptions = {}): Promise<SpfVerdict> {
  return checkHostWith(resolverPort(resolver(options)), query);
}
