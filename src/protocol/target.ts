import { isIP } from 'node:net';
import { usageError } from '../errors.js';
import { assertSingleLine } from './command.js';

export interface Target {
  host: string;
  port: number;
}

/**
 * Parses `host`, `host:port`, `[v6]:port`, `[v6]` or a bare IPv6 address. The port falls
 * back to `defaultPort` when not given.
 */
export function parseTarget(spec: string, defaultPort: number): Target {
  assertSingleLine(spec, 'the server address');
  const s = spec.trim();
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
  return { host, port: port === undefined ? defaultPort : parsePort(port, spec) };
}

export function parsePort(text: string, context = text): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535)) throw usageError(`${JSON.stringify(context)}: the port must be a number from 1 to 65535`);
  return n;
}

/** host:port as people write it, with brackets around IPv6 addresses. */
export const formatTarget = (host: string, port: number) => (isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`);
