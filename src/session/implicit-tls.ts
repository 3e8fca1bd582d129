import net from 'node:net';

/**
 * How long a server may stay silent on a port other than 25 and 587 before we look, on a
 * second connection, whether it speaks implicit TLS (465-style ports such as 4650 or a
 * custom 465 send their greeting only after a handshake). A slow plain server loses
 * nothing: its own connection is left alone.
 */
export const IMPLICIT_TLS_SNIFF_MS = 2000;

/** Ports where silence is never TLS: 25 and 587 greet in plaintext (RFC 5321, RFC 6409). */
export const PLAINTEXT_PORTS = new Set([25, 587]);

/**
 * Whether `address:port` answers a TLS ClientHello with a ServerHello, on a connection of
 * its own that is closed at once. Any failure or silence within `timeoutMs` means no.
 */
export function answersTls(
  address: string,
  port: number,
  servername: string | undefined,
  timeoutMs: number,
): Promise<boolean> {
  return new Promise((resolve) => {
    // Loaded only when a silent server is sniffed: every greeting passes through this module.
    const socket = process
      .getBuiltinModule('node:tls')
      .connect({ host: address, port, servername, rejectUnauthorized: false, checkServerIdentity: () => undefined });
    const done = (yes: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(yes);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export const isIpLiteral = (host: string) => net.isIP(host) !== 0;
