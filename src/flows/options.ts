import { hostname } from 'node:os';
import { usageError } from '../errors.js';
import { assertEhloName, assertSingleLine } from '../protocol/command.js';
import { parsePort, parseTarget, type Target } from '../protocol/target.js';
import type { SessionOptions } from '../session/session.js';
import { DEFAULT_TIMEOUT_MS, parseDuration } from '../session/timeouts.js';
import { readOption } from '../util/read-option.js';

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
  /** starttls, ehlo, connect, probe: write the presented chain as PEM. */
  saveCert?: string;
}

export interface OutputFlags {
  json?: boolean;
  quiet?: boolean;
  brief?: boolean;
  verbose?: boolean;
  color?: boolean;
}

/** Validates everything before a connection is made, so bad input never reaches a server. */
export function sessionOptions(
  spec: string,
  flags: SessionFlags,
  defaultPort = 25,
): { target: Target; options: SessionOptions } {
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
      // smtps:// says TLS at once whatever the port; smtp:// and submission:// say STARTTLS.
      tlsOnConnect:
        flags.tlsOnConnect ?? (target.scheme ? target.scheme === 'smtps' : target.port === tlsOnConnectDefault),
      ...(target.scheme === 'submission' ? { requireStartTls: true } : {}),
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

export { OPTION_FILE_LIMIT, readOption } from '../util/read-option.js';
