import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { SmtpkitError } from '../errors.js';
import type { Expected, Round, TransactionPlan } from '../flows/transaction.js';
import { commandVerb } from '../protocol/command.js';
import { MAX_LINE_BYTES, MAX_REPLY_LINES } from '../protocol/reply.js';
import { formatTarget } from '../protocol/target.js';
import { connectTimeoutError, describeSocketError } from '../session/connection.js';
import { cannotConnect, noGreetingError, noReplyError, stalledError, type SessionOptions } from '../session/session.js';

/**
 * Load mode's lean executor: one connection run from a plan (flows/transaction.ts), one
 * write per pipelined round, replies only counted and their codes checked, one deadline
 * timer, no events. Anything the plan did not expect (a code, a malformed or overlong line,
 * bytes nobody asked for, a close) hands the connection to the full session machinery
 * (shard.ts), which reads every reply of the message in hand again from the bytes kept here
 * and judges it as it would have; a deadline that passes is told here, in the session's words.
 */

/** What the executor needs from the shard: its figures, its slots, its plans. */
export interface LeanHost {
  base: SessionOptions;
  perConnection: number;
  /** The plan for a server's EHLO reply (its bytes), or undefined: the session goes on. */
  planFor: (ehlo: Buffer) => Promise<TransactionPlan | undefined>;
  /** Takes the next message's slot (false: the run is done). */
  nextSlot: () => Promise<boolean>;
  /** A message started (counted as sent). */
  sent: () => void;
  accepted: (latency: { envelope: number; data: number; message: number }) => void;
  connected: (ms: number) => void;
  failed: (e: SmtpkitError) => void;
}

/** Where the session takes over: the socket, what the server sent, what we wrote. */
export interface HandOver {
  socket: net.Socket;
  /** Every byte of the greeting, the EHLO reply and the message in hand's replies. */
  received: Buffer[];
  /** Lines written after the greeting whose replies the session reads from `received` ('.': the message). */
  written: string[];
  ended: Error | true | undefined;
  /** Messages started on this connection, the one in hand included. */
  onThis: number;
  /** The one in hand was counted as sent already. */
  inMessage: boolean;
  /** When the connection started, for its connect latency (undefined: measured already). */
  t0: number | undefined;
}

const OK = 0;
const UNEXPECTED = 1;
const TIMEOUT = 2;
const ENDED = 3;
type Outcome = typeof OK | typeof UNEXPECTED | typeof TIMEOUT | typeof ENDED;

const QUIT = [Buffer.from('QUIT\r\n')];
const GREETING: Expected[] = ['positive'];
const ANY: Expected[] = ['any'];

/** The codes a reply may have: 2xx within what the full parser takes (second digit 0-5), 354, anything. */
function fits(want: Expected, code: number): boolean {
  if (want === 'any') return true;
  if (want === 'go-ahead') return code === 354;
  return code >= 200 && code < 260 && (want === 'positive' || code !== 221);
}

/** The socket, the reply counter and the deadline of one connection. */
class Wire {
  /** Bytes of the greeting and EHLO reply, then of the message in hand: what a hand-over replays. */
  readonly opening: Buffer[] = [];
  chunks: Buffer[] = this.opening;
  ended: Error | true | undefined;
  /** Bytes came while no round waited for any. */
  stray = false;
  private expect: Expected[] = GREETING;
  /** Replies of the round counted so far. */
  index = 0;
  /** When the round's first reply was in (the message's outcome; QUIT's goodbye may follow long after). */
  firstAt = 0;
  private done: ((o: Outcome) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerMs = 0;
  // The line being read: how much of its head (code and separator) is in, and its length.
  private head = 0;
  private code = 0;
  private sep = 0;
  private lineBytes = 0;
  /** The code of the reply's first line (0: none yet) and its lines so far. */
  private replyCode = 0;
  private replyLines = 0;

  private readonly listeners = {
    data: (chunk: Buffer) => this.onData(chunk),
    end: () => this.onEnd(true),
    close: () => this.onEnd(true),
    error: (err: Error) => this.onEnd(err),
  };

  constructor(readonly socket: net.Socket) {
    for (const [name, fn] of Object.entries(this.listeners)) socket.on(name, fn);
  }

  /** Writes a round (none: the greeting) and waits for its replies, or the deadline, or the end. */
  run(bytes: Buffer[] | undefined, expect: Expected[], timeoutMs: number): Promise<Outcome> {
    if (this.ended) return Promise.resolve(ENDED);
    if (this.stray) return Promise.resolve(UNEXPECTED);
    this.expect = expect;
    this.index = 0;
    this.arm(timeoutMs);
    const waited = new Promise<Outcome>((resolve) => (this.done = resolve));
    if (bytes) {
      if (bytes.length === 1) this.socket.write(bytes[0]!);
      else {
        this.socket.cork();
        for (const b of bytes) this.socket.write(b);
        this.socket.uncork();
      }
    }
    return waited;
  }

  /** One timer for the connection, restarted for each wait and each reply. */
  arm(timeoutMs: number) {
    if (this.timer && this.timerMs === timeoutMs) {
      this.timer.refresh();
      return;
    }
    clearTimeout(this.timer);
    this.timerMs = timeoutMs;
    this.timer = setTimeout(() => this.finish(TIMEOUT), timeoutMs);
  }

  /** Lets go of the socket: the session takes it over, or it is closed. */
  release() {
    clearTimeout(this.timer);
    // Only ours: net.Socket keeps listeners of its own ('end' among them).
    for (const [name, fn] of Object.entries(this.listeners)) this.socket.off(name, fn);
  }

  private finish(o: Outcome) {
    const done = this.done;
    this.done = undefined;
    done?.(o);
  }

  private onEnd(how: Error | true) {
    this.ended ??= how;
    this.finish(ENDED);
  }

  private onData(chunk: Buffer) {
    this.chunks.push(chunk);
    if (!this.done) {
      this.stray = true;
      return;
    }
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      // The line's head: three digits and what follows them.
      while (this.head < 4 && i < n) {
        const b = chunk[i]!;
        if (b === 0x0a) break;
        if (this.head < 3) {
          if (b < 0x30 || b > 0x39) return this.finish(UNEXPECTED);
          this.code = this.code * 10 + b - 0x30;
        } else this.sep = b;
        this.head++;
        this.lineBytes++;
        i++;
      }
      const lf = chunk.indexOf(0x0a, i);
      if (lf < 0) {
        this.lineBytes += n - i;
        if (this.lineBytes > MAX_LINE_BYTES) return this.finish(UNEXPECTED);
        return;
      }
      this.lineBytes += lf - i;
      i = lf + 1;
      const { code, sep, head, lineBytes } = this;
      this.head = this.code = this.sep = this.lineBytes = 0;
      // As the full parser reads it: "250", "250 text" or "250-text" (a CR before the LF dropped).
      const ends = head === 3 || (head === 4 && (sep === 0x20 || (sep === 0x0d && lineBytes === 4)));
      if ((!ends && !(head === 4 && sep === 0x2d)) || lineBytes > MAX_LINE_BYTES + 1) return this.finish(UNEXPECTED);
      if (this.replyCode && this.replyCode !== code) return this.finish(UNEXPECTED);
      this.replyCode = code;
      if (++this.replyLines > MAX_REPLY_LINES) return this.finish(UNEXPECTED);
      if (!ends) continue;
      this.replyCode = this.replyLines = 0;
      const want = this.expect[this.index]!;
      if (!fits(want, code)) return this.finish(UNEXPECTED);
      if (this.index === 0) this.firstAt = performance.now();
      if (++this.index === this.expect.length) {
        // Anything after the round's last reply was asked by nobody (QUIT's goodbye ends it all).
        return this.finish(i < n && want !== 'any' ? UNEXPECTED : OK);
      }
      this.timer?.refresh();
    }
  }
}

/**
 * Runs one connection (its first message's slot taken). Returns undefined when it is over
 * (its figures told to `host`), or the hand-over for the session.
 */
export async function leanConnection(host: LeanHost): Promise<HandOver | undefined> {
  const { base } = host;
  const { timeouts } = base;
  const t0 = performance.now();
  const socket = net.connect({ host: base.host, port: base.port, localAddress: base.localAddress });
  const target = formatTarget(base.host, base.port);
  const connected = await new Promise<SmtpkitError | undefined>((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(cannotConnect(target, connectTimeoutError(timeouts.connect).message));
    }, timeouts.connect);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(undefined);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(cannotConnect(target, describeSocketError(err)));
    });
  });
  if (connected) {
    // A connection that never got going uses up its message, as on the session's road.
    host.sent();
    host.failed(connected);
    return undefined;
  }
  socket.setNoDelay(true);
  const wire = new Wire(socket);
  const ehlo = `EHLO ${base.ehloName}`;
  const written: string[] = [];
  let onThis = 0;
  let inMessage = false;
  let measured = false;
  const handOver = (): HandOver => {
    wire.release();
    return {
      socket,
      received: wire.chunks === wire.opening ? wire.opening : [...wire.opening, ...wire.chunks],
      written,
      ended: wire.ended,
      onThis,
      inMessage,
      t0: measured ? undefined : t0,
    };
  };
  const close = () => {
    wire.release();
    // Reset, not a FIN: thousands of closed connections must not pile up in TIME_WAIT. Not
    // once the server has closed: Node then shuts our side down itself, and a reset in the
    // middle of that never lets the socket go (the process spun at the end).
    socket.on('error', () => {});
    if (wire.ended) socket.destroy();
    else if (!socket.destroyed) socket.resetAndDestroy();
  };
  const timedOut = (e: SmtpkitError) => {
    if (!inMessage) host.sent();
    host.failed(e);
    close();
    return undefined;
  };

  let o = await wire.run(undefined, GREETING, timeouts.greeting);
  if (o === TIMEOUT) return timedOut(noGreetingError(timeouts.greeting));
  if (o !== OK) return handOver();
  written.push(ehlo);
  const ehloStart = wire.opening.length;
  o = await wire.run([Buffer.from(`${ehlo}\r\n`)], GREETING, timeouts.command);
  if (o === TIMEOUT) return timedOut(noReplyError('EHLO', timeouts.command, 'ehlo'));
  if (o !== OK) return handOver();
  const ehloReply =
    wire.opening.length === ehloStart + 1 ? wire.opening[ehloStart]! : Buffer.concat(wire.opening.slice(ehloStart));
  const plan = await host.planFor(ehloReply).catch(() => undefined);
  if (!plan) return handOver();
  // From here a hand-over replays the opening and the message in hand only.
  wire.chunks = [];
  measured = true;
  host.connected(performance.now() - t0);

  // Each turn holds the slot of the message it sends.
  for (;;) {
    // Closed or spoken to between messages: the session says what that means.
    if (wire.ended || wire.stray) return handOver();
    onThis++;
    const last = onThis === host.perConnection;
    const envelope = onThis > 1 ? plan.nextEnvelope : plan.envelope;
    const message = last ? plan.lastMessage : plan.message;
    // The message in hand's replies are all a hand-over needs besides the opening.
    written.length = 1;
    inMessage = true;
    host.sent();
    const m0 = performance.now();
    o = await round(wire, envelope, written, timeouts.command);
    if (o === TIMEOUT) return timedOut(envelopeTimeout(envelope, wire.index, timeouts.command));
    if (o !== OK) return handOver();
    const sentAt = performance.now();
    o = await round(wire, message, written, timeouts.command);
    // QUIT's goodbye may never come: the message was accepted with the reply to its end.
    if (o === TIMEOUT && wire.index === 0)
      return timedOut(
        socket.writableLength > 0 ? stalledError(timeouts.command) : noReplyError('.', timeouts.command, 'data'),
      );
    if (o !== OK && wire.index === 0) return handOver();
    const end = wire.firstAt;
    host.accepted({ envelope: sentAt - m0, data: end - sentAt, message: end - m0 });
    inMessage = false;
    wire.chunks = [];
    if (last || o !== OK) break;
    if (!(await host.nextSlot())) {
      // The run's count is used up before this connection's: QUIT on its own.
      await wire.run(QUIT, ANY, timeouts.command);
      break;
    }
  }
  close();
  return undefined;
}

/** Writes a round of the plan, noting its lines for a hand-over. */
function round(wire: Wire, r: Round, written: string[], timeoutMs: number): Promise<Outcome> {
  for (const line of r.lines) written.push(line);
  return wire.run(r.bytes, r.expect, timeoutMs);
}

/** The session's words for a pipelined envelope that stopped being answered after `index` replies. */
function envelopeTimeout(r: Round, index: number, timeoutMs: number): SmtpkitError {
  // The session sends RSET on its own, with no phase, and waits for it before the batch.
  const reset = r.lines[0] === 'RSET' ? 1 : 0;
  if (reset && index === 0) return noReplyError('RSET', timeoutMs, undefined);
  const verbs = r.lines.slice(reset).map(commandVerb);
  return noReplyError(verbs[index - reset]!, timeoutMs, 'envelope', verbs, index - reset);
}
