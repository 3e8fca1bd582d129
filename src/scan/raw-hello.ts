import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { clientHello, type HelloOffer } from './client-hello.js';
import type { ScanTarget } from './target.js';
import { HelloError, ServerHelloReader, type ServerHelloFacts } from './server-hello.js';
import { reachTls, type ReachError } from './starttls.js';

export type RawHelloOutcome =
  | { kind: 'hello'; facts: ServerHelloFacts }
  /** The server said no to this hello: an alert, or it closed the connection. */
  | { kind: 'refused'; reason: string; alert?: string }
  /** No answer to judge: TLS not reached, a malformed or oversized answer, the time ran out. */
  | { kind: 'failed'; reason: string; busy?: boolean };

/**
 * One connection: SMTP up to STARTTLS (or TLS at once), our own ClientHello, and the
 * server's answer read up to its ServerKeyExchange, then the connection is dropped (no key
 * is ever computed: nothing more is needed). Bounded by target.timeoutMs and `signal`.
 */
export function rawHello(target: ScanTarget, offer: HelloOffer, signal?: AbortSignal): Promise<RawHelloOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const plain = net.connect({ host: target.address, port: target.port, localAddress: target.localAddress });
    const finish = (outcome: RawHelloOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      plain.destroy();
      resolve(outcome);
    };
    const onAbort = () => finish({ kind: 'failed', reason: 'stopped: the time ran out' });
    const timer = setTimeout(
      () =>
        finish({ kind: 'failed', reason: `no complete answer within ${Math.round(target.timeoutMs / 100) / 10} s` }),
      target.timeoutMs,
    );
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    plain.setNoDelay(true);
    plain.on('error', () => {});
    reachTls(plain, target).then(
      () => {
        const reader = new ServerHelloReader({ suites: new Set(offer.suites), compression: offer.compression });
        plain.on('data', (chunk: Buffer) => {
          try {
            const answer = reader.push(chunk);
            if (answer?.kind === 'hello') finish(answer);
            else if (answer) finish({ kind: 'refused', reason: `alert: ${answer.alert}`, alert: answer.alert });
          } catch (err) {
            if (!(err instanceof HelloError)) throw err;
            finish({ kind: 'failed', reason: `malformed answer: ${err.message}` });
          }
        });
        plain.once('close', () =>
          finish(
            reader.midway
              ? { kind: 'failed', reason: 'malformed answer: the connection closed in the middle of a record' }
              : { kind: 'refused', reason: 'the server closed the connection' },
          ),
        );
        plain.write(clientHello(offer, randomBytes(32)));
      },
      // Busy means a 4xx turn-away, worth a retry; a refused connection is an answer for the whole host.
      (err: ReachError) =>
        finish({ kind: 'failed', reason: err.message, ...(err.busy && err.phase !== 'connect' ? { busy: true } : {}) }),
    );
  });
}
