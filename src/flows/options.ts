import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { assertEhloName, assertSingleLine } from '../protocol/command.js';
import { parsePort, parseTarget, type Target } from '../protocol/target.js';
import type { SessionOptions } from '../session/session.js';
import { DEFAULT_TIMEOUT_MS, parseDuration } from '../session/timeouts.js';

/** The flags every session command shares, as commander hands them over. */
export interface SessionFlags {
  port?: string;
  ipv4?: boolean;
  ipv6?: boolean;
  localAddress?: string;
  ehlo?: string;
  tlsOnConnect?: boolean;
  timeout?: string;
  connectTimeout?: string;
  greetingTimeout?: string;
  commandTimeout?: string;
  tlsTimeout?: string;
  sni?: string | false;
  caFile?: string;
  tlsVerify?: boolean;
  tlsMin?: string;
  tlsMax?: string;
  cert?: string;
  key?: string;
  verbose?: boolean;
}

export interface OutputFlags {
  json?: boolean;
  quiet?: boolean;
  brief?: boolean;
  verbose?: boolean;
  color?: boolean;
}

export function addSessionOptions(cmd: Command, timeout = '30s'): Command {
  return cmd
    .option('-p, --port <port>', 'server port (overrides host:port)')
    .option('-4, --ipv4', 'connect over IPv4 only')
    .option('-6, --ipv6', 'connect over IPv6 only')
    .option('--local-address <addr>', 'local address to connect from')
    .option('--ehlo <name>', 'name to send with EHLO/HELO (default: this machine’s host name)')
    .option('--tls-on-connect', 'implicit TLS: handshake before the greeting (default on port 465)')
    .option('--timeout <duration>', 'time limit for every wait: 30s, 500ms, 2m', timeout)
    .option('--connect-timeout <duration>', 'time limit for the TCP connection (default: --timeout)')
    .option('--greeting-timeout <duration>', 'time limit for the greeting (default: --timeout)')
    .option('--command-timeout <duration>', 'time limit for each reply (default: --timeout)')
    .option('--tls-timeout <duration>', 'time limit for the TLS handshake (default: --timeout)')
    .option('--sni <name>', 'TLS server name to send (default: the host, when it is a name)')
    .option('--no-sni', 'send no TLS server name')
    .option('--ca-file <file>', 'extra trusted CA certificates (PEM), besides the system roots')
    .option('--tls-verify', 'fail (exit 6) when the certificate is untrusted or does not match the name')
    .option('--tls-min <version>', 'lowest TLS version to offer: 1.0, 1.1, 1.2, 1.3')
    .option('--tls-max <version>', 'highest TLS version to offer')
    .option('--cert <file>', 'client certificate (PEM)')
    .option('--key <file>', 'client certificate key (PEM)');
}

/** Logging in: shared by auth and send. */
export function addAuthOptions(cmd: Command): Command {
  return cmd
    .option('--user <name>', 'user name to log in with')
    .option('--mech <mechanism>', 'SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN or XOAUTH2 (default: the strongest offered)')
    .option('--password-env <var>', 'environment variable holding the password or token', 'SMTPKIT_PASSWORD')
    .option('--password-file <file>', 'read the password or token from a file')
    .option('--password <secret>', 'the password on the command line (visible to other users: avoid)')
    .option('--login-initial', 'LOGIN: send the user name with the AUTH command')
    .option('--starttls <mode>', 'auto (when offered), always, or never', 'auto')
    .option('--allow-plaintext', 'send credentials even without TLS')
    .option('--show-secrets', 'show AUTH lines unredacted (for debugging a mechanism; never in shared logs)');
}

export function addOutputOptions(cmd: Command): Command {
  return cmd
    .option('--json', 'print one JSON document instead of the transcript')
    .option('-q, --quiet', 'print only the outcome line')
    .option('--brief', 'one line per exchange; explanations only for failures and warnings')
    .option('-v, --verbose', 'also show the raw bytes sent and received')
    .option('--no-color', 'no colours (also: NO_COLOR=1)');
}

/** Validates everything before a connection is made, so bad input never reaches a server. */
export function sessionOptions(spec: string, flags: SessionFlags, defaultPort = 25): { target: Target; options: SessionOptions } {
  // Only the commands whose server is optional (ehlo, starttls) can get here without one.
  if (!spec.trim()) throw usageError('give a server (host[:port]) or --mx DOMAIN');
  if (flags.ipv4 && flags.ipv6) throw usageError('-4 and -6 cannot be used together');
  const tlsOnConnectDefault = 465;
  const target = parseTarget(spec, flags.tlsOnConnect ? tlsOnConnectDefault : defaultPort);
  if (flags.port !== undefined) target.port = parsePort(flags.port);
  const all = parseDuration(flags.timeout ?? `${DEFAULT_TIMEOUT_MS}ms`, '--timeout');
  const each = (v: string | undefined, name: string) => (v === undefined ? all : parseDuration(v, name));
  if (typeof flags.sni === 'string') assertSingleLine(flags.sni, '--sni');
  if (flags.localAddress !== undefined) assertSingleLine(flags.localAddress, '--local-address');
  return {
    target,
    options: {
      host: target.host,
      port: target.port,
      family: flags.ipv4 ? 4 : flags.ipv6 ? 6 : undefined,
      localAddress: flags.localAddress,
      tlsOnConnect: flags.tlsOnConnect ?? target.port === tlsOnConnectDefault,
      ehloName: assertEhloName(flags.ehlo ?? defaultEhloName()),
      timeouts: {
        connect: each(flags.connectTimeout, '--connect-timeout'),
        greeting: each(flags.greetingTimeout, '--greeting-timeout'),
        command: each(flags.commandTimeout, '--command-timeout'),
        tls: each(flags.tlsTimeout, '--tls-timeout'),
      },
      tls: {
        sni: flags.sni === false ? false : flags.sni,
        ca: flags.caFile ? readOption(flags.caFile, '--ca-file') : undefined,
        minVersion: tlsVersion(flags.tlsMin, '--tls-min'),
        maxVersion: tlsVersion(flags.tlsMax, '--tls-max'),
        cert: flags.cert ? readOption(flags.cert, '--cert') : undefined,
        key: flags.key ? readOption(flags.key, '--key') : undefined,
        verify: flags.tlsVerify ?? false,
      },
      raw: flags.verbose ?? false,
    },
  };
}

function defaultEhloName(): string {
  const name = hostname();
  return name && !/[\s\r\n]/.test(name) ? name : 'localhost';
}

function tlsVersion(v: string | undefined, option: string) {
  if (v === undefined) return undefined;
  const m = /^(?:tlsv?)?(1(?:\.[0-3])?)$/i.exec(v.trim());
  const n = m?.[1] === '1' ? '1.0' : m?.[1];
  if (!n) throw usageError(`${option}: ${JSON.stringify(v)} is not a TLS version (1.0, 1.1, 1.2 or 1.3)`);
  return (n === '1.0' ? 'TLSv1' : `TLSv${n}`) as 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
}

export function readOption(file: string, option: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw usageError(`${option}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
