import type net from 'node:net';
import { SmtpkitError } from '../errors.js';
import { ReplyParser, replyText, type Reply } from '../protocol/reply.js';
import type { ScanTarget } from './target.js';

/** A failure to reach TLS; `busy` when another try may get past it (4xx, refused, dropped). */
export type ReachError = SmtpkitError & { busy: boolean };

function reachError(message: string, phase: string, busy: boolean): ReachError {
  const errorClass = phase === 'connect' ? 'connect' : phase === 'starttls' ? 'tls' : 'protocol';
  return Object.assign(new SmtpkitError(errorClass, message, phase), { busy });
}

/**
 * Brings a fresh connection to the point where TLS bytes may flow: at once for implicit TLS,
 * else greeting, EHLO and STARTTLS in lock-step, each answered before the next. Resolves
 * once the server said 220 to STARTTLS (its listeners removed, the socket left to the
 * caller); rejects with a ReachError. The caller owns the socket, its timer and its end.
 */
export function reachTls(plain: net.Socket, target: ScanTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const cleanup = () => {
      done = true;
      plain.off('data', onData);
      plain.off('error', onError);
      plain.off('close', onClose);
      plain.off('connect', onConnect);
    };
    const fail = (message: string, phase: string, busy = false) => {
      if (done) return;
      cleanup();
      reject(reachError(message, phase, busy));
    };
    const onError = (err: NodeJS.ErrnoException) =>
      fail(
        `cannot connect for the TLS scan: ${err.code ?? err.message}`,
        'connect',
        err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET',
      );
    const parser = new ReplyParser();
    const steps: { send?: string; expect: number; phase: string }[] = [
      { expect: 220, phase: 'greeting' },
      { send: `EHLO ${target.ehloName}`, expect: 250, phase: 'ehlo' },
      { send: 'STARTTLS', expect: 220, phase: 'starttls' },
    ];
    let step = 0;
    const onReply = (reply: Reply) => {
      const want = steps[step]!;
      if (reply.code !== want.expect) {
        const what =
          want.phase === 'starttls'
            ? 'the server refused STARTTLS'
            : want.phase === 'ehlo'
              ? 'the server refused EHLO'
              : 'the server refused the connection';
        // 421 or any 4xx: the server is busy or limits connections; worth another try later.
        return fail(`${what}: ${reply.code} ${replyText(reply)}`, want.phase, reply.code >= 400 && reply.code < 500);
      }
      step++;
      if (step === steps.length) {
        cleanup();
        return resolve();
      }
      plain.write(`${steps[step]!.send}\r\n`);
    };
    const onData = (chunk: Buffer) => {
      try {
        for (const r of parser.push(chunk)) {
          if (done) return;
          onReply(r);
        }
      } catch (err) {
        fail((err as Error).message, steps[step]?.phase ?? 'starttls');
      }
    };
    const onClose = () => {
      const phase = steps[Math.min(step, steps.length - 1)]!.phase;
      fail(`the server closed the connection before TLS (during ${phase})`, phase, phase === 'greeting');
    };
    const onConnect = () => {
      if (done) return;
      cleanup();
      resolve();
    };
    plain.on('error', onError);
    plain.on('close', onClose);
    if (target.implicitTls) {
      plain.once('connect', onConnect);
      return;
    }
    plain.on('data', onData);
  });
}

const RETRY_MS = [250, 1000, 3000];

/**
 * Runs `attempt` again when the server turned the connection away for now (421, connection
 * limits): a scan opens many connections and a busy answer says nothing about TLS.
 */
export async function retryWhenBusy<T>(attempt: () => Promise<T>): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err as { busy?: boolean })?.busy || n >= RETRY_MS.length) throw err;
      await new Promise((r) => setTimeout(r, RETRY_MS[n]));
    }
  }
}
