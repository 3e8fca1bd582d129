import net from 'node:net';
import type tls from 'node:tls';
import { SmtpkitError, type ErrorDetails } from '../errors.js';
import { ReplyParser, replyText, replyWireLines, type Reply } from '../protocol/reply.js';
import { describeTimeout } from '../util/duration.js';

export type Socket = net.Socket | tls.TLSSocket;

export interface ConnectOptions {
  address: string;
  port: number;
  localAddress: string | undefined;
  timeoutMs: number;
  /** Aborted: the attempt stops at once (a person gave up on the session). */
  signal?: AbortSignal;
}

export interface ConnectionHooks {
  /** Bytes as they cross the wire, for -v; asked first whether anyone wants them (decoding costs). */
  onRaw?: (direction: 'in' | 'out', data: string) => void;
  wantsRaw?: () => boolean;
  /** An owed reply as it is handed to its reader: before any reply nobody asked for that came after it. */
  onReply?: (reply: Reply) => void;
  /** A reply no command asked for; returns true when taken (shown), false when it is an error. */
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
  /** Replies owed to commands already written (the greeting is owed from the start). */
  private expected = 1;
  /**
   * Owed replies that arrived before anyone read them (never more than `expected`) and, in
   * wire order among them, replies nobody asked for: those are acted on only when the owed
   * ones before them have been read, so the transcript keeps the order of the wire.
   */
  private readonly queue: Array<Reply | { stray: Reply }> = [];
  /** Replies nobody asked for while we were busy writing: reported when the write ends. */
  private readonly unsolicited: Reply[] = [];
  private busy = false;
  /** After STARTTLS: once its reply is in, nothing more is parsed in plaintext. */
  private handoff = false;
  private handedOff = false;
  private discardedBytes = 0;
  private discardedText = '';
  private waiter: { resolve: (r: Reply) => void; reject: (e: unknown) => void } | undefined;
  /**
   * One deadline timer per connection, re-armed for each read (a load run reads six replies
   * per connection over thousands of connections: a timer object each cost measurably).
   */
  private readTimer: NodeJS.Timeout | undefined;
  private readTimerMs = 0;
  private onReadTimeout: (() => void) | undefined;
  private failure: Failure | undefined;
  private readonly listeners = {
    data: (chunk: Buffer) => this.onData(chunk),
    end: () => this.onClose(),
    close: () => this.onClose(),
    error: (err: Error) =>
      this.fail({
        kind: 'error',
        error: new SmtpkitError('protocol', `the connection failed: ${err.message}`, undefined, { kind: 'closed' }),
      }),
  };

  private constructor(
    private socket: Socket,
    private readonly hooks: ConnectionHooks,
  ) {
    this.attach();
  }

  get isTls(): boolean {
    return 'encrypted' in this.socket && this.socket.encrypted;
  }

  /** Bytes received so far: a server that sent any is not silent (implicit-TLS detection). */
  bytesIn = 0;

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
      const { signal } = options;
      // The attempt only: once connected, closing is destroy()'s business.
      const abort = () => {
        clearTimeout(timer);
        socket.destroy();
        reject(new SmtpkitError('connect', 'the connection attempt was abandoned', 'connect', { kind: 'interrupted' }));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', abort);
        socket.destroy();
        reject(connectTimeoutError(options.timeoutMs));
      }, options.timeoutMs);
      if (signal?.aborted) return abort();
      signal?.addEventListener('abort', abort, { once: true });
      socket.once('connect', () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
        resolve(new Connection(socket, hooks));
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        socket.destroy();
        reject(new SmtpkitError('connect', describeSocketError(err), 'connect'));
      });
    });
  }

  /**
   * A connection someone else opened and spoke on (load mode's lean executor): `owed`
   * replies (the greeting's included) are read from `received` first, then from the socket;
   * `ended` says the socket already closed (true) or failed.
   */
  static adopt(
    socket: Socket,
    hooks: ConnectionHooks,
    received: Buffer[],
    owed: number,
    ended?: Error | true,
  ): Connection {
    const connection = new Connection(socket, hooks);
    connection.expected = owed;
    for (const chunk of received) connection.onData(chunk);
    if (ended === true) connection.onClose();
    else if (ended) connection.listeners.error(ended);
    return connection;
  }

  /**
   * Writes command lines; `shown` is what -v reports instead when a line carries a secret.
   * `replies` is how many replies the lines ask for (one each, unless told otherwise).
   */
  write(lines: string[], shown: string[] = lines, replies = lines.length): void {
    if (this.failure) throw this.failureError('sending');
    this.expected += replies;
    if (this.rawWanted) this.hooks.onRaw!('out', shown.map((l) => `${l}\r\n`).join(''));
    this.socket.write(lines.length === 1 ? `${lines[0]}\r\n` : lines.map((l) => `${l}\r\n`).join(''));
  }

  /** One more reply is owed (after the message data and its end). */
  expect(replies = 1): void {
    this.expected += replies;
  }

  /** How many owed replies have not been read yet. */
  get outstanding(): number {
    return this.expected + this.queue.filter((e) => !('stray' in e)).length;
  }

  /** The next reply parsed after STARTTLS's is not parsed: it would be read from before TLS. */
  handOffAfterNextReply(on: boolean): void {
    this.handoff = on;
    if (!on && this.handedOff) {
      // STARTTLS was refused: the session goes on in plaintext, so parse what waited.
      this.handedOff = false;
      this.onData(Buffer.alloc(0));
    }
  }

  /**
   * Writes message data, waiting while the socket's buffer is full (never the whole
   * message in memory). Replies that arrive meanwhile are nobody's: a few are held and
   * reported when the write is over, more end the session at once.
   */
  async writeData(
    data: Buffer,
    timeoutMs: number,
    onTimeout: () => SmtpkitError,
    replies = 0,
    tail?: Buffer,
  ): Promise<void> {
    if (this.failure) throw this.failureError('sending the message');
    // Owed from the moment the bytes that ask for it are handed over, not after the drain.
    this.expected += replies;
    let fits: boolean;
    if (tail) {
      // `tail` (QUIT) leaves in the same write without copying `data`: load mode's message is
      // one buffer shared by all connections, and a copy each held until sent grew with them.
      this.socket.cork();
      this.socket.write(data);
      fits = this.socket.write(tail);
      this.socket.uncork();
    } else fits = this.socket.write(data);
    if (fits) return;
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

  /** Message data is about to be written: replies nobody asked for are held until checkUnsolicited. */
  beginMessage(): void {
    this.busy = true;
  }

  /** After a write: a reply that came while nobody asked for one ends the session here. */
  checkUnsolicited(what: string): void {
    this.busy = false;
    const first = this.unsolicited[0];
    if (!first) return;
    this.unsolicited.length = 0;
    const error = unsolicitedError(first, what);
    this.fail({ kind: 'error', error });
    throw error;
  }

  /** The next reply, or a SmtpkitError naming `what` we waited for when it fails or times out. */
  readReply(timeoutMs: number, what: string, onTimeout: () => SmtpkitError): Promise<Reply> {
    // The head is always owed: strays are acted on as soon as nothing owed is before them.
    const queued = this.queue.shift() as Reply | undefined;
    if (queued) {
      this.hooks.onReply?.(queued);
      while (this.queue[0] && 'stray' in this.queue[0]) this.unasked((this.queue.shift() as { stray: Reply }).stray);
      return Promise.resolve(queued);
    }
    if (this.failure) return Promise.reject(this.failureError(what));
    return new Promise<Reply>((resolve, reject) => {
      this.armRead(timeoutMs, () => {
        this.waiter = undefined;
        reject(onTimeout());
      });
      this.waiter = {
        resolve: (r) => {
          this.onReadTimeout = undefined;
          resolve(r);
        },
        reject: (e) => {
          this.onReadTimeout = undefined;
          reject(e instanceof SmtpkitError ? e : this.failureError(what));
        },
      };
    });
  }

  /** Starts the read deadline: the one timer restarted when the wait is as long as the last. */
  private armRead(timeoutMs: number, onTimeout: () => void) {
    this.onReadTimeout = onTimeout;
    if (this.readTimer && this.readTimerMs === timeoutMs) {
      this.readTimer.refresh();
      return;
    }
    clearTimeout(this.readTimer);
    this.readTimerMs = timeoutMs;
    this.readTimer = setTimeout(() => {
      const fire = this.onReadTimeout;
      this.onReadTimeout = undefined;
      fire?.();
    }, timeoutMs);
  }

  private get rawWanted(): boolean {
    return !!this.hooks.onRaw && (this.hooks.wantsRaw?.() ?? true);
  }

  /**
   * Hands an owed reply to whoever waits, or keeps it for the next read. A reply nobody
   * asked for is never handed to a later command: an interactive session shows it, a 421
   * ends the session as the server closing, anything else is a protocol error (held while
   * a write is in progress, up to a small cap, so the outcome can be reported in order).
   */
  private deliver(reply: Reply) {
    if (this.expected > 0) {
      this.expected--;
      const waiter = this.waiter;
      this.waiter = undefined;
      if (!waiter) return void this.queue.push(reply);
      this.hooks.onReply?.(reply);
      waiter.resolve(reply);
      return;
    }
    if (this.queue.length) return void this.queue.push({ stray: reply });
    this.unasked(reply);
  }

  /** A reply nobody asked for, acted on in its place in the wire's order. */
  private unasked(reply: Reply) {
    if (this.hooks.onIdleReply?.(reply)) return;
    if (reply.code === 421) return this.fail({ kind: 'error', error: closingError(reply) });
    if (this.busy && this.unsolicited.length < MAX_UNSOLICITED) {
      this.unsolicited.push(reply);
      return;
    }
    const first = this.unsolicited[0] ?? reply;
    const flood = this.unsolicited.length >= MAX_UNSOLICITED;
    this.fail({
      kind: 'error',
      error: flood
        ? new SmtpkitError(
            'protocol',
            `the server sent more than ${MAX_UNSOLICITED} replies nobody asked for while we were sending, the first: ${first.code} ${replyText(first)}`,
            undefined,
            { reply: first, kind: 'flood' },
          )
        : unsolicitedError(first, undefined),
    });
  }

  /**
   * Starts TLS on this connection (after a 220 to STARTTLS, or at once for implicit TLS).
   * Returns whatever had arrived in plaintext beyond the last reply: it is dropped, never
   * read after the handshake (RFC 3207 §6).
   */
  /**
   * What had arrived in plaintext beyond the last reply, dropped: it is never read after
   * the handshake (RFC 3207 §6). Called just before startTls.
   */
  dropPlaintext(): { text: string; bytes: number } {
    const queued = this.queue
      .splice(0)
      .flatMap((r) => replyWireLines('stray' in r ? r.stray : r).map((l) => `${l}\r\n`))
      .join('');
    const parsed = queued + this.parser.discard();
    const result = { text: parsed + this.discardedText, bytes: Buffer.byteLength(parsed) + this.discardedBytes };
    this.discardedText = '';
    this.discardedBytes = 0;
    return result;
  }

  /** Starts TLS on this connection (after a 220 to STARTTLS, or at once for implicit TLS). */
  async startTls(
    options: tls.ConnectionOptions,
    timeoutMs: number,
    offered = 'TLS 1.2 to 1.3',
  ): Promise<tls.TLSSocket> {
    // Loaded here, not at start-up (a session without TLS never pays for it), and before
    // the plain socket is detached: no gap in which its data could go unread.
    const { connect } = await import('node:tls');
    this.dropPlaintext();
    this.handoff = this.handedOff = false;
    this.detach();
    const plain = this.socket;
    // The TLS socket reports the plain socket's failures; keep them from being unhandled.
    plain.on('error', () => {});
    // We judge trust and name ourselves (tls-facts.ts), after reporting what we saw.
    const secure = connect({
      ...options,
      socket: plain,
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    let ticket: Promise<void> = Promise.resolve();
    await new Promise<void>((resolve, reject) => {
      const fail = (message: string, details: ErrorDetails = {}) => {
        clearTimeout(timer);
        secure.destroy();
        plain.destroy();
        this.failure = { kind: 'error', error: new SmtpkitError('tls', message, 'tls', details) };
        reject(this.failure.error);
      };
      const timer = setTimeout(
        () =>
          fail(`the TLS handshake did not finish within ${describeTimeout(timeoutMs)}`, {
            kind: 'timeout',
            hint: { kind: 'timeout', wait: 'tls' },
          }),
        timeoutMs,
      );
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        secure.removeAllListeners('error');
        // Listen for the ticket and read from the start: a socket left unread here stalls.
        ticket = secure.getProtocol() === 'TLSv1.3' ? firstTicket(secure) : Promise.resolve();
        this.socket = secure;
        this.attach();
        resolve();
      });
      secure.once('error', (err: NodeJS.ErrnoException) => {
        const why = describeTlsError(err, offered);
        fail(`the TLS handshake failed: ${why.text}`, why.details);
      });
    });
    await ticket;
    return secure;
  }

  /**
   * Closes at once; safe to call more than once. Whoever waits for a reply is told.
   * `reset` closes a plain TCP connection with a RST (SO_LINGER 0), as smtp-source does:
   * a load run's thousands of connections then leave no TIME_WAIT behind, which on
   * loopback otherwise stalls new connections that land on a remembered port pair.
   */
  destroy(reset = false): void {
    if (!this.failure) this.failure = { kind: 'closed' };
    clearTimeout(this.readTimer);
    if (reset && !this.isTls && !this.socket.destroyed) this.socket.resetAndDestroy();
    else this.socket.destroy();
    // Whoever waits for a reply learns now, not at its own (possibly longer) timeout.
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(
      new SmtpkitError('protocol', 'the connection was closed while we waited for a reply', undefined, {
        kind: 'closed',
      }),
    );
  }

  private attach() {
    for (const [name, fn] of Object.entries(this.listeners)) this.socket.on(name, fn);
  }

  private detach() {
    for (const [name, fn] of Object.entries(this.listeners)) this.socket.off(name, fn);
  }

  private onData(chunk: Buffer) {
    if (this.failure) return;
    this.bytesIn += chunk.length;
    if (chunk.length && this.rawWanted) this.hooks.onRaw!('in', chunk.toString('utf8'));
    if (this.handedOff) return this.discardPlain(chunk);
    let replies: Reply[];
    try {
      // After STARTTLS, parse only up to its reply: the rest is TLS's or dropped (RFC 3207 §6).
      replies = this.parser.push(chunk, this.handoff ? this.expected : Infinity);
    } catch (err) {
      this.fail({ kind: 'error', error: err as SmtpkitError });
      return;
    }
    for (const r of replies) {
      if (this.failure) return;
      this.deliver(r);
    }
    if (this.handoff && this.expected === 0) this.handedOff = true;
  }

  /** Plaintext after the 220 to STARTTLS: counted and shown in part, never parsed or kept. */
  private discardPlain(chunk: Buffer) {
    this.discardedBytes += chunk.length;
    if (this.discardedText.length < 200) this.discardedText += chunk.toString('utf8', 0, 200);
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
    // Closed or reset after saying something unasked while we wrote: what it said is the story.
    const said = this.unsolicited[0];
    if (said && (failure.kind === 'closed' || failure.error.kind === 'closed'))
      failure = { kind: 'error', error: unsolicitedError(said, 'the message') };
    this.failure = failure;
    clearTimeout(this.readTimer);
    this.socket.destroy();
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(failure.kind === 'error' ? failure.error : undefined);
    if (!waiter) this.hooks.onFailure?.(failure.kind === 'error' ? failure.error : undefined);
  }

  private failureError(what: string): SmtpkitError {
    if (this.failure?.kind === 'error') return this.failure.error;
    // Closed after saying something nobody asked for: what it said is the story.
    const said = this.unsolicited[0];
    if (said) return unsolicitedError(said, 'the message');
    return new SmtpkitError('protocol', `the server closed the connection while we waited for ${what}`, undefined, {
      kind: 'closed',
    });
  }
}

/** No TCP connection within the connect timeout. */
export const connectTimeoutError = (timeoutMs: number) =>
  new SmtpkitError('connect', `no answer within ${describeTimeout(timeoutMs)}`, 'connect', {
    kind: 'timeout',
    hint: { kind: 'timeout', wait: 'connect' },
  });

/** While we write message data, this many replies nobody asked for are held; one more ends the session. */
export const MAX_UNSOLICITED = 8;

function unsolicitedError(reply: Reply, what: string | undefined): SmtpkitError {
  // A refusal in the middle of the message is certain: the message was not taken.
  if (what === 'the message' && reply.code >= 400) {
    return new SmtpkitError(
      'rejected',
      `the server refused the message before it was complete: ${reply.code} ${replyText(reply)}`,
      'data',
      { reply, kind: 'refused' },
    );
  }
  return new SmtpkitError(
    'protocol',
    `the server sent a reply nobody asked for${what ? ` while we were sending ${what}` : ''}: ${reply.code} ${replyText(reply)}`,
    undefined,
    { reply, kind: 'unsolicited' },
  );
}

/** 421 is the one reply a server may send unasked (RFC 5321 §3.8): it is closing. */
function closingError(reply: Reply): SmtpkitError {
  return new SmtpkitError(
    'protocol',
    `the server is closing the connection: ${reply.code} ${replyText(reply)}`,
    undefined,
    { reply, kind: 'closing' },
  );
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

/** What went wrong in a handshake, in words, without OpenSSL's internals where we know better. */
function describeTlsError(err: NodeJS.ErrnoException, offered: string): { text: string; details: ErrorDetails } {
  const m = err.message.trim();
  if (err.code === 'ECONNRESET' || /socket disconnected/i.test(m))
    return { text: 'the server closed the connection during the handshake', details: { kind: 'closed' } };
  if (/wrong version number|packet length too long|record layer failure/i.test(m))
    return {
      text: 'the server did not answer with TLS (it sent something else after agreeing to start it); is this a plaintext port?',
      details: { kind: 'malformed' },
    };
  if (/unsupported protocol|protocol version|no protocols available|version too low/i.test(m)) {
    return {
      text: `no TLS version in common: smtpkit offered ${offered}, the server speaks only an older one (TLS 1.0 or 1.1, obsolete since RFC 8996)`,
      details: { kind: 'other', hint: { kind: 'tls-old-version' } },
    };
  }
  return { text: m.replace(/^[\w\d]+:error:[\w\d]+:[^:]*:[^:]*:/, ''), details: {} };
}
