import net from 'node:net';
import tls from 'node:tls';
import type { ScanTarget } from './target.js';
import { tlsReason } from './handshake.js';
import { reachTls } from './starttls.js';

// OpenSSL's code for a refused renegotiation says it best once put in words: "no renegotiation";
// an alert is named without OpenSSL's "tlsv1 alert" prefix.
const reasonOf = (err: NodeJS.ErrnoException) =>
  /^ERR_SSL_/.test(err.code ?? '') && !/alert/i.test(err.message)
    ? err.code!.slice(8).toLowerCase().replace(/_/g, ' ')
    : tlsReason(err).replace(/^tlsv1 alert /, '');

export type RenegotiationOutcome =
  /** `accepted` renegotiations went through before the server refused one (0: refused at once). */
  | { kind: 'refused'; accepted: number; reason: string }
  /** Every attempt went through. */
  | { kind: 'allowed'; accepted: number }
  /** No TLS 1.2 or older session to renegotiate (TLS 1.3 has no renegotiation). */
  | { kind: 'no-tls12'; reason: string }
  | { kind: 'failed'; reason: string };

/**
 * One TLS 1.2 session (Node's own client), then up to `attempts` client-initiated
 * renegotiations in a row on it, as internet.nl does (NCSC: a limit of at most 10 is
 * sufficient, so it tries 11). Bounded by target.timeoutMs and `signal`.
 */
export function tryRenegotiation(
  target: ScanTarget,
  attempts: number,
  signal?: AbortSignal,
): Promise<RenegotiationOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    let secure: tls.TLSSocket | undefined;
    let established = false;
    let accepted = 0;
    const plain = net.connect({ host: target.address, port: target.port, localAddress: target.localAddress });
    const finish = (outcome: RenegotiationOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      secure?.destroy();
      plain.destroy();
      resolve(outcome);
    };
    const onAbort = () => finish({ kind: 'failed', reason: 'stopped: the time ran out' });
    // A server that lets a renegotiation hang has not completed it: counted as refused.
    const timer = setTimeout(
      () =>
        finish(
          established
            ? { kind: 'refused', accepted, reason: 'no answer to the renegotiation' }
            : { kind: 'failed', reason: 'timed out' },
        ),
      target.timeoutMs,
    );
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    plain.on('error', () => {});

    const renegotiate = () => {
      const ok = secure!.renegotiate({ rejectUnauthorized: false }, (err) => {
        if (err) return finish({ kind: 'refused', accepted, reason: reasonOf(err) });
        accepted++;
        if (accepted >= attempts) return finish({ kind: 'allowed', accepted });
        renegotiate();
      });
      if (!ok && !settled) finish({ kind: 'refused', accepted, reason: 'renegotiation not possible on this session' });
    };
    reachTls(plain, target).then(
      () => {
        secure = tls.connect({
          socket: plain,
          servername: target.sni,
          minVersion: 'TLSv1',
          maxVersion: 'TLSv1.2',
          ciphers: 'ALL:@SECLEVEL=0',
          rejectUnauthorized: false,
          checkServerIdentity: () => undefined,
        });
        secure.once('secureConnect', () => {
          established = true;
          renegotiate();
        });
        secure.on('error', (err: NodeJS.ErrnoException) => {
          const reason = reasonOf(err);
          if (established) return finish({ kind: 'refused', accepted, reason });
          finish(
            /protocol version|unsupported protocol/i.test(reason)
              ? { kind: 'no-tls12', reason }
              : { kind: 'failed', reason },
          );
        });
        secure.once('close', () =>
          finish(
            established
              ? { kind: 'refused', accepted, reason: 'the server closed the connection' }
              : { kind: 'failed', reason: 'the server closed the connection during the handshake' },
          ),
        );
      },
      (err: Error) => finish({ kind: 'failed', reason: err.message }),
    );
  });
}
