import { usageError } from '../../errors.js';
import { assertEhloName, assertSingleLine } from '../../protocol/command.js';
import { parsePort, type Target } from '../../protocol/target.js';
import { defaultEhloName, sessionOptionsFor, type SessionBase } from '../../session/for-target.js';
import type { SessionOptions } from '../../session/session.js';
import { durationMs } from '../../util/duration.js';
import { readSmallFile } from '../../util/read-file.js';
import { declaredDefault, type OptionSpec } from '../declare.js';
import { checkSaveCert } from '../save-cert.js';

/** The connection group: where to connect, TLS and timeouts, for every command that talks to a server. */

export interface ConnectionFlags {
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
  /** starttls, ehlo, connect, probe: write the presented chain as PEM. */
  saveCert?: string;
}

/** A server to talk to, checked before any connection: bad input never reaches a server. */
export interface ConnectionSpec {
  target: Target;
  options: SessionOptions;
  /** --save-cert: where to write the chain the server presents (checked writable). */
  saveCert: string | undefined;
}

const TLS_VERSIONS = ['1.0', '1.1', '1.2', '1.3'] as const;

/** `timeout`: the declared default of --timeout (probe's is shorter). */
export function connectionOptions(timeout = '30s'): OptionSpec[] {
  return [
    { flags: '-p, --port <port>', help: 'server port (overrides host:port)' },
    { flags: '-4, --ipv4', help: 'connect over IPv4 only' },
    { flags: '-6, --ipv6', help: 'connect over IPv6 only' },
    { flags: '--local-address <addr>', help: 'local address to connect from', aliases: ['--local-interface', '-li'] },
    {
      flags: '--ehlo <name>',
      help: 'name to send with EHLO/HELO (default: this machine’s host name)',
      aliases: ['--helo'],
    },
    {
      flags: '--tls-on-connect',
      help: 'implicit TLS: handshake before the greeting (default on port 465 and for smtps://)',
    },
    { flags: '--timeout <duration>', help: 'time limit for every wait: 30s, 500ms, 2m', default: timeout },
    { flags: '--connect-timeout <duration>', help: 'time limit for the TCP connection (default: --timeout)' },
    { flags: '--greeting-timeout <duration>', help: 'time limit for the greeting (default: --timeout)' },
    { flags: '--command-timeout <duration>', help: 'time limit for each reply (default: --timeout)' },
    { flags: '--tls-timeout <duration>', help: 'time limit for the TLS handshake (default: --timeout)' },
    {
      flags: '--sni <name>',
      help: 'TLS server name to send (default: the host, when it is a name)',
      aliases: ['--tls-sni'],
    },
    { flags: '--no-sni', help: 'send no TLS server name' },
    {
      flags: '--ca-file <file>',
      help: 'extra trusted CA certificates (PEM), besides the system roots',
      complete: 'file',
    },
    { flags: '--tls-verify', help: 'fail (exit 6) when the certificate is untrusted or does not match the name' },
    { flags: '--tls-min <version>', help: 'lowest TLS version to offer: 1.0, 1.1, 1.2, 1.3', values: TLS_VERSIONS },
    { flags: '--tls-max <version>', help: 'highest TLS version to offer', values: TLS_VERSIONS },
    { flags: '--cert <file>', help: 'client certificate (PEM)', complete: 'file', aliases: ['--tls-cert'] },
    { flags: '--key <file>', help: 'client certificate key (PEM)', complete: 'file', aliases: ['--tls-key'] },
  ];
}

export const SAVE_CERT: OptionSpec = {
  flags: '--save-cert <file>',
  help: 'write the certificate chain the server presents to FILE as PEM, leaf first',
  complete: 'file',
};

/** The server as given (host[:port] or a URL) and the group's flags, read once. */
export function connectionSpec(server: string, flags: ConnectionFlags, defaultPort = 25): Readonly<ConnectionSpec> {
  // Only the commands whose server is optional (ehlo, starttls) can get here without one.
  if (!server.trim()) throw usageError('give a server (host[:port]) or --mx DOMAIN');
  const spec = { ...sessionOptionsFor(server, connectionBase(flags), defaultPort), saveCert: flags.saveCert };
  checkSaveCert(flags.saveCert);
  return spec;
}

/**
 * Everything of the group but the server, read once (files included) for any number of
 * servers: probe's targets share it.
 */
export function connectionBase(flags: ConnectionFlags): Readonly<SessionBase> {
  if (flags.ipv4 && flags.ipv6) throw usageError('-4 and -6 cannot be used together');
  const port = flags.port === undefined ? undefined : parsePort(flags.port);
  const all = durationMs(flags.timeout ?? declaredDefault(connectionOptions(), 'timeout'), '--timeout');
  const each = (v: string | undefined, name: string) => (v === undefined ? all : durationMs(v, name));
  if (typeof flags.sni === 'string') assertSingleLine(flags.sni, '--sni');
  if (flags.localAddress !== undefined) assertSingleLine(flags.localAddress, '--local-address');
  return {
    port,
    family: flags.ipv4 ? 4 : flags.ipv6 ? 6 : undefined,
    localAddress: flags.localAddress,
    tlsOnConnect: flags.tlsOnConnect,
    ehloName: assertEhloName(flags.ehlo ?? defaultEhloName()),
    timeouts: {
      connect: each(flags.connectTimeout, '--connect-timeout'),
      greeting: each(flags.greetingTimeout, '--greeting-timeout'),
      command: each(flags.commandTimeout, '--command-timeout'),
      tls: each(flags.tlsTimeout, '--tls-timeout'),
    },
    tls: {
      sni: flags.sni === false ? false : flags.sni,
      ca: flags.caFile ? readSmallFile(flags.caFile, '--ca-file') : undefined,
      minVersion: tlsVersion(flags.tlsMin, '--tls-min'),
      maxVersion: tlsVersion(flags.tlsMax, '--tls-max'),
      cert: flags.cert ? readSmallFile(flags.cert, '--cert') : undefined,
      key: flags.key ? readSmallFile(flags.key, '--key') : undefined,
      verify: flags.tlsVerify ?? false,
    },
    raw: flags.verbose ?? false,
  };
}

function tlsVersion(v: string | undefined, option: string) {
  if (v === undefined) return undefined;
  const m = /^(?:tlsv?)?(1(?:\.[0-3])?)$/i.exec(v.trim());
  const n = m?.[1] === '1' ? '1.0' : m?.[1];
  if (!n) throw usageError(`${option}: ${JSON.stringify(v)} is not a TLS version (1.0, 1.1, 1.2 or 1.3)`);
  return (n === '1.0' ? 'TLSv1' : `TLSv${n}`) as 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
}
