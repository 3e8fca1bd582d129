import { hostname } from 'node:os';
import { parseTarget, type Target } from '../protocol/target.js';
import type { SessionOptions } from './session.js';

/** Everything of a session's options but the server: shared by every target of a probe, or an exporter module. */
export type SessionBase = Omit<SessionOptions, 'host' | 'port' | 'tlsOnConnect' | 'requireStartTls'> & {
  /** Implicit TLS whatever the port; undefined: as the target's scheme or port says. */
  tlsOnConnect: boolean | undefined;
  /** A port that overrides the target's own (-p). */
  port: number | undefined;
};

const IMPLICIT_TLS_PORT = 465;

/**
 * A server as people write it (host, host:port, [IPv6]:port, smtp://, smtps://, submission://)
 * with the shared settings: the session's options for it.
 */
export function sessionOptionsFor(
  server: string,
  base: Readonly<SessionBase>,
  defaultPort = 25,
): { target: Target; options: SessionOptions } {
  const target = parseTarget(server, base.tlsOnConnect ? IMPLICIT_TLS_PORT : defaultPort);
  if (base.port !== undefined) target.port = base.port;
  const { port: _port, tlsOnConnect, ...rest } = base;
  return {
    target,
    options: {
      ...rest,
      // Each session gets its own settings: DANE and MX mode set fields on them.
      timeouts: { ...rest.timeouts },
      tls: { ...rest.tls },
      host: target.host,
      port: target.port,
      // smtps:// says TLS at once whatever the port; smtp:// and submission:// say STARTTLS.
      tlsOnConnect: tlsOnConnect ?? (target.scheme ? target.scheme === 'smtps' : target.port === IMPLICIT_TLS_PORT),
      ...(target.scheme === 'submission' ? { requireStartTls: true } : {}),
    },
  };
}

/** The name to say in EHLO when none is given: this machine's, when it is one word. */
export function defaultEhloName(): string {
  const name = hostname();
  return name && !/[\s\r\n]/.test(name) ? name : 'localhost';
}
