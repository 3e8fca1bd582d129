import { isIP } from 'node:net';
import { usageError } from '../errors.js';
import { assertSingleLine } from './command.js';

export interface Target {
  host: string;
  port: number;
  /** From a URL: smtps:// (implicit TLS), submission:// (STARTTLS required), smtp://. */
  scheme?: TargetScheme;
}

export type TargetScheme = 'smtp' | 'smtps' | 'submission';

/** URL schemes people write for mail servers, with their ports (RFC 8314 §7.3, RFC 6409). */
const SCHEMES: Record<string, { scheme: TargetScheme; port?: number }> = {
  smtp: { scheme: 'smtp' },
  smtps: { scheme: 'smtps', port: 465 },
  submissions: { scheme: 'smtps', port: 465 },
  submission: { scheme: 'submission', port: 587 },
};

/**
 * Parses `host`, `host:port`, `[v6]:port`, `[v6]` or a bare IPv6 address, optionally as a
 * URL: `smtp://host[:port]`, `smtps://host[:port]` (465), `submission://host[:port]` (587).
 * The port falls back to the scheme's, then to `defaultPort`.
 */
export function parseTarget(spec: string, defaultPort: number): Target {
  assertSingleLine(spec, 'the server address');
  let s = spec.trim();
  const url = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)\/?$/i.exec(s);
  let scheme: TargetScheme | undefined;
  if (url) {
    const known = SCHEMES[url[1]!.toLowerCase()];
    if (!known)
      throw usageError(`${JSON.stringify(spec)}: smtpkit knows the schemes smtp://, smtps:// and submission://`);
    if (url[2]!.includes('@'))
      throw usageError(`${JSON.stringify(spec)}: put no user name in the URL; use --user (and --password-env)`);
    scheme = known.scheme;
    defaultPort = known.port ?? defaultPort;
    s = url[2]!;
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    throw usageError(
      `${JSON.stringify(spec)} is not a server URL: write scheme://host[:port], with nothing after the port`,
    );
  }
  let host: string;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (bracketed) {
    host = bracketed[1] ?? '';
    port = bracketed[2];
    if (isIP(host) !== 6) throw usageError(`${JSON.stringify(spec)}: only IPv6 addresses go in brackets`);
  } else if (s.split(':').length > 2) {
    // More than one colon and no brackets: a bare IPv6 address, which cannot carry a port.
    host = s;
    if (isIP(host) !== 6) throw usageError(`${JSON.stringify(spec)} is not a valid IPv6 address; write [address]:port`);
  } else {
    [host = '', port] = s.split(':');
  }
  if (!host || /\s|\//.test(host)) throw usageError(`${JSON.stringify(spec)} is not a host name or address`);
  return { host, port: port === undefined ? defaultPort : parsePort(port, spec), ...(scheme ? { scheme } : {}) };
}

export function parsePort(text: string, context = text): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535))
    throw usageError(`${JSON.stringify(context)}: the port must be a number from 1 to 65535`);
  return n;
}

/** host:port as people write it, with brackets around IPv6 addresses. */
export const formatTarget = (host: string, port: number) =>
  isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
