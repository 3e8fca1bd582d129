import { mkdirSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { isIP } from 'node:net';
import { usageError } from '../errors.js';
import type { SinkSpec } from '../commands/sink.js';
import { LOCALHOST_CERT, LOCALHOST_KEY } from '../sink/localhost-cert.js';
import { STORE_DEFAULTS } from '../sink/store.js';
import { BARE_NEWLINE, type BareNewline } from '../sink/line-ends.js';
import { parseRate, RATE_LIMIT_REPLIES, type RateLimit } from '../sink/rate-limit.js';
import { parseRules, type FaultRule } from '../sink/rules.js';
import { SINK_DEFAULTS, type DropPoint, type SinkOptions } from '../sink/server.js';
import { parsePort } from '../protocol/target.js';
import { failureOutcome } from '../render/failure.js';
import { durationMs } from '../util/duration.js';
import { parseListen } from '../util/listen-address.js';
import { readSmallFile } from '../util/read-file.js';
import { withSmallYoungGeneration } from '../util/young-generation.js';
import { secretOnCommandLine } from './credentials.js';
import { outputSpec } from './groups/output.js';
import { resolverSpec, type ResolverFlags } from './groups/resolver.js';

/** `smtpkit sink`: its flags read into a SinkSpec; a mistake is said by the sink's log, as its failures are. */
export function sinkCommand(flags: SinkFlags): Promise<number> {
  // Only the sink and the exporter do this; load mode's sender wants the larger space.
  return withSmallYoungGeneration(() => runSink(flags));
}

async function runSink(flags: SinkFlags): Promise<number> {
  const show = outputSpec(flags);
  const m = await import('../commands/sink.js');
  const bareNewline = flags.bareNewline ?? SINK_DEFAULTS.bareNewline;
  let spec: SinkSpec;
  try {
    spec = sinkSpec(flags);
    // Read only with --http: the stored messages' DKIM keys are the one thing the sink asks DNS.
    if (spec.http) spec = { ...spec, http: { ...spec.http, resolver: await resolverSpec(flags, undefined) } };
  } catch (err) {
    return m.sinkFailed(show, bareNewline, failureOutcome(err));
  }
  return m.sink(spec);
}

/** Everything `smtpkit sink` runs with, checked before it listens. */
export function sinkSpec(flags: SinkFlags): SinkSpec {
  const show = outputSpec(flags);
  const transcript = !show.json && !show.quiet;
  const options = sinkOptions(flags, transcript);
  const warnings: string[] = [];
  const http = httpApiOptions(flags, process.env, (w) => warnings.push(w));
  const stopAfter = flags.count === undefined ? undefined : Number(flags.count);
  if (stopAfter !== undefined && !(Number.isInteger(stopAfter) && stopAfter > 0))
    throw usageError('--count takes a whole number');
  if (options.saveDir) makeSaveDir(options.saveDir);
  return { options, http, stopAfter, output: show, certFile: flags.cert, warnings };
}

export interface SinkFlags extends ResolverFlags {
  port?: string;
  host?: string;
  allowRemote?: boolean;
  name?: string;
  tls?: boolean;
  cert?: string;
  key?: string;
  auth?: string;
  save?: string;
  json?: boolean;
  quiet?: boolean;
  color?: boolean;
  rejectRcpt?: string;
  tempfailRate?: string;
  delayGreeting?: string;
  delayData?: string;
  dropAfter?: string;
  maxSize?: string;
  count?: string;
  idleTimeout?: string;
  maxSessions?: string;
  http?: string;
  httpToken?: string;
  httpTokenFile?: string;
  maxMessages?: string;
  minRate?: string;
  bareNewline?: string;
  rule?: string[];
  rateLimit?: string;
  rateLimitReply?: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Everything the sink needs, checked before it listens. */
export function sinkOptions(flags: SinkFlags, transcript: boolean): SinkOptions {
  const host = flags.host ?? '127.0.0.1';
  if (!LOOPBACK.test(host) && !flags.allowRemote)
    throw usageError(`--host ${host} is not a loopback address: a test sink open to the network needs --allow-remote`);
  if (host !== 'localhost' && !isIP(host))
    throw usageError(`--host must be an IP address (or localhost), not ${JSON.stringify(host)}`);
  const auth = flags.auth === undefined ? undefined : /^([^:]+):(.+)$/.exec(flags.auth);
  if (flags.auth !== undefined && !auth) throw usageError('--auth takes user:password');
  const rate = flags.tempfailRate === undefined ? 0 : Number(flags.tempfailRate);
  if (!(rate >= 0 && rate <= 1)) throw usageError('--tempfail-rate takes a number from 0 to 1 (0.1 = one in ten)');
  const drop = flags.dropAfter as DropPoint | undefined;
  if (drop !== undefined && !['connect', 'ehlo', 'mail', 'rcpt', 'data'].includes(drop))
    throw usageError('--drop-after takes connect, ehlo, mail, rcpt or data');
  let rejectRcpt: RegExp | undefined;
  try {
    rejectRcpt = flags.rejectRcpt ? new RegExp(flags.rejectRcpt, 'i') : undefined;
  } catch {
    throw usageError(`--reject-rcpt: ${JSON.stringify(flags.rejectRcpt)} is not a regular expression`);
  }
  const maxSize = flags.maxSize === undefined ? SINK_DEFAULTS.maxSize : Number(flags.maxSize);
  if (!Number.isSafeInteger(maxSize) || maxSize < 1) throw usageError('--max-size takes a number of bytes');
  const maxSessions = flags.maxSessions === undefined ? SINK_DEFAULTS.maxSessions : Number(flags.maxSessions);
  if (!Number.isSafeInteger(maxSessions) || maxSessions < 1)
    throw usageError('--max-sessions takes a whole number, 1 or more');
  const idleTimeoutMs =
    flags.idleTimeout === undefined ? SINK_DEFAULTS.idleTimeoutMs : durationMs(flags.idleTimeout, '--idle-timeout');
  const minRate = parseMinRate(flags.minRate);
  const bareNewline = (flags.bareNewline ?? SINK_DEFAULTS.bareNewline) as BareNewline;
  if (!BARE_NEWLINE.includes(bareNewline)) throw usageError(`--bare-newline takes ${BARE_NEWLINE.join(', ')}`);
  if ((flags.cert === undefined) !== (flags.key === undefined)) throw usageError('--cert and --key go together');
  const { rules, rateLimit } = faultOptions(flags);
  const wantsTls = flags.tls || flags.cert !== undefined;
  return {
    host: host === 'localhost' ? '127.0.0.1' : host,
    port: flags.port === undefined ? 2525 : flags.port === '0' ? 0 : parsePort(flags.port),
    name: flags.name ?? 'sink.localhost',
    tls: wantsTls
      ? usableCertificate(
          flags.cert ? readSmallFile(flags.cert, '--cert') : LOCALHOST_CERT,
          flags.key ? readSmallFile(flags.key, '--key') : LOCALHOST_KEY,
        )
      : undefined,
    auth: auth ? { user: auth[1]!, pass: auth[2]! } : undefined,
    maxSize,
    rejectRcpt,
    tempfailRate: rate,
    delayGreetingMs: flags.delayGreeting ? durationMs(flags.delayGreeting, '--delay-greeting') : 0,
    delayDataMs: flags.delayData ? durationMs(flags.delayData, '--delay-data') : 0,
    dropAfter: drop,
    saveDir: flags.save,
    // The HTTP API keeps each message and the conversation that brought it.
    transcript: transcript || flags.http !== undefined,
    keepMessages: flags.http !== undefined,
    idleTimeoutMs,
    handshakeTimeoutMs: SINK_DEFAULTS.handshakeTimeoutMs,
    maxSessions,
    ...minRate,
    bareNewline,
    rules,
    rateLimit,
    random: Math.random,
  };
}

/** --rule, --rate-limit, --rate-limit-reply: the deterministic faults (checked by src/sink's own parsers). */
function faultOptions(flags: SinkFlags): { rules: FaultRule[]; rateLimit: RateLimit | undefined } {
  let rules: FaultRule[];
  try {
    rules = parseRules(flags.rule ?? []);
  } catch (err) {
    throw usageError(`--rule: ${(err as Error).message}`);
  }
  if (flags.rateLimit === undefined) {
    if (flags.rateLimitReply !== undefined) throw usageError('--rate-limit-reply goes with --rate-limit');
    return { rules, rateLimit: undefined };
  }
  const reply = (flags.rateLimitReply ?? RATE_LIMIT_REPLIES[0]) as RateLimit['reply'];
  if (!RATE_LIMIT_REPLIES.includes(reply))
    throw usageError(`--rate-limit-reply takes ${RATE_LIMIT_REPLIES.join(' or ')}`);
  try {
    return { rules, rateLimit: { ...parseRate(flags.rateLimit), reply } };
  } catch (err) {
    throw usageError(`--rate-limit: ${(err as Error).message}`);
  }
}

/** --min-rate RATE[/WINDOW]: bytes per second, averaged over WINDOW (default 30s); 0 turns it off. */
function parseMinRate(text: string | undefined): { minRate: number; minRateWindowMs: number } {
  if (text === undefined) return { minRate: SINK_DEFAULTS.minRate, minRateWindowMs: SINK_DEFAULTS.minRateWindowMs };
  const m = /^\s*(\d+)\s*(?:\/(.+))?$/.exec(text);
  if (!m)
    throw usageError(
      `--min-rate takes bytes per second, optionally over a window: 100, 100/30s (0 turns it off), not ${JSON.stringify(text)}`,
    );
  return {
    minRate: Number(m[1]),
    minRateWindowMs: m[2] === undefined ? SINK_DEFAULTS.minRateWindowMs : durationMs(m[2], '--min-rate window'),
  };
}

/** The environment variable that can hold the HTTP API's token (off the command line, as SMTPKIT_PASSWORD). */
export const HTTP_TOKEN_ENV = 'SMTPKIT_HTTP_TOKEN';

/** --http, --http-token, --max-messages: where the API listens and what it keeps. */
export function httpApiOptions(
  flags: SinkFlags,
  env: Readonly<Record<string, string | undefined>>,
  warn: (message: string) => void,
): { host: string; port: number; token: string | undefined; maxMessages: number } | undefined {
  if (flags.http === undefined) {
    const alone =
      flags.httpToken !== undefined
        ? '--http-token'
        : flags.httpTokenFile !== undefined
          ? '--http-token-file'
          : undefined;
    if (alone !== undefined || flags.maxMessages !== undefined)
      throw usageError(`${alone ?? '--max-messages'} goes with --http`);
    return undefined;
  }
  const { host, port } = parseListen(flags.http, '--http', 8025);
  if (host !== 'localhost' && !isIP(host))
    throw usageError(`--http must name an IP address (or localhost), not ${JSON.stringify(host)}`);
  const token = httpToken(flags, env, warn);
  if (!LOOPBACK.test(host)) {
    if (!flags.allowRemote)
      throw usageError(
        `--http ${host} is not a loopback address: an API open to the network needs --allow-remote and --http-token`,
      );
    if (token === undefined)
      throw usageError(
        `--http ${host} with --allow-remote needs --http-token: anyone who reaches the API could read every message`,
      );
  }
  const maxMessages = flags.maxMessages === undefined ? STORE_DEFAULTS.maxMessages : Number(flags.maxMessages);
  if (!Number.isSafeInteger(maxMessages) || maxMessages < 1 || maxMessages > 1_000_000)
    throw usageError('--max-messages takes a whole number from 1 to 1000000');
  return { host: host === 'localhost' ? '127.0.0.1' : host, port, token, maxMessages };
}

/**
 * The API's token: --http-token (said to be visible to others), --http-token-file (one
 * line) or SMTPKIT_HTTP_TOKEN, in that order; none of them is ever printed.
 */
function httpToken(
  flags: SinkFlags,
  env: Readonly<Record<string, string | undefined>>,
  warn: (message: string) => void,
): string | undefined {
  if (flags.httpToken !== undefined && flags.httpTokenFile !== undefined)
    throw usageError('--http-token and --http-token-file: give one');
  let token: string | undefined;
  let from = '--http-token';
  if (flags.httpToken !== undefined) {
    warn(secretOnCommandLine('--http-token', `${HTTP_TOKEN_ENV} or --http-token-file`));
    token = flags.httpToken;
  } else if (flags.httpTokenFile !== undefined) {
    from = '--http-token-file';
    token = readSmallFile(flags.httpTokenFile, from, 64 * 1024).replace(/\r?\n$/, '');
  } else if (env[HTTP_TOKEN_ENV]) {
    from = HTTP_TOKEN_ENV;
    token = env[HTTP_TOKEN_ENV];
  }
  if (token !== undefined && !/^[\x21-\x7e]{16,512}$/.test(token))
    throw usageError(
      `${from} takes 16 to 512 visible ASCII characters (no spaces), e.g. from \`openssl rand -hex 24\``,
    );
  return token;
}

/** Checked at start: a file that is not PEM, or a key not the certificate's, failed every client's STARTTLS instead. */
function usableCertificate(cert: string, key: string): { cert: string; key: string } {
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw usageError(`--cert and --key cannot be used: ${(err as Error).message}`);
  }
  return { cert, key };
}

/** --save's directory, made if missing; a file in its place or no permission is the user's to fix. */
function makeSaveDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw usageError(
      `--save: cannot make the directory ${dir}: ${code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' : (code ?? (err as Error).message)}`,
    );
  }
}
