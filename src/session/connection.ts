import net from 'node:net';
import tls from 'node:tls';
import { SmtpkitError } from '../errors.js';
import { ReplyParser, replyWireLines, type Reply } from '../protocol/reply.js';
import { describeTimeout } from './timeouts.js';

type Socket = net.Socket | tls.TLSSocket;

export interface ConnectOptions {
  address: string;
  port: number;
  localAddress: string | undefined;
  timeoutMs: number;
}

export interface ConnectionHooks {
  /** Bytes as they cross the wire, for -v. */
  onRaw?: (direction: 'in' | 'out', data: string) => void;
  /** A reply nobody waits for; returns true when taken (shown), false to queue it. */
  onIdleReply?: (reply: Reply) => boolean;
  /** The connection can no longer be used (closed, reset, or garbled), with the reason. */
  onFailure?: (error: SmtpkitError | undefined) => void;
}

/** A reason the connection can no longer produce replies. */
type Failure = { kind: 'closed' } | { kind: 'error'; error: SmtpkitError };

/**
 * Line-level I/O over one TCP connection, plain or TLS: write a command line, read the
 * next reply within a deadline. No policy, no printing.
 */
export class Connection {
  private readonly parser = new ReplyParser();
  private readonly queue: Reply[] = [];
  private waiter: { resolve: (r: Reply) => void; reject: (e: unknown) => void } | undefined;
  private failure: Failure | undefined;
  private readonly listeners = {
    data: (chunk: Buffer) => this.onData(chunk),
    end: () => this.onClose(),
    close: () => this.onClose(),
    error: (err: Error) => this.fail({ kind: 'error', error: new SmtpkitError('protocol', `the connection failed: ${err.message}`) }),
  };

  private constructor(
    private socket: Socket,
    private readonly hooks: ConnectionHooks,
  ) {
    this.attach();
  }

  get isTls(): boolean {
    return this.socket instanceof tls.TLSSocket;
  }

  get isOpen(): boolean {
    return !this.failure && !this.socket.destroyed;
  }

  get local() {
    return { address: this.socket.localAddress ?? '', port: this.socket.localPort ?? 0 };
  }

  get remote() {
    return { address: this.socket.remoteAddress ?? '', port: this.socket.remotePort ?? 0 };
  }

  static open(options: ConnectOptions, hooks: ConnectionHooks = {}): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: options.address, port: options.port, localAddress: options.localAddress });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new SmtpkitError('connect', `no answer within ${describeTimeout(options.timeoutMs)} (connect timeout; --connect-timeout raises it)`, 'connect'));
      }, options.timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
        resolve(new Connection(socket, hooks));
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new SmtpkitError('connect', describeSocketError(err), 'connect'));
      });
    });
  }

  /** Writes command lines; `shown` is what -v reports instead when a line carries a secret. */
  write(lines: string[], shown: string[] = lines): void {
    if (this.failure) throw this.failureError('sending');
    this.hooks.onRaw?.('out', shown.map((l) => `${l}\r\n`).join(''));
    this.socket.write(lines.map((l) => `${l}\r\n`).join(''));
  }

  /** Writes message data, waiting while the socket's buffer is full (never the whole message in memory). */
  async writeData(data: Buffer, timeoutMs: number, onTimeout: () => SmtpkitError): Promise<void> {
    if (this.failure) throw this.failureError('sending the message');
    if (this.socket.write(data)) return;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: SmtpkitError) => {
        clearTimeout(timer);
        this.socket.off('drain', onDrain);
        this.socket.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () => done(this.failureError('the server to take the message'));
      const timer = setTimeout(() => done(onTimeout()), timeoutMs);
      this.socket.on('drain', onDrain);
      this.socket.on('close', onClose);
    });
  }

  /** The next reply, or a SmtpkitError naming `what` we waited for when it fails or times out. */
  readReply(timeoutMs: number, what: string, onTimeout: () => SmtpkitError): Promise<Reply> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failureError(what));
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(onTimeout());
      }, timeoutMs);
      this.waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e instanceof SmtpkitError ? e : this.failureError(what));
        },
      };
    });
  }

  /** Hands a reply to whoever waits for one, or queues it; a waiter takes exactly one. */
  private deliver(reply: Reply) {
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) waiter.resolve(reply);
    else if (!this.hooks.onIdleReply?.(reply)) this.queue.push(reply);
  }

  /**
   * Starts TLS on this connection (after a 220 to STARTTLS, or at once for implicit TLS).
   * Returns whatever had arrived in plaintext beyond the last reply: it is dropped, never
   * read after the handshake (RFC 3207 §6).
   */
  async startTls(options: tls.ConnectionOptions, timeoutMs: number): Promise<{ socket: tls.TLSSocket; discarded: string }> {
    const queued = this.queue.splice(0).flatMap((r) => replyWireLines(r).map((l) => `${l}\r\n`));
    const discarded = queued.join('') + this.parser.discard();
    this.detach();
    const plain = this.socket;
    // The TLS socket reports the plain socket's failures; keep them from being unhandled.
    plain.on('error', () => {});
    // We judge trust and name ourselves (tls-facts.ts), after reporting what we saw.
    const secure = tls.connect({ ...options, socket: plain, rejectUnauthorized: false, checkServerIdentity: () => undefined });
    let ticket: Promise<void> = Promise.resolve();
    await new Promise<void>((resolve, reject) => {
      const fail = (message: string) => {
        clearTimeout(timer);
        secure.destroy();
        plain.destroy();
        this.failure = { kind: 'error', error: new SmtpkitError('tls', message, 'tls') };
        reject(this.failure.error);
      };
      const timer = setTimeout(() => fail(`the TLS handshake did not finish within ${describeTimeout(timeoutMs)} (--tls-timeout raises it)`), timeoutMs);
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        secure.removeAllListeners('error');
        // Listen for the ticket and read from the start: a socket left unread here stalls.
        ticket = secure.getProtocol() === 'TLSv1.3' ? firstTicket(secure) : Promise.resolve();
        this.socket = secure;
        this.attach();
        resolve();
      });
      secure.once('error', (err: NodeJS.ErrnoException) => fail(`the TLS handshake failed: ${describeTlsError(err)}`));
    });
    await ticket;
    return { socket: secure, discarded };
  }

  /** Closes at once; safe to call more than once. */
  destroy(): void {
    if (!this.failure) this.failure = { kind: 'closed' };
    this.socket.destroy();
    // Whoever waits for a reply learns now, not at its own (possibly longer) timeout.
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(undefined);
  }

  private attach() {
    for (const [name, fn] of Object.entries(this.listeners)) this.socket.on(name, fn);
  }

  private detach() {
    for (const [name, fn] of Object.entries(this.listeners)) this.socket.off(name, fn);
  }

  private onData(chunk: Buffer) {
    if (this.failure) return;
    this.hooks.onRaw?.('in', chunk.toString('utf8'));
    let replies: Reply[];
    try {
      replies = this.parser.push(chunk);
    } catch (err) {
      this.fail({ kind: 'error', error: err as SmtpkitError });
      return;
    }
    for (const r of replies) this.deliver(r);
  }

  private onClose() {
    if (this.failure) return;
    try {
      this.parser.end();
      this.fail({ kind: 'closed' });
    } catch (err) {
      this.fail({ kind: 'error', error: err as SmtpkitError });
    }
  }

  private fail(failure: Failure) {
    if (this.failure) return;
    this.failure = failure;
    this.socket.destroy();
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(failure.kind === 'error' ? failure.error : undefined);
    if (!waiter) this.hooks.onFailure?.(failure.kind === 'error' ? failure.error : undefined);
  }

  private failureError(what: string): SmtpkitError {
    if (this.failure?.kind === 'error') return this.failure.error;
    return new SmtpkitError('protocol', `the server closed the connection while we waited for ${what}`);
  }
}

/**
 * With TLS 1.3 the server sends its session tickets right after the handshake, often in
 * two writes; under Nagle the second (and the reply to our next command) waits for our ACK
 * of the first, which the kernel delays by up to 40 ms. Sending the next command after the
 * first ticket has arrived carries that ACK at once. Servers that send no ticket cost us
 * at most the short cap.
 */
function firstTicket(socket: tls.TLSSocket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      socket.off('session', done);
      // 'session' is emitted from inside OpenSSL's read; writing before it returns stalls the socket.
      setImmediate(resolve);
    };
    const timer = setTimeout(done, 15);
    socket.once('session', done);
  });
}

const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused: nothing listens on that port, or a firewall rejects it',
  ECONNRESET: 'the connection was reset by the peer',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'the network is unreachable (no route; is IPv6 configured?)',
  EADDRNOTAVAIL: 'the local address is not available on this machine (--local-address?)',
  ETIMEDOUT: 'the connection attempt timed out',
  EACCES: 'permission denied',
};

export function describeSocketError(err: NodeJS.ErrnoException): string {
  const text = err.code ? ERRNO_TEXT[err.code] : undefined;
  return text ? `${text} (${err.code})` : err.message;
}

function describeTlsError(err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNRESET' || /socket disconnected/i.test(err.message)) return 'the server closed the connection during the handshake';
  if (/wrong version number|packet length too long/i.test(err.message)) return `the server did not answer with TLS (${err.message.trim()}); is this a plaintext port?`;
  return err.message.trim();
}
