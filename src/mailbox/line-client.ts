import net from 'node:net';
import tls from 'node:tls';

/** Why a conversation with a mailbox port ended before it was judged: the checks word each kind. */
export type StopKind = 'refused' | 'unreachable' | 'timeout' | 'closed' | 'too-long' | 'too-much' | 'tls' | 'aborted';

export class MailboxStop extends Error {
  constructor(
    readonly kind: StopKind,
    message: string,
  ) {
    super(message);
  }
}

export interface LineClientOptions {
  address: string;
  port: number;
  /** SNI and nothing more: the certificate is the transport checks' business, not this one's. */
  servername: string | undefined;
  implicitTls: boolean;
  /** Each wait (connect, handshake, one line) ends after this long. */
  waitMs: number;
  signal?: AbortSignal;
  /** A line longer than this ends the conversation (a flood must not grow memory). */
  maxLine: number;
  /** Everything read over the connection, at most. */
  maxBytes: number;
}

const TRANSCRIPT_LINES = 24;
const EVIDENCE_CHARS = 200;

const CONNECT_FAILURES: Record<string, StopKind> = {
  ECONNREFUSED: 'refused',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
};

/**
 * Lines over one TCP connection, plain or TLS, for the text protocols of mailbox access
 * (IMAP, POP3): every wait bounded, every line and the whole read capped. Never prints.
 */
export class LineClient {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly lines: string[] = [];
  private bytes = 0;
  /** What was said each way ("C: ", "S: "), each line and the count capped: the findings' evidence. */
  readonly transcript: string[] = [];
  private failure: MailboxStop | undefined;
  private waiter: (() => void) | undefined;
  private readonly onAbort = () => this.fail(new MailboxStop('aborted', "the audit's time limit ran out"));

  private constructor(
    private socket: net.Socket,
    private readonly o: LineClientOptions,
  ) {
    this.attach();
    o.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  static async open(o: LineClientOptions): Promise<LineClient> {
    if (o.signal?.aborted) throw new MailboxStop('aborted', "the audit's time limit ran out");
    const plain = await within<net.Socket>(o, 'connect', (done, fail) => {
      const s = net.connect({ host: o.address, port: o.port });
      s.once('connect', () => done(s));
      s.once('error', (err: NodeJS.ErrnoException) => {
        s.destroy();
        fail(new MailboxStop(CONNECT_FAILURES[err.code ?? ''] ?? 'unreachable', `connection failed: ${err.message}`));
      });
      return () => s.destroy();
    });
    const socket = o.implicitTls ? await handshake(plain, o) : plain;
    return new LineClient(socket, o);
  }

  get read(): number {
    return this.bytes;
  }

  write(line: string): void {
    if (/[\r\n]/.test(line)) throw new Error('a line for the wire holds CR or LF');
    if (this.failure) return;
    this.note(`C: ${line}`);
    this.socket.write(`${line}\r\n`);
  }

  note(entry: string): void {
    if (this.transcript.length < TRANSCRIPT_LINES)
      this.transcript.push(
        entry.length > EVIDENCE_CHARS ? `${entry.slice(0, EVIDENCE_CHARS)}… (${entry.length} chars)` : entry,
      );
  }

  /** The next line, without its line ending. */
  async readLine(): Promise<string> {
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) {
        this.note(`S: ${line}`);
        return line;
      }
      if (this.failure) throw this.failure;
      await within(this.o, 'line', (done) => {
        this.waiter = () => done(undefined);
        return () => (this.waiter = undefined);
      });
    }
  }

  /** STARTTLS/STLS was accepted: anything sent before the handshake is dropped (RFC 3207 §6, RFC 2595 §3.1). */
  async startTls(): Promise<void> {
    this.detach();
    this.lines.length = 0;
    this.buffer = Buffer.alloc(0);
    this.socket = await handshake(this.socket, this.o);
    this.attach();
  }

  close(): void {
    this.o.signal?.removeEventListener('abort', this.onAbort);
    this.detach();
    this.socket.destroy();
  }

  private readonly listeners = {
    data: (chunk: Buffer) => this.onData(chunk),
    close: () => this.fail(new MailboxStop('closed', 'the server closed the connection')),
    error: (err: Error) => this.fail(new MailboxStop('closed', `the connection failed: ${err.message}`)),
  };

  private attach() {
    this.socket.on('data', this.listeners.data);
    this.socket.on('close', this.listeners.close);
    this.socket.on('error', this.listeners.error);
  }

  private detach() {
    this.socket.off('data', this.listeners.data);
    this.socket.off('close', this.listeners.close);
    this.socket.off('error', this.listeners.error);
    // The socket may still fail while nobody listens (a TLS layer takes over): never an uncaught error.
    this.socket.on('error', () => {});
  }

  private onData(chunk: Buffer) {
    if (this.failure) return;
    this.bytes += chunk.length;
    // The line being read would grow past the cap with this chunk: said as such, before anything is kept.
    const end = chunk.indexOf(10);
    if (this.buffer.length + (end < 0 ? chunk.length : end) > this.o.maxLine + 1)
      return this.fail(new MailboxStop('too-long', `the server sent a line longer than ${this.o.maxLine} bytes`));
    if (this.bytes > this.o.maxBytes)
      return this.fail(new MailboxStop('too-much', `the server sent more than ${this.o.maxBytes} bytes`));
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf(10)) >= 0) {
      const end = nl > 0 && this.buffer[nl - 1] === 13 ? nl - 1 : nl;
      if (end > this.o.maxLine) break;
      this.lines.push(this.buffer.subarray(0, end).toString('latin1'));
      this.buffer = this.buffer.subarray(nl + 1);
    }
    const open = this.buffer.indexOf(10);
    if ((open < 0 ? this.buffer.length : open) > this.o.maxLine)
      return this.fail(new MailboxStop('too-long', `the server sent a line longer than ${this.o.maxLine} bytes`));
    // Only a whole line wakes the reader: a server dripping bytes does not restart its wait.
    if (this.lines.length) this.wake();
  }

  private fail(stop: MailboxStop) {
    if (this.failure) return;
    this.failure = stop;
    this.buffer = Buffer.alloc(0);
    this.socket.destroy();
    this.wake();
  }

  private wake() {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

/** Runs one wait with the per-wait limit and the audit's signal; `start` returns how to cancel it. */
function within<T>(
  o: LineClientOptions,
  what: 'connect' | 'handshake' | 'line',
  start: (done: (v: T) => void, fail: (e: MailboxStop) => void) => () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let cancel = () => {};
    const finish = (f: () => void) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', aborted);
      f();
    };
    const aborted = () =>
      finish(() => (cancel(), reject(new MailboxStop('aborted', "the audit's time limit ran out"))));
    const timer = setTimeout(
      () =>
        finish(() => {
          cancel();
          const seconds = `${Math.round(o.waitMs / 100) / 10} s`;
          reject(
            new MailboxStop(
              what === 'connect' ? 'unreachable' : 'timeout',
              what === 'connect'
                ? `no answer to the connection within ${seconds} (filtered)`
                : what === 'handshake'
                  ? `the TLS handshake did not finish within ${seconds}`
                  : `the server sent no complete line within ${seconds}`,
            ),
          );
        }),
      o.waitMs,
    );
    o.signal?.addEventListener('abort', aborted, { once: true });
    cancel = start(
      (v) => finish(() => resolve(v)),
      (e) => finish(() => reject(e)),
    );
  });
}

function handshake(socket: net.Socket, o: LineClientOptions): Promise<tls.TLSSocket> {
  return within(o, 'handshake', (done, fail) => {
    const t = tls.connect({
      socket,
      ...(o.servername && net.isIP(o.servername) === 0 ? { servername: o.servername } : {}),
      rejectUnauthorized: false,
    });
    t.once('secureConnect', () => done(t));
    t.once('error', (err) => {
      t.destroy();
      fail(new MailboxStop('tls', `the TLS handshake failed: ${err.message}`));
    });
    socket.once('close', () =>
      fail(new MailboxStop('tls', 'the server closed the connection during the TLS handshake')),
    );
    return () => t.destroy();
  });
}
