import { createHmac, randomBytes } from 'node:crypto';
import type net from 'node:net';
import tls from 'node:tls';
import type { Reply } from '../protocol/reply.js';
import { commandVerb } from '../protocol/command.js';
import { boundedTest, MATCH_LIMIT_MS } from '../util/bounded-match.js';
import type { SmtpEvent } from '../session/events.js';
import { bareLineEndsText } from '../protocol/data-encoder.js';
import { DotDecoder } from './dot-decoder.js';
import { LineEndScanner } from './line-ends.js';
import { rateText } from './rate-limit.js';
import { matchRule, type FaultRule, type RuleStage } from './rules.js';
import { REDACTED, shownCommand } from './redact.js';
import type { SinkHost, SinkMessage } from './types.js';
import { HEAD_BYTES, Spool } from './spool.js';

/** Longest command line, CRLF not counted (RFC 4954 allows AUTH lines of 12,288 octets). */
export const MAX_LINE = 12_288;
/** How long a socket we hang up on may take to flush our last reply. */
const GRACE_MS = 2000;
/** Replies gathered past this size leave at once, so a client that does not read is noticed. */
const BATCH_LIMIT = 16 * 1024;

/**
 * Queue ids: a random prefix per process and a counter, unique within a run and across
 * runs saving to one directory (random bytes per message cost a measurable share under
 * load). Twelve hex digits for a run's first 65,536 messages, more after.
 */
let queuePrefix: string | undefined;
let queueCount = 0;
function nextQueueId(): string {
  // 32 random bits: two sinks saving to one directory clash once in four billion runs.
  queuePrefix ??= randomBytes(4).toString('hex').toUpperCase();
  return `${queuePrefix}${(queueCount++).toString(16).toUpperCase().padStart(4, '0')}`;
}

type Mode =
  | 'command'
  | 'data'
  | 'bdat'
  | 'auth-plain'
  | 'auth-login-user'
  | 'auth-login-pass'
  | 'auth-cram'
  | 'handshake'
  | 'closed';

/**
 * One client. Input is taken chunk by chunk and never joined beyond one command line; while
 * the sink cannot go on (a reply the client does not read, a file that wants a pause, a
 * delay, a save) it stops reading, so what a client can make it hold is bounded.
 */
export class SinkSession {
  private socket: net.Socket;
  private inbox: Buffer[] = [];
  private partial: Buffer[] = [];
  private partialSize = 0;
  /** Inside a line that went past MAX_LINE: the rest of it is dropped. */
  private overlong = false;
  private mode: Mode = 'command';
  private greeted = false;
  private from: string | undefined;
  private to: string[] = [];
  private user: string | undefined;
  private loginUser = '';
  private cramChallenge = '';
  private secure = false;
  /** Reasons the session may not take input now; it reads again when none is left. */
  private blockers = 0;
  private processing = false;
  /** Replies to the input being taken, to leave in one write (undefined: write each at once). */
  private batch: string | undefined;
  private outputBlocked = false;
  private spool: Spool | undefined;
  private decoder: DotDecoder | undefined;
  /** The bare LFs and CRs of the message being taken (mended with --bare-newline normalize). */
  private lineEnds: LineEndScanner | undefined;
  private spoolFull = false;
  private chunk: { remaining: number; last: boolean } | undefined;
  /** This transaction used BDAT (and so may not use DATA), and the reply its failure gets. */
  private bdatUsed = false;
  private bdatError: [number, string] | undefined;
  /**
   * --tempfail-rate: where this transaction's message fails, decided once at its MAIL (one
   * message in five for 0.2, however many recipients it has), or undefined when it goes.
   */
  private tempfailAt: 'RCPT' | 'end' | undefined;
  /** --rate-limit-reply rcpt: this transaction's MAIL came past the rate, so each RCPT gets 450 4.7.1. */
  private pastRate = false;
  /** The previous line was AUTH: a line that is no command may be its secret answer. */
  private afterAuth = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private ended = false;
  private readonly started = Date.now();
  /** Milliseconds without a word either way, as counted by the sink's sweeps (see tick). */
  private quiet = 0;
  /** A word either way since the last sweep: the count starts again there. */
  private spoke = true;
  /** Bytes from the client, and the time it spent mid-line or mid-message, in this --min-rate window. */
  private rateBytes = 0;
  private rateMs = 0;
  /** The last byte the client sent was no LF: it is in the middle of a line. */
  private midLine = false;

  constructor(
    private readonly sink: SinkHost,
    socket: net.Socket,
    readonly id: number,
  ) {
    this.socket = socket;
    this.client = socket.remoteAddress ?? '';
  }

  /** The client's address, as --rate-limit counts it. */
  private readonly client: string;

  start() {
    const { options } = this.sink;
    this.socket.on('close', () => this.closed());
    this.attach();
    if (options.transcript)
      this.event({
        type: 'info',
        message: `Client ${this.socket.remoteAddress} port ${this.socket.remotePort} connected`,
      });
    const greet = () => {
      if (this.mode === 'closed') return;
      if (options.dropAfter === 'connect') return this.drop();
      this.greeted = true;
      this.reply(220, `${options.name} ESMTP smtpkit sink (for testing only)`, 'CONNECT');
    };
    if (options.delayGreetingMs) this.after(options.delayGreetingMs, greet);
    else greet();
  }

  private attach() {
    this.socket.on('data', (chunk: Buffer) => {
      if (this.mode === 'closed') return;
      this.spoke = true;
      this.rateBytes += chunk.length;
      this.midLine = chunk[chunk.length - 1] !== 0x0a;
      // Like Postfix's postscreen: a client that talks before the greeting is not speaking SMTP.
      if (!this.greeted) return this.hangUp(554, '5.5.0 SMTP protocol error: data sent before the greeting', 'early');
      this.inbox.push(chunk);
      this.process();
    });
  }

  /**
   * One sweep of the sink's idle clock (`ms`: the time since the last sweep, however late it
   * came): a client silent past --idle-timeout gets 421 4.4.2. Time the sink holds the session
   * itself (the greeting's delay, --delay-data, a save, a handshake) does not count. The count
   * starts at the first sweep after a word or a hold, so it never counts time it did not see:
   * the 421 comes after the timeout, never before, and at most two sweeps late.
   */
  tick(ms: number) {
    if (this.mode === 'closed') return;
    const held = !this.greeted || this.mode === 'handshake' || this.blockers > (this.outputBlocked ? 1 : 0);
    this.checkRate(ms, held);
    if (this.spoke || held) {
      // Held: the sweep after the hold ends may have seen some of it, so it does not count either.
      this.spoke = held;
      this.quiet = 0;
      return;
    }
    if ((this.quiet += ms) > this.sink.options.idleTimeoutMs)
      this.hangUp(421, `4.4.2 ${this.sink.options.name} Error: timeout exceeded`, 'idle');
  }

  /**
   * --min-rate, on the same sweeps: the clock runs only while the client is mid-line (between
   * whole lines, commands or message lines, a client may think: that is --idle-timeout's), so a
   * trickle of a byte a second cannot hold a session slot for ever (Postfix's
   * smtpd_min_data_rate is the same idea for DATA). Judged once per window.
   */
  private checkRate(ms: number, held: boolean) {
    const { minRate, minRateWindowMs, name } = this.sink.options;
    if (!minRate || held) return;
    // Mid-line, or owing the rest of a BDAT chunk it announced. A person typing a message in a
    // REPL sends whole lines, and thinks between them: that is no trickle.
    if (!this.midLine && this.mode !== 'bdat') return;
    if ((this.rateMs += ms) < minRateWindowMs) return;
    const slow = this.rateBytes * 1000 < minRate * this.rateMs;
    this.rateMs = 0;
    this.rateBytes = 0;
    if (!slow) return;
    this.sink.stats.slowSessions++;
    this.hangUp(
      421,
      `4.4.2 ${name} Error: data rate too low (under ${minRate} bytes/s over ${minRateWindowMs / 1000} s, --min-rate)`,
      'slow',
    );
  }

  /** Takes queued input until it runs out or something blocks; reads on only when it is all taken. */
  private process() {
    // Re-entry (a block released while a command is handled) is left to the running loop.
    if (this.processing) return;
    this.processing = true;
    // Replies to pipelined commands leave in one write, not one each.
    this.batch = '';
    try {
      while (this.inbox.length && this.blockers === 0 && this.mode !== 'closed' && this.mode !== 'handshake') {
        const chunk = this.inbox[0]!;
        const used = this.consume(chunk);
        // STARTTLS or a hang-up threw the rest away: it must not come back (RFC 3207 §6).
        if (this.inbox[0] !== chunk) continue;
        if (used >= chunk.length) this.inbox.shift();
        else this.inbox[0] = chunk.subarray(used);
      }
    } finally {
      this.processing = false;
      this.flush();
    }
    if (this.mode === 'closed' || this.mode === 'handshake') return;
    const stop = this.blockers > 0 || this.inbox.length > 0;
    if (stop && !this.socket.isPaused()) this.socket.pause();
    else if (!stop && this.socket.isPaused()) this.socket.resume();
  }

  /** Takes what the current mode wants from the chunk; returns how many bytes it took. */
  private consume(chunk: Buffer): number {
    if (this.mode === 'data') {
      const rest = this.decoder!.feed(chunk);
      if (rest === undefined) {
        if (this.spoolFull) {
          this.spoolFull = false;
          void this.spool!.drained().then(this.block());
        }
        return chunk.length;
      }
      this.mode = 'command';
      this.spoolFull = false;
      this.event({ type: 'sent', line: `.  [message: ${this.spool!.size} bytes]`, command: '.' });
      this.finishMessage('.');
      return chunk.length - rest.length;
    }
    if (this.mode === 'bdat') {
      const c = this.chunk!;
      const n = Math.min(c.remaining, chunk.length);
      if (
        this.spool &&
        !this.bdatError &&
        !this.spool.write(this.lineEnds!.take(chunk.subarray(0, n))) &&
        c.remaining > n
      )
        void this.spool.drained().then(this.block());
      c.remaining -= n;
      if (c.remaining === 0) this.chunkDone();
      return n;
    }
    const lf = chunk.indexOf(0x0a);
    if (lf < 0) {
      this.keepPartial(chunk);
      return chunk.length;
    }
    // The usual case, a whole line in this chunk, is read in place; pieces were copied.
    const whole = !this.partial.length && !this.overlong && lf <= MAX_LINE + 1;
    if (!whole) this.keepPartial(chunk.subarray(0, lf));
    const parts = this.partial;
    this.partial = [];
    this.partialSize = 0;
    if (this.overlong) this.overlong = false;
    else {
      const raw = whole ? chunk.subarray(0, lf) : parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      // Postfix with smtpd_forbid_bare_newline = reject and reject code 521: a command line ended by a bare LF closes the session.
      if (this.sink.options.bareNewline === 'reject' && raw[raw.length - 1] !== 0x0d) {
        this.event({
          type: 'warning',
          message: 'a command line ended in a bare LF (--bare-newline reject): hanging up',
        });
        this.hangUp(521, `5.5.2 ${this.sink.options.name} Error: bare <LF> received`, 'UNKNOWN');
        return lf + 1;
      }
      this.line(raw.toString('utf8', 0, raw.length && raw[raw.length - 1] === 0x0d ? raw.length - 1 : raw.length));
    }
    return lf + 1;
  }

  /** Part of a command line; past MAX_LINE one 500 answers it and the rest is dropped. */
  private keepPartial(piece: Buffer) {
    if (this.overlong) return;
    if (this.partialSize + piece.length > MAX_LINE + 1 /* its CR */) {
      this.overlong = true;
      this.partial = [];
      this.partialSize = 0;
      this.event({ type: 'warning', message: `a line longer than ${MAX_LINE} bytes: the rest of it is dropped` });
      // An AUTH answer that long ends the exchange (as Postfix does): the next line is a command again.
      if (this.mode.startsWith('auth')) this.mode = 'command';
      this.reply(500, '5.5.2 Line too long', 'UNKNOWN');
      return;
    }
    this.partial.push(Buffer.from(piece));
    this.partialSize += piece.length;
  }

  private line(line: string) {
    if (this.mode.startsWith('auth')) return this.authStep(line);
    const verb = commandVerb(line);
    const o = this.sink.options;
    if (o.transcript) {
      const shown = shownCommand(line, verb, this.afterAuth);
      this.event({ type: 'sent', line: shown.line, command: verb, ...(shown.redacted ? { redacted: true } : {}) });
    }
    this.afterAuth = verb === 'AUTH';
    const arg = line.trimStart().slice(verb.length).trim();
    switch (verb) {
      case 'EHLO':
      case 'HELO': {
        if (!arg) return this.reply(501, '5.5.4 Syntax: EHLO hostname', verb);
        if (o.dropAfter === 'ehlo') return this.drop();
        this.resetTransaction();
        if (verb === 'HELO') return this.reply(250, o.name, verb);
        const ext = ['PIPELINING', `SIZE ${o.maxSize}`, '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'CHUNKING'];
        if (o.tls && !this.secure) ext.push('STARTTLS');
        if (o.auth && (this.secure || !o.tls)) ext.push('AUTH PLAIN LOGIN CRAM-MD5');
        return this.multi(250, [o.name, ...ext], verb);
      }
      case 'STARTTLS':
        if (!o.tls || this.secure) return this.reply(502, '5.5.1 STARTTLS not available', verb);
        this.reply(220, '2.0.0 Ready to start TLS', verb);
        return this.upgrade();
      case 'AUTH':
        return this.authStart(arg);
      case 'MAIL': {
        const m = /^FROM:\s*<([^>]*)>(.*)$/i.exec(arg);
        if (!m) return this.reply(501, '5.5.4 Syntax: MAIL FROM:<address>', verb);
        if (this.from !== undefined) return this.reply(503, '5.5.1 Nested MAIL command', verb);
        if (o.auth && !this.user) return this.reply(530, '5.7.0 Authentication required', verb);
        const size = /\bSIZE=(\d+)/i.exec(m[2] ?? '')?.[1];
        if (size && Number(size) > o.maxSize)
          return this.reply(552, `5.3.4 Message size exceeds fixed limit of ${o.maxSize} bytes`, verb);
        if (o.dropAfter === 'mail') return this.drop();
        const rule = this.rule('mail', [m[1]!]);
        if (rule && rule.code >= 400) return this.answerRule(rule, verb);
        if (o.rateLimit && !this.sink.withinRate(this.client)) {
          const why = `too much mail from ${this.client} (--rate-limit ${rateText(o.rateLimit)})`;
          this.event({ type: 'warning', message: `${why}: refused` });
          if (o.rateLimit.reply === 'mail') return this.hangUp(421, `4.7.0 ${o.name} Error: ${why}`, verb);
          this.pastRate = true;
        }
        const failAt = this.drawTempfail();
        if (failAt === 'MAIL') return this.tempfail(verb);
        this.tempfailAt = failAt;
        this.from = m[1];
        return rule ? this.answerRule(rule, verb) : this.reply(250, '2.1.0 Ok', verb);
      }
      case 'RCPT': {
        const m = /^TO:\s*<([^>]+)>/i.exec(arg);
        if (!m) return this.reply(501, '5.5.4 Syntax: RCPT TO:<address>', verb);
        if (this.from === undefined) return this.reply(503, '5.5.1 Need MAIL command', verb);
        if (this.pastRate)
          return this.reply(
            450,
            `4.7.1 <${m[1]}>: Error: too much mail from ${this.client} (--rate-limit ${rateText(o.rateLimit!)})`,
            verb,
          );
        const rule = this.rule('rcpt', [m[1]!]);
        if (rule && rule.code >= 400) return this.answerRule(rule, verb);
        const rejected = o.rejectRcpt ? boundedTest(o.rejectRcpt, m[1]!) : false;
        // A client's address made --reject-rcpt backtrack past its limit: refused for now, the sink stays up.
        if (rejected === undefined)
          return this.reply(451, `4.3.0 --reject-rcpt took over ${MATCH_LIMIT_MS} ms on this address`, verb);
        if (rejected) {
          this.sink.stats.rejected++;
          return this.reply(550, `5.1.1 <${m[1]}>: Recipient address rejected (--reject-rcpt)`, verb);
        }
        if (o.dropAfter === 'rcpt') return this.drop();
        if (this.tempfailAt === 'RCPT') return this.tempfail(verb);
        this.to.push(m[1]!);
        return rule ? this.answerRule(rule, verb) : this.reply(250, '2.1.5 Ok', verb);
      }
      case 'DATA': {
        const refused = this.refuseMessage();
        if (refused) return this.reply(...refused, verb);
        if (this.bdatUsed)
          return this.reply(503, '5.5.1 DATA after BDAT in the same transaction (RFC 3030); send RSET', verb);
        if (o.dropAfter === 'data') return this.drop();
        this.mode = 'data';
        this.openSpool();
        const lineEnds = this.lineEnds!;
        this.decoder = new DotDecoder((span) => {
          if (!this.spool!.write(lineEnds.take(span))) this.spoolFull = true;
        });
        return this.reply(354, 'End data with <CR><LF>.<CR><LF>', verb);
      }
      case 'BDAT':
        return this.bdat(arg);
      case 'RSET':
        this.resetTransaction();
        return this.reply(250, '2.0.0 Ok', verb);
      case 'NOOP':
        return this.reply(250, '2.0.0 Ok', verb);
      case 'VRFY':
        return this.reply(252, '2.5.2 Cannot VRFY user, but will accept message', verb);
      case 'HELP':
        return this.reply(
          214,
          '2.0.0 smtpkit sink: a test server. Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH',
          verb,
        );
      case 'QUIT':
        return this.bye(verb);
      default:
        return this.reply(500, '5.5.2 Command not recognized', verb);
    }
  }

  /** Why this transaction cannot take a message yet (as a reply), or nothing. */
  private refuseMessage(): [number, string] | undefined {
    if (this.from === undefined) return [503, '5.5.1 Need MAIL command'];
    if (!this.to.length) return [554, '5.5.1 No valid recipients'];
    return undefined;
  }

  /** RFC 3030: the chunk's bytes are always read, even when the answer is a refusal. */
  private bdat(arg: string) {
    const m = /^(\d{1,15})(?:\s+(LAST))?$/i.exec(arg);
    if (!m) return this.reply(501, '5.5.4 Syntax: BDAT size [LAST]', 'BDAT');
    const size = Number(m[1]);
    const last = m[2] !== undefined;
    if (!this.bdatUsed && !this.bdatError) {
      const refused = this.refuseMessage();
      if (refused) this.bdatError = refused;
      else {
        if (this.sink.options.dropAfter === 'data') return this.drop();
        this.bdatUsed = true;
        this.openSpool();
      }
    }
    this.chunk = { remaining: size, last };
    this.mode = 'bdat';
    if (size === 0) this.chunkDone();
  }

  private chunkDone() {
    const { last } = this.chunk!;
    this.chunk = undefined;
    this.mode = 'command';
    if (!this.bdatError && this.spool?.oversized) {
      this.sink.stats.oversized++;
      this.bdatError = [552, `5.3.4 Message size exceeds fixed limit of ${this.sink.options.maxSize} bytes`];
      this.spool.discard();
    }
    if (this.bdatError) {
      this.reply(...this.bdatError, 'BDAT');
      if (last) this.resetTransaction();
      return;
    }
    if (!last) return this.reply(250, `2.0.0 ${this.spool!.size} octets received`, 'BDAT');
    this.finishMessage('BDAT');
  }

  private openSpool() {
    this.spool = new Spool(
      nextQueueId(),
      this.sink.options.maxSize,
      this.sink.options.saveDir,
      this.sink.options.keepMessages,
    );
    this.lineEnds = new LineEndScanner(this.sink.options.bareNewline === 'normalize');
  }

  /** The end of a message: check, save, then (and only then) 250. Input waits meanwhile. */
  private finishMessage(command: '.' | 'BDAT') {
    const spool = this.spool!;
    const lineEnds = this.lineEnds!;
    const tail = lineEnds.end();
    if (tail) spool.write(tail);
    const release = this.block();
    const o = this.sink.options;
    void (async () => {
      try {
        if (o.delayDataMs) await new Promise<void>((resolve) => this.after(o.delayDataMs, resolve));
        if (this.mode === 'closed') return spool.discard();
        if (spool.oversized) {
          this.sink.stats.oversized++;
          spool.discard();
          return this.reply(552, `5.3.4 Message size exceeds fixed limit of ${o.maxSize} bytes`, command);
        }
        if (lineEnds.found) {
          this.sink.stats.bareLineEnds++;
          this.event({ type: 'warning', message: bareNote(lineEnds, o.bareNewline) });
          if (o.bareNewline === 'reject') {
            spool.discard();
            return this.reply(550, `5.5.2 Error: bare <${lineEnds.bareLf ? 'LF' : 'CR'}> received`, command);
          }
        }
        const rule = this.rule('data', this.to);
        if (rule && rule.code >= 400) {
          spool.discard();
          return this.answerRule(rule, command);
        }
        if (this.tempfailAt === 'end') {
          spool.discard();
          return this.tempfail(command);
        }
        const receivedAt = new Date().toISOString();
        let file: string | undefined;
        try {
          file = await spool.commit(() => `${receivedAt.replace(/[:.]/g, '-')}-${spool.id}.eml`);
        } catch (err) {
          this.sink.saveFailed(err as NodeJS.ErrnoException);
          this.event({ type: 'warning', message: `could not save the message: ${(err as Error).message}` });
          return this.reply(451, '4.3.0 Could not save the message; try again later', command);
        }
        // Kept (the HTTP API's store): its header block is read from the kept bytes, not a second copy.
        const raw = o.keepMessages ? spool.body() : undefined;
        const message: SinkMessage = {
          id: spool.id,
          session: this.id,
          from: this.from ?? '',
          to: this.to,
          size: spool.size,
          headers: headers(raw ? raw.subarray(0, HEAD_BYTES) : spool.head()),
          file,
          tls: this.secure,
          user: this.user,
          receivedAt,
          lineEndings: {
            bareLf: lineEnds.bareLf,
            bareCr: lineEnds.bareCr,
            normalized: lineEnds.found && o.bareNewline === 'normalize',
          },
        };
        this.sink.stats.messages++;
        this.sink.stats.bytes += spool.size;
        if (raw) message.raw = raw;
        this.sink.emit('message', message);
        if (rule) this.answerRule(rule, command);
        else this.reply(250, `2.0.0 Ok: queued as ${spool.id}`, command);
      } finally {
        this.resetTransaction();
        release();
      }
    })();
  }

  private authStart(arg: string) {
    const o = this.sink.options;
    const [mech = '', initial] = arg.split(/\s+/);
    if (!o.auth) return this.reply(502, '5.5.1 AUTH not available', 'AUTH');
    if (o.tls && !this.secure)
      return this.reply(538, '5.7.11 Encryption required for requested authentication mechanism', 'AUTH');
    if (this.user) return this.reply(503, '5.5.1 Already authenticated', 'AUTH');
    switch (mech.toUpperCase()) {
      case 'PLAIN':
        if (initial) return this.checkPlain(initial);
        this.mode = 'auth-plain';
        return this.reply(334, '', 'AUTH');
      case 'LOGIN':
        if (initial) {
          this.loginUser = Buffer.from(initial, 'base64').toString();
          this.mode = 'auth-login-pass';
          return this.reply(334, 'UGFzc3dvcmQ6', 'AUTH');
        }
        this.mode = 'auth-login-user';
        return this.reply(334, 'VXNlcm5hbWU6', 'AUTH');
      case 'CRAM-MD5':
        this.cramChallenge = `<${randomBytes(8).toString('hex')}@${o.name}>`;
        this.mode = 'auth-cram';
        return this.reply(334, Buffer.from(this.cramChallenge).toString('base64'), 'AUTH');
      default:
        return this.reply(504, '5.5.4 Unrecognized authentication type', 'AUTH');
    }
  }

  private authStep(line: string) {
    this.event({ type: 'sent', line: REDACTED, command: 'AUTH', redacted: true });
    const mode = this.mode;
    this.mode = 'command';
    if (line.trim() === '*') return this.reply(501, '5.7.0 Authentication cancelled', 'AUTH');
    const decoded = Buffer.from(line, 'base64').toString();
    const o = this.sink.options.auth!;
    if (mode === 'auth-plain') return this.checkPlain(line);
    if (mode === 'auth-login-user') {
      this.loginUser = decoded;
      this.mode = 'auth-login-pass';
      return this.reply(334, 'UGFzc3dvcmQ6', 'AUTH');
    }
    if (mode === 'auth-login-pass')
      return this.authResult(this.loginUser === o.user && decoded === o.pass, this.loginUser);
    const [user = '', digest] = decoded.split(' ');
    return this.authResult(
      user === o.user && digest === createHmac('md5', o.pass).update(this.cramChallenge).digest('hex'),
      user,
    );
  }

  private checkPlain(b64: string) {
    const [, user = '', pass = ''] = Buffer.from(b64, 'base64').toString().split('\0');
    this.authResult(user === this.sink.options.auth!.user && pass === this.sink.options.auth!.pass, user);
  }

  private authResult(ok: boolean, user: string) {
    if (!ok) return this.reply(535, '5.7.8 Authentication credentials invalid', 'AUTH');
    this.user = user;
    this.reply(235, '2.7.0 Authentication successful', 'AUTH');
  }

  private upgrade() {
    const o = this.sink.options;
    const raw = this.socket;
    this.flush(); // the 220 must leave before the handshake takes the connection
    raw.removeAllListeners('data');
    // RFC 3207 §6: anything the client sent before the handshake is thrown away.
    this.inbox = [];
    this.partial = [];
    this.partialSize = 0;
    this.mode = 'handshake';
    const secure = new tls.TLSSocket(raw, { isServer: true, key: o.tls!.key, cert: o.tls!.cert });
    const timer = this.after(o.handshakeTimeoutMs, () => {
      this.event({ type: 'warning', message: `no TLS handshake within ${o.handshakeTimeoutMs / 1000} s: hanging up` });
      raw.destroy();
    });
    secure.on('error', () => raw.destroy());
    secure.on('close', () => this.closed());
    secure.on('secure', () => {
      clearTimeout(timer);
      this.timers.delete(timer);
      if (this.mode === 'closed') return;
      this.secure = true;
      this.mode = 'command';
      this.resetTransaction();
      this.socket = secure as unknown as net.Socket;
      this.attach();
      this.process();
    });
  }

  /**
   * Whether and where the message this MAIL starts fails: one draw per message. Its 451 comes
   * at MAIL, at every RCPT, or at the end of the data, a third of the failures each.
   */
  private drawTempfail(): 'MAIL' | 'RCPT' | 'end' | undefined {
    const rate = this.sink.options.tempfailRate;
    if (!rate) return undefined;
    const r = this.sink.options.random();
    if (r >= rate) return undefined;
    this.sink.stats.tempfailed++;
    const where = r / rate;
    return where < 1 / 3 ? 'MAIL' : where < 2 / 3 ? 'RCPT' : 'end';
  }

  /** The first --rule for this stage and these addresses; a refusal is counted. */
  private rule(stage: RuleStage, addresses: readonly string[]): FaultRule | undefined {
    const rule = matchRule(this.sink.rules, stage, addresses);
    if (rule && rule.code >= 400) this.sink.ruleRefused(rule);
    return rule;
  }

  /** A rule's reply, said to come from the rule; a 421 closes the session, as RFC 5321 §3.8 has it. */
  private answerRule(rule: FaultRule, command: string): void {
    this.event({
      type: 'info',
      message: `--rule ${JSON.stringify(rule.rule)} answers this ${command === '.' ? 'message' : command}`,
    });
    if (rule.code === 421) return this.hangUp(rule.code, rule.text, command);
    this.reply(rule.code, rule.text, command);
  }

  private tempfail(command: string): void {
    this.reply(451, '4.3.0 Temporary failure (--tempfail-rate)', command);
    if (command === '.' || command === 'BDAT') this.resetTransaction();
  }

  private drop() {
    this.event({ type: 'warning', message: `dropping the connection (--drop-after ${this.sink.options.dropAfter})` });
    this.mode = 'closed';
    // What was answered before the drop point still leaves.
    this.flush();
    this.socket.destroy();
  }

  /** Says why, then closes; a client that does not read the reply is cut off after a grace. */
  private hangUp(code: number, text: string, command: string) {
    if (this.mode === 'closed') return;
    if (command === 'idle')
      this.event({ type: 'warning', message: `idle for ${this.sink.options.idleTimeoutMs / 1000} s: hanging up` });
    if (command === 'slow')
      this.event({
        type: 'warning',
        message: `the client sent under ${this.sink.options.minRate} bytes/s (--min-rate): hanging up`,
      });
    if (command === 'early')
      this.event({ type: 'warning', message: 'the client talked before the greeting: refused, its input discarded' });
    this.reply(
      code,
      text,
      command === 'early' ? 'CONNECT' : command === 'idle' || command === 'slow' ? 'UNSOLICITED' : command,
    );
    this.mode = 'closed';
    this.inbox = [];
    this.flush();
    this.socket.end();
    this.socket.resume();
    const socket = this.socket;
    setTimeout(() => socket.destroy(), GRACE_MS).unref();
  }

  /**
   * 221, then close as soon as it is out. Nothing more is read: a client that resets the
   * connection after the 221 (smtp-source does) costs no error; one that does not read its
   * replies still gets the grace period.
   */
  private bye(command: string) {
    this.reply(221, '2.0.0 Bye', command);
    this.mode = 'closed';
    this.inbox = [];
    this.flush();
    const socket = this.socket;
    socket.pause();
    socket.once('finish', () => socket.destroy());
    socket.end();
    if (socket.writableLength > 0) setTimeout(() => socket.destroy(), GRACE_MS).unref();
  }

  private closed() {
    if (this.ended) return;
    this.ended = true;
    this.mode = 'closed';
    this.inbox = [];
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.spool?.discard();
    this.spool = undefined;
    this.sink.sessionClosed(this);
  }

  private resetTransaction() {
    this.from = undefined;
    this.to = [];
    this.spool?.discard();
    this.spool = undefined;
    this.decoder = undefined;
    this.lineEnds = undefined;
    this.bdatUsed = false;
    this.bdatError = undefined;
    this.tempfailAt = undefined;
    this.pastRate = false;
  }

  /** One more reason not to read; the function it returns takes it back (once). */
  private block(): () => void {
    this.blockers++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.blockers--;
      if (this.blockers === 0) this.process();
    };
  }

  private after(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private reply(code: number, text: string, command = '') {
    this.multi(code, [text], command);
  }

  private multi(code: number, lines: string[], command: string) {
    if (this.mode === 'closed' || this.socket.destroyed) return;
    const text =
      lines.length === 1
        ? `${code} ${lines[0]}\r\n`
        : lines.map((l, i) => `${code}${i < lines.length - 1 ? '-' : ' '}${l}\r\n`).join('');
    if (this.batch === undefined) this.send(text);
    else if ((this.batch += text).length > BATCH_LIMIT) this.flush();
    if (this.sink.options.transcript) {
      const enhanced = /^([245])\.\d{1,3}\.\d{1,3}(?=\s|$)/.exec(lines[0] ?? '');
      const reply: Reply = {
        code,
        enhanced: enhanced && Number(enhanced[1]) === Math.floor(code / 100) ? enhanced[0] : null,
        lines,
      };
      this.event({ type: 'reply', reply, command });
    }
  }

  /** Writes the gathered replies. */
  private flush() {
    const text = this.batch;
    this.batch = this.processing ? '' : undefined;
    if (text) this.send(text);
  }

  private send(text: string) {
    if (this.socket.destroyed) return;
    this.spoke = true;
    const fits = this.socket.write(text);
    // Backpressure: a client that does not read its replies gets no more of our attention.
    if (!fits && !this.outputBlocked) {
      this.outputBlocked = true;
      const release = this.block();
      this.socket.once('drain', () => {
        this.outputBlocked = false;
        release();
      });
    }
  }

  private event(e: Record<string, unknown>) {
    if (!this.sink.options.transcript) return;
    this.sink.emit('event', this.id, { t: Date.now() - this.started, tls: this.secure, ...e } as SmtpEvent);
  }
}

/** What the transcript says of a message with bare line ends, and what became of it. */
function bareNote(e: LineEndScanner, mode: string): string {
  const done =
    mode === 'reject'
      ? 'refused with 550 5.5.2 (--bare-newline reject)'
      : mode === 'normalize'
        ? 'saved with CRLF in their place (--bare-newline normalize)'
        : 'saved as sent (--bare-newline note)';
  return `the message has ${bareLineEndsText(e)} line end(s), which RFC 5321 §2.3.8 forbids: a hardened MTA (Postfix smtpd_forbid_bare_newline = reject) refuses it, and servers may read it apart (SMTP smuggling); ${done}`;
}

function headers(data: Buffer): Array<[string, string]> {
  const end = data.indexOf('\r\n\r\n');
  const block = data.toString('utf8', 0, end < 0 ? data.length : end);
  const out: Array<[string, string]> = [];
  for (const line of block.split('\r\n')) {
    if (/^[ \t]/.test(line) && out.length) out[out.length - 1]![1] += ` ${line.trim()}`;
    else {
      const colon = line.indexOf(':');
      if (colon > 0) out.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
    }
  }
  return out;
}
