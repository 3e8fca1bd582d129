import { now } from '../util/clock.js';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { SmtpkitError, usageError, type FailureKind } from '../errors.js';
import { hasExtension, heloCapabilities, parseEhlo, type Capabilities } from '../protocol/capabilities.js';
import { assertSingleLine, commandVerb } from '../protocol/command.js';
import { isPositive, replyText, type Reply } from '../protocol/reply.js';
import { formatTarget } from '../protocol/target.js';
import { Connection, type ConnectionHooks, type Socket } from './connection.js';
import type { EventBody, EventSink, SmtpEvent, Timings } from './events.js';
import type { TlsFacts } from './tls-facts.js';
import type { Timeouts } from './timeouts.js';
import { namesThisHost, thisHostReason } from '../util/this-host.js';
import { describeTimeout } from '../util/duration.js';

/** Replies an interactive session shows between two commands before it calls it a flood. */
export const MAX_IDLE_REPLIES = 20;

/** Failures that make a session's verdict a lie if ignored; a plain close or reset after the last reply does not. */
const BREAKS_VERDICT = new Set<FailureKind>(['unsolicited', 'flood', 'malformed']);

export interface TlsSettings {
  /** Name to send as SNI; undefined = the host when it is a name, false = none. */
  sni: string | false | undefined;
  /** Extra trusted CA certificates (PEM), added to the system roots. */
  ca: string | undefined;
  minVersion: ConnectionOptions['minVersion'];
  maxVersion: ConnectionOptions['maxVersion'];
  cert: string | undefined;
  key: string | undefined;
  /** Fail (exit 6) on an untrusted chain or a name mismatch instead of warning. */
  verify: boolean;
}

/**
 * A second opinion on the presented certificate, asked after the handshake and before
 * --tls-verify judges it (DANE, RFC 7672 §3.1.1). It may vouch for the chain (trust from
 * a DNSSEC-validated TLSA record, not a CA) and may waive the name check (DANE-EE);
 * undefined leaves the judgement to PKIX; throwing fails the session.
 */
export type CertificateJudge = (
  chain: Buffer[],
  facts: TlsFacts,
  host: string,
) => Promise<CertificateVerdict | undefined>;

export interface CertificateVerdict {
  /** Who vouches, for the transcript: "DANE-EE (3)". */
  by: string;
  /** The name is not checked at all (DANE-EE); otherwise it must match as usual. */
  nameWaived: boolean;
}

/** What an interactive session hears between commands. */
export type IdleWatcher = (
  event: { kind: 'reply'; reply: Reply } | { kind: 'closed'; error: SmtpkitError | undefined },
) => void;

export interface CommandOptions {
  phase?: string;
  /** What the transcript shows instead of the line (a secret). */
  shown?: string;
  /** The command the line belongs to, when the line is not a command (an AUTH response). */
  verb?: string;
}

export interface SessionOptions {
  host: string;
  /** MX mode: the hosts and addresses to try in order, instead of resolving `host`. */
  candidates?: Array<{ host: string; address: string }>;
  port: number;
  family: 4 | 6 | undefined;
  localAddress: string | undefined;
  tlsOnConnect: boolean;
  /** submission://: the session must go on over STARTTLS (`--starttls auto` acts as `always`). */
  requireStartTls?: boolean;
  ehloName: string;
  timeouts: Timeouts;
  tls: TlsSettings;
  /** Emit raw events with the bytes on the wire (may change during a session). */
  raw: boolean;
  /** Consulted on every handshake (--dane). */
  judgeCertificate?: CertificateJudge;
  /** false: never ask a silent port whether it wants implicit TLS (load mode's thousands of connections). */
  sniffImplicitTls?: boolean;
}

/**
 * One SMTP conversation, strictly lock-step: nothing is sent before the greeting, and
 * each command waits for its reply. Every step is reported as an event; failures throw
 * SmtpkitError. Commands script a session; they never touch sockets themselves.
 */
export class SmtpSession {
  readonly timings: Timings = {};
  capabilities: Capabilities | undefined;
  tls: TlsFacts | undefined;
  /** The presented chain (DER), for checks such as DANE. */
  certificates: Buffer[] = [];
  /** The port sent no greeting but answered TLS, so the session moved to implicit TLS unasked. */
  implicitTlsDetected = false;
  /** Set when judgeCertificate vouched for the last handshake's certificate. */
  certificateVerdict: CertificateVerdict | undefined;
  private connection: Connection | undefined;
  private candidates: Array<{ host: string; address: string }> | undefined;
  private judge: CertificateJudge | undefined;
  private readonly started = now();
  /** True between a complete reply and the next command: only then may QUIT be sent. */
  private inStep = true;
  /** The command whose reply is being read ('CONNECT' for the greeting): what replied() names. */
  private awaited = 'CONNECT';
  private greeted = false;
  private readonly running: string[] = [];
  /** Lines written for this session before it had the connection (adopt), whose replies are owed. */
  private written: string[] = [];
  /** Replies shown to an interactive session since its last command. */
  private idleReplies = 0;
  /** QUIT has gone out: nothing more is written (a second QUIT would meet a closed session). */
  private quitSent = false;
  /** QUIT went with the end of a message (sendMessage) and its 221 is still to be read, by quit(). */
  private quitOwed = false;
  private peerHost: string | undefined;
  /** Set by interactive use: replies that arrive between commands are shown, not queued. */
  private idleWatcher: IdleWatcher | undefined;
  /**
   * Set when the server broke the protocol while no command was waiting (a reply nobody asked
   * for, a flood, garbage): a command that already had its answers must not report success.
   */
  brokenBy: SmtpkitError | undefined;
  /**
   * Given up on for good by abandon(): a connection still being opened closes as it opens.
   * Made only for sessions someone watches (a person can give up only on those): load mode's
   * thousands of sessions would pay an AbortController and its listeners each.
   */
  private abandonment: AbortController | undefined;
  /** A TLS handshake is under way (what `awaiting` reports). */
  private handshaking = false;

  constructor(
    readonly options: SessionOptions,
    /** Undefined: nobody listens (load mode), so no event is even made. */
    private readonly sink: EventSink | undefined,
  ) {}

  get isOpen(): boolean {
    return this.connection?.isOpen ?? false;
  }

  get isTls(): boolean {
    return this.connection?.isTls ?? false;
  }

  /**
   * What the session waits for from the server right now: the reply to a command (its
   * verb; '.' for the end of a message), the TLS handshake, or nothing.
   */
  get awaiting(): { reply: string } | { handshake: true } | undefined {
    if (!this.isOpen) return undefined;
    if (this.handshaking) return { handshake: true };
    return this.inStep ? undefined : { reply: this.awaited };
  }

  /**
   * Connect to these hosts and addresses in turn instead of `options.host` (a domain's MX
   * hosts, found after the session began so the look-up is part of its transcript).
   */
  useCandidates(candidates: Array<{ host: string; address: string }>): void {
    this.candidates = candidates;
  }

  /** Judge each handshake's certificate so (DANE, set before connecting), instead of the options' judgeCertificate. */
  judgeCertificatesWith(judge: CertificateJudge): void {
    this.judge = judge;
  }

  /** Whether the session goes to a domain's MX hosts (given in its options or found since). */
  get viaMx(): boolean {
    return (this.candidates ?? this.options.candidates) !== undefined;
  }

  /**
   * Resolves, connects (with TLS at once for implicit TLS) and reads the greeting. With
   * `candidates` (MX hosts), moves on to the next one after a failed connection or a
   * temporary (4xx) greeting, as a sending MTA would (RFC 5321 §5.1).
   */
  async connect(): Promise<Reply> {
    const { host, port, family } = this.options;
    // Handed over by load mode's lean executor: already connected, its replies in hand.
    if (this.connection) {
      this.peerHost = host;
      return this.greet(host);
    }
    const mx = this.candidates ?? this.options.candidates;
    // An address literal needs no lookup: load mode (unobserved) skips even the dns phase.
    const literal =
      !this.sink && !mx && isIP(host) && (!family || isIP(host) === family) ? [{ host, address: host }] : undefined;
    const candidates =
      mx ??
      literal ??
      (await this.phase('dns', () => this.resolve(host, family))).map((address) => ({ host, address }));
    let lastError: SmtpkitError | undefined;
    for (const [i, c] of candidates.entries()) {
      const last = i === candidates.length - 1;
      this.peerHost = c.host;
      if (this.sink)
        this.emit({
          type: 'info',
          message: `Connecting to ${formatTarget(c.address, port)}${c.address !== c.host ? ` (${c.host})` : ''}`,
        });
      try {
        this.connection = await this.phase('connect', () => this.open(c.address));
      } catch (err) {
        lastError = err as SmtpkitError;
        if (!last)
          this.emit({
            type: 'warning',
            message: `${formatTarget(c.address, port)}: ${lastError.message}${mx ? '; trying the next MX address' : ''}`,
          });
        continue;
      }
      if (this.sink) {
        const { local, remote } = this.connection;
        this.emit({
          type: 'connected',
          remoteAddress: remote.address,
          remotePort: remote.port,
          localAddress: local.address,
          localPort: local.port,
        });
      }
      if (!mx || last) return this.greet(c.address);
      try {
        const greeting = await this.greet(c.address);
        return greeting;
      } catch (err) {
        // A sending MTA moves on past an unreachable host or a temporary (4xx) greeting.
        const transient =
          err instanceof SmtpkitError &&
          err.phase === 'banner' &&
          !!err.reply &&
          err.reply.code >= 400 &&
          err.reply.code < 500;
        if (!(err instanceof SmtpkitError) || !(err.errorClass === 'connect' || transient)) throw err;
        this.emit({ type: 'warning', message: `${c.host} (${c.address}): ${err.message}; trying the next MX address` });
        await this.quit();
        this.connection = undefined;
        this.greeted = false;
        this.inStep = true;
      }
    }
    throw cannotConnect(mx ? `any MX host of ${host}` : formatTarget(host, port), lastError?.message ?? 'no address');
  }

  /**
   * A session over a connection load mode's lean executor opened and ran until a reply it
   * did not expect (or a close): `received` is every byte the server sent for the greeting,
   * EHLO and the message in hand, `written` the lines sent after the greeting ('.' for a
   * message and its end). The session reads their replies from those bytes as if it had
   * sent them itself; the same calls as on a fresh session (connect, ehlo, the transaction)
   * send each written line no second time, so the verdict is the session's own.
   */
  static adopt(
    options: SessionOptions,
    sink: EventSink | undefined,
    socket: Socket,
    received: Buffer[],
    written: string[],
    ended?: Error | true,
  ): SmtpSession {
    const session = new SmtpSession(options, sink);
    session.written = [...written];
    session.connection = Connection.adopt(socket, session.connectionHooks(), received, 1 + written.length, ended);
    return session;
  }

  private async open(address: string): Promise<Connection> {
    const signal = this.sink ? (this.abandonment ??= new AbortController()).signal : undefined;
    const connection = await Connection.open(
      {
        address,
        port: this.options.port,
        localAddress: this.options.localAddress,
        timeoutMs: this.options.timeouts.connect,
        signal,
      },
      this.connectionHooks(),
    );
    // Abandoned as it connected: nothing more goes out, not even on a second connection.
    if (this.abandonment?.signal.aborted) {
      connection.destroy();
      throw new SmtpkitError('connect', 'the session was abandoned', 'connect', { kind: 'interrupted' });
    }
    return connection;
  }

  private connectionHooks(): ConnectionHooks {
    return {
      // Read at each write, so an interactive session can switch it on and off.
      onRaw: (direction, data) => this.emit({ type: 'raw', direction, data }),
      wantsRaw: () => this.options.raw && !!this.sink,
      onReply: (reply) => this.replied(reply),
      onIdleReply: (reply) => this.idleReply(reply),
      onFailure: (error) => {
        // Nobody was waiting, so no command will throw it: kept for the verdict.
        if (error && BREAKS_VERDICT.has(error.kind)) this.brokenBy ??= error;
        this.idleWatcher?.({ kind: 'closed', error });
      },
    };
  }

  /** The host name connected to: the MX host in MX mode (TLS names are checked against it). */
  get currentHost(): string {
    return this.peerHost ?? this.options.host;
  }

  /** The address connected to ('' before connecting): what the TLS scan's own handshakes dial. */
  get remoteAddress(): string {
    return this.connection?.remote.address ?? '';
  }

  private async greet(address: string): Promise<Reply> {
    if (this.options.tlsOnConnect) await this.handshake();
    const greeting = await this.readGreeting(address);
    this.greeted = true;
    if (!isPositive(greeting)) {
      throw new SmtpkitError(
        'protocol',
        `the server refused the session at the greeting: ${greeting.code} ${replyText(greeting)}`,
        'banner',
        { reply: greeting },
      );
    }
    return greeting;
  }

  /**
   * The greeting; on a port other than 25 and 587, a server still silent after a short
   * wait is asked on a second connection whether it speaks TLS. If it does, this session
   * moves to implicit TLS on a new connection and says so, instead of waiting out the
   * greeting timeout (src/session/implicit-tls.ts).
   */
  private async readGreeting(address: string): Promise<Reply> {
    const timeoutMs = this.options.timeouts.greeting;
    if (this.options.sniffImplicitTls === false)
      return this.phase('banner', () =>
        this.read('the greeting', timeoutMs, 'CONNECT', 'banner', () => this.noGreeting(timeoutMs, undefined)),
      );
    const { IMPLICIT_TLS_SNIFF_MS, PLAINTEXT_PORTS, answersTls } = await import('./implicit-tls.js');
    const { port } = this.options;
    let sniffed: boolean | undefined;
    const silent = () => {
      // Render words the advice: the greeting timeout, and whether this port may want TLS at once.
      const spoke = (this.connection?.bytesIn ?? 0) > 0;
      return this.noGreeting(
        timeoutMs,
        this.isTls || spoke || PLAINTEXT_PORTS.has(port) ? undefined : sniffed === false ? 'not' : 'maybe',
      );
    };
    const read = () => this.read('the greeting', timeoutMs, 'CONNECT', 'banner', silent);
    if (this.isTls || PLAINTEXT_PORTS.has(port) || timeoutMs <= IMPLICIT_TLS_SNIFF_MS)
      return this.phase('banner', read);
    let answered = false;
    const greeting = read().finally(() => (answered = true));
    greeting.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const sniff = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        if (answered || (this.connection?.bytesIn ?? 0) > 0) return resolve(false);
        // The same server name as the real handshake sends (A-labels, none for an IP literal).
        serverName(this.currentHost, this.options.tls.sni)
          .then(({ sni }) =>
            answersTls(
              address,
              port,
              sni,
              Math.min(this.options.timeouts.tls, 5000, Math.max(250, (timeoutMs - IMPLICIT_TLS_SNIFF_MS) / 2)),
            ),
          )
          .then((tls) => {
            sniffed = tls;
            resolve(tls && !answered);
          });
      }, IMPLICIT_TLS_SNIFF_MS);
    });
    let waited = 0;
    const first = await this.phase('banner', async () => {
      const start = now();
      const winner = await Promise.race([
        greeting.then(
          () => 'greeting' as const,
          () => 'greeting' as const,
        ),
        sniff.then((tls) => (tls ? ('tls' as const) : undefined)),
      ]);
      // The check said no: the wait goes on, and all of it is the server's.
      if (winner !== 'tls') await greeting.catch(() => {});
      waited = now() - start;
      return winner;
    });
    clearTimeout(timer);
    if (first !== 'tls') return greeting;
    // The silence was the server waiting for TLS and the time ours, looking: not greeting time.
    this.movePhaseTime('banner', 'implicit-tls-detect', waited);
    this.emit({
      type: 'warning',
      message: `no greeting after ${describeTimeout(IMPLICIT_TLS_SNIFF_MS)}, but port ${port} answers TLS: it expects implicit TLS; continuing over TLS on a new connection`,
      hint: { kind: 'implicit-tls-found' },
    });
    this.connection?.destroy();
    this.connection = await this.phase('connect', () => this.open(address));
    this.implicitTlsDetected = true;
    await this.handshake();
    return this.phase('banner', read);
  }

  /** Books `ms` of one phase's time under another name (kept only for observed sessions). */
  private movePhaseTime(from: string, to: string, ms: number): void {
    if (!this.sink) return;
    this.timings[from] = Math.max(0, Math.round(((this.timings[from] ?? 0) - ms) * 10) / 10);
    this.timings[to] = Math.round(((this.timings[to] ?? 0) + ms) * 10) / 10;
  }

  private noGreeting(timeoutMs: number, implicitTls: 'not' | 'maybe' | undefined): SmtpkitError {
    return noGreetingError(timeoutMs, implicitTls);
  }

  /**
   * Sends one line and reads its reply. `shown` replaces the line in the transcript and in
   * -v output (secrets); `verb` names the command when the line is not one (AUTH steps).
   */
  command(line: string, opts: CommandOptions = {}): Promise<Reply> {
    let verb: string;
    try {
      verb = this.sendLines([{ line, ...opts }])[0]!;
    } catch (err) {
      // Failures come as a rejection, as from any command.
      return Promise.reject(err);
    }
    const read = () => this.readFor(verb, this.options.timeouts.command, opts.phase);
    return opts.phase ? this.phase(opts.phase, read) : read();
  }

  /**
   * Sends several commands in one write and reads their replies in order (RFC 2920
   * PIPELINING; with one command it is plain lock-step).
   */
  pipeline(commands: Array<{ line: string } & CommandOptions>, phase?: string): Promise<Reply[]> {
    let verbs: string[];
    try {
      verbs = this.sendLines(commands);
    } catch (err) {
      return Promise.reject(err);
    }
    const run = async () => {
      const replies: Reply[] = [];
      for (const verb of verbs)
        replies.push(await this.readFor(verb, this.options.timeouts.command, phase, verbs, replies.length));
      return replies;
    };
    return phase ? this.phase(phase, run) : run();
  }

  /** Writes command lines in one write, reporting each; returns their verbs. */
  private sendLines(commands: Array<{ line: string } & CommandOptions>): string[] {
    const connection = this.requireConnection();
    // The last guard before the wire, for callers that skip the CLI's checks (the library).
    for (const c of commands) assertSingleLine(c.line, 'a command line');
    this.idleReplies = 0;
    const verbs = commands.map((c) => c.verb ?? commandVerb(c.line));
    if (verbs.includes('QUIT')) this.quitSent = true;
    // Lines load mode's lean executor already wrote (adopt): their replies are owed already.
    let skip = 0;
    while (skip < commands.length && this.written[0] !== undefined) {
      if (this.written[0] !== commands[skip]!.line) throw new Error('bug: a handed-over session strays from its plan');
      this.written.shift();
      skip++;
    }
    if (this.sink) {
      commands.forEach((c, i) => {
        this.emit({
          type: 'sent',
          line: c.shown ?? c.line,
          command: verbs[i]!,
          ...(c.shown !== undefined ? { redacted: true } : {}),
        });
      });
    }
    if (skip < commands.length) {
      const rest = skip ? commands.slice(skip) : commands;
      connection.write(
        rest.map((c) => c.line),
        rest.map((c) => c.shown ?? c.line),
      );
    }
    return verbs;
  }

  /**
   * Streams the message after a 354 (`chunks` already CRLF-normalised and dot-stuffed,
   * ending with the terminating dot) and reads the final reply. The last chunk is held
   * back until the source ends, so the final reply is owed from the moment it is written.
   * `quit` sends QUIT with the dot; its 221 is left for quit() to read (the caller checked PIPELINING).
   */
  async sendMessage(
    chunks: AsyncIterable<Buffer> | Buffer,
    summary: string,
    opts: { quit?: boolean } = {},
  ): Promise<Reply> {
    const connection = this.requireConnection();
    const timeoutMs = this.options.timeouts.command;
    const stalled = () => stalledError(timeoutMs);
    this.inStep = false;
    // From the first byte of the message on, the wait is for the reply to its end.
    this.awaited = '.';
    connection.beginMessage();
    // Already written by load mode's lean executor (adopt), QUIT with it if asked.
    const written = this.written[0] === '.' && (!opts.quit || this.written[1] === 'QUIT');
    if (written) this.written.splice(0, opts.quit ? 2 : 1);
    else if (this.written.length) throw new Error('bug: a handed-over session strays from its plan');
    await this.phase('message', async () => {
      if (written) return connection.checkUnsolicited('the message');
      let held: Buffer | undefined;
      // A message encoded once (load mode) goes in one write; a stream goes chunk by chunk.
      if (Buffer.isBuffer(chunks)) held = chunks;
      else {
        for await (const chunk of chunks) {
          if (held) await connection.writeData(held, timeoutMs, stalled);
          held = chunk;
        }
      }
      const last = held ?? Buffer.alloc(0);
      await connection.writeData(last, timeoutMs, stalled, opts.quit ? 2 : 1, opts.quit ? QUIT_LINE : undefined);
      connection.checkUnsolicited('the message');
    });
    this.emit({ type: 'sent', line: summary, command: '.' });
    if (opts.quit) {
      this.quitSent = true;
      this.emit({ type: 'sent', line: 'QUIT', command: 'QUIT' });
    }
    const final = await this.phase('message-reply', () => this.readFor('.', timeoutMs, 'data'));
    // The 221 is read by quit(): the message's outcome (and load mode's latency) is the reply
    // to the dot, and a server slow to say goodbye must not stretch it.
    if (opts.quit) this.quitOwed = true;
    return final;
  }

  /** One BDAT chunk (RFC 3030): the command, its bytes, its reply. */
  async bdat(chunk: Buffer, last: boolean): Promise<Reply> {
    const connection = this.requireConnection();
    const line = `BDAT ${chunk.length}${last ? ' LAST' : ''}`;
    this.emit({ type: 'sent', line: `${line}  [+${chunk.length} bytes]`, command: 'BDAT' });
    connection.write([line]);
    const timeoutMs = this.options.timeouts.command;
    this.inStep = false;
    this.awaited = 'BDAT';
    connection.beginMessage();
    await connection.writeData(
      chunk,
      timeoutMs,
      () =>
        new SmtpkitError('protocol', `the server stopped taking BDAT data for ${describeTimeout(timeoutMs)}`, 'data', {
          kind: 'timeout',
          hint: { kind: 'timeout', wait: 'command' },
        }),
    );
    connection.checkUnsolicited('the message');
    return this.phase('message', () => this.readFor('BDAT', timeoutMs, 'data'));
  }

  /** EHLO, falling back to HELO when the server refuses EHLO with a 5xx. */
  async ehlo(phase = 'ehlo'): Promise<Capabilities> {
    const name = this.options.ehloName;
    const reply = await this.command(`EHLO ${name}`, { phase });
    let caps: Capabilities;
    if (isPositive(reply)) {
      caps = parseEhlo(reply);
    } else if (reply.code >= 500) {
      this.emit({ type: 'info', message: 'EHLO refused; falling back to HELO (no extensions will be available)' });
      const helo = await this.command(`HELO ${name}`, { phase: 'helo' });
      if (!isPositive(helo))
        throw new SmtpkitError(
          'protocol',
          `the server refused both EHLO and HELO: ${helo.code} ${replyText(helo)}`,
          'helo',
        );
      caps = heloCapabilities(helo);
    } else {
      throw new SmtpkitError('protocol', `the server refused EHLO: ${reply.code} ${replyText(reply)}`, phase);
    }
    this.capabilities = caps;
    this.emit({ type: 'capabilities', capabilities: caps });
    return caps;
  }

  /** STARTTLS, the handshake, and EHLO again (RFC 3207 §4.2: forget what was learnt before). */
  async starttls(): Promise<TlsFacts> {
    const before = this.capabilities;
    if (before && !hasExtension(before, 'STARTTLS')) {
      throw new SmtpkitError(
        'tls',
        'the server does not offer STARTTLS (it is not in the EHLO reply)',
        'starttls',
        this.options.port === 465 ? {} : { hint: { kind: 'implicit-tls' } },
      );
    }
    // Whatever follows the 220 in plaintext is dropped unread (RFC 3207 §6).
    this.requireConnection().handOffAfterNextReply(true);
    const reply = await this.command('STARTTLS', { phase: 'starttls' });
    // Refused: the session goes on in plaintext, and what followed the reply is read as usual.
    if (reply.code !== 220) this.requireConnection().handOffAfterNextReply(false);
    if (reply.code !== 220)
      throw new SmtpkitError('tls', `the server refused STARTTLS: ${reply.code} ${replyText(reply)}`, 'starttls', {
        reply,
      });
    const facts = await this.handshake();
    // The renderers show what changed; JSON has capabilitiesBeforeTls.
    await this.ehlo('ehlo-tls');
    return facts;
  }

  /**
   * QUIT and close. Skipped (just close) before the greeting, or when a reply is still
   * outstanding: after a timeout the next reply would answer the wrong command. `reset`
   * ends a plain connection with a RST once the 221 is in (load mode; see Connection.destroy).
   */
  async quit(opts: { reset?: boolean } = {}): Promise<void> {
    if (this.quitOwed) {
      this.quitOwed = false;
      // QUIT went with the message's end: only its reply is left to read.
      if (this.isOpen)
        await this.phase('quit', () => this.readFor('QUIT', this.options.timeouts.command, 'quit')).catch(() => {});
      return this.close(opts.reset);
    }
    if (!this.isOpen || !this.greeted || !this.inStep || this.quitSent) return this.close(opts.reset);
    try {
      await this.command('QUIT', { phase: 'quit' });
    } catch {
      // The session's outcome is already decided; a missing 221 changes nothing.
    }
    this.close(opts.reset);
  }

  /**
   * For interactive use: from now on, a reply that arrives while no command waits (a 421
   * on idle timeout) is emitted at once as UNSOLICITED, and a close is reported.
   */
  watchIdle(watcher: IdleWatcher): void {
    this.idleWatcher = watcher;
  }

  /** Sends a line that gets no reply of its own (message text after a 354). */
  send(line: string, verb = 'MESSAGE'): void {
    assertSingleLine(line, 'a message line');
    this.emit({ type: 'sent', line, command: verb });
    this.requireConnection().write([line]);
  }

  /**
   * A reply no command asked for: shown in the transcript; taken only by an interactive
   * session, and only a few between two commands (a flood ends the session, never fills memory).
   */
  private idleReply(reply: Reply): boolean {
    const taken = !!this.idleWatcher && this.inStep && ++this.idleReplies <= MAX_IDLE_REPLIES;
    // Told first, so an interactive prompt can step aside before the reply is shown.
    if (taken) this.idleWatcher!({ kind: 'reply', reply });
    this.emit({ type: 'reply', reply, command: 'UNSOLICITED' });
    return taken;
  }

  close(reset = false): void {
    this.connection?.destroy(reset);
  }

  /**
   * Gives up on the session for good, sending nothing more (a person stopped a wait): the
   * connection closes now, and one still being opened stops. A reply abandoned leaves the
   * conversation out of step, so there is no going on, and no QUIT.
   */
  abandon(): void {
    (this.abandonment ??= new AbortController()).abort();
    this.close();
  }

  /** Someone listens to events: callers may skip building ones nobody would see. */
  get observed(): boolean {
    return !!this.sink;
  }

  emit(event: EventBody): void {
    if (!this.sink) return;
    this.sink({ t: this.elapsed(), tls: this.isTls, ...event } as SmtpEvent);
  }

  elapsed(): number {
    return Math.round((now() - this.started) * 10) / 10;
  }

  private async handshake(): Promise<TlsFacts> {
    const connection = this.requireConnection();
    const { tls } = this.options;
    // An internationalized name goes in SNI and is checked on the certificate as its A-labels
    // (RFC 6066 §3): a certificate names mx.xn--bcher-kva.test, never mx.bücher.test.
    const { host, typedSni, sni } = await serverName(this.currentHost, tls.sni);
    const dropped = connection.dropPlaintext();
    if (dropped.bytes) {
      this.emit({
        type: 'warning',
        message: `the server sent ${dropped.bytes} bytes after its 220 and before TLS; discarded unread (RFC 3207 §6): ${JSON.stringify(dropped.text.slice(0, 80))}`,
      });
    }
    // Loaded here, not at start-up: a session without TLS never pays for tls and crypto.
    const [{ secureContext }, { curedByACa, peerCertificate, peerChain, tlsFacts }] = await Promise.all([
      import('./secure-context.js'),
      import('./tls-facts.js'),
    ]);
    // Built before the handshake's clock starts: the first context of a run reads every
    // trusted root (~25 ms of CPU on Node 20), smtpkit's time, not the server's.
    const context = secureContext(tls);
    this.handshaking = true;
    const socket = await this.phase('tls', () =>
      connection.startTls({ servername: sni, secureContext: context }, this.options.timeouts.tls, offeredVersions(tls)),
    ).finally(() => (this.handshaking = false));
    const peer = peerCertificate(socket);
    const facts = tlsFacts(socket, typedSni || host, sni, peer);
    this.tls = facts;
    this.certificates = peerChain(peer);
    this.emit({ type: 'tls', facts });
    const judge = this.judge ?? this.options.judgeCertificate;
    const verdict = (this.certificateVerdict = await judge?.(this.certificates, facts, host));
    const trusted = facts.trusted || !!verdict;
    const nameOk = facts.nameMatches || !!verdict?.nameWaived;
    const untrusted = trusted ? '' : `the certificate is not trusted: ${facts.trustError}`;
    const problems = [
      untrusted,
      nameOk ? '' : `the certificate does not match ${facts.nameChecked}: ${facts.nameError}`,
    ].filter(Boolean);
    // Another CA (--ca-file) cures some trust failures, never a name mismatch or an expired certificate.
    const caFile = !trusted && curedByACa(facts);
    if (problems.length && tls.verify)
      throw new SmtpkitError('tls', problems.join('; '), 'tls', caFile ? { hint: { kind: 'ca-file' } } : {});
    for (const p of problems)
      this.emit({
        type: 'warning',
        message: p,
        hint: { kind: 'tls-verify', ...(caFile && p === untrusted ? { caFile } : {}) },
      });
    return facts;
  }

  /**
   * The reply to `verb`. In a pipelined batch (`batch`, `index` replies already in), a
   * timeout names how many replies of the batch never came.
   */
  private readFor(
    verb: string,
    timeoutMs: number,
    phase: string | undefined,
    batch?: string[],
    index = 0,
  ): Promise<Reply> {
    return this.read(`the reply to ${verb}`, timeoutMs, verb, phase, () =>
      noReplyError(verb, timeoutMs, phase, batch, index),
    );
  }

  private read(
    what: string,
    timeoutMs: number,
    command: string,
    phase: string | undefined,
    onTimeout: () => SmtpkitError,
  ): Promise<Reply> {
    this.inStep = false;
    this.awaited = command;
    // Shown by replied() as the connection hands it over; here a failure is told in its phase.
    const reply = this.requireConnection().readReply(timeoutMs, what, onTimeout);
    return phase
      ? reply.catch((err: unknown) => Promise.reject(err instanceof SmtpkitError ? err.inPhase(phase) : err))
      : reply;
  }

  /**
   * The awaited reply, told at once as it is handed over (not a promise turn later): a reply
   * nobody asked for that came after it on the wire is then shown after it, and an
   * interactive session already counts as between commands.
   */
  private replied(reply: Reply) {
    this.inStep = true;
    if (this.sink) this.emit({ type: 'reply', reply, command: this.awaited });
  }

  private async resolve(host: string, family: 4 | 6 | undefined): Promise<string[]> {
    const literal = isIP(host);
    if (literal) {
      if (family && literal !== family)
        throw new SmtpkitError('usage', `${host} is an IPv${literal} address but -${family} was given`);
      return [host];
    }
    const timeoutMs = this.options.timeouts.connect;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new SmtpkitError('dns', `looking up ${host} took longer than ${describeTimeout(timeoutMs)}`, 'dns')),
        timeoutMs,
      );
    });
    try {
      const { lookup } = await import('node:dns/promises');
      const found = (await Promise.race([lookup(host, { all: true, family: family ?? 0 }), timeout])).map(
        (a) => a.address,
      );
      // A name is not an address the user typed: one whose answer means "this host" (a hostile
      // DNS, or "0x0" read as 0.0.0.0) would reach whatever listens on this machine, and the
      // exporter's modules log in to the names a scrape picks.
      const usable = found.filter((a) => !namesThisHost(a));
      if (!usable.length)
        throw new SmtpkitError(
          'dns',
          `cannot use ${host}: ${thisHostReason(found)} (give 127.0.0.1 to mean it)`,
          'dns',
        );
      return usable;
    } catch (err) {
      if (err instanceof SmtpkitError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOTFOUND'
          ? family
            ? `no IPv${family} address found`
            : 'no such host'
          : code === 'EAI_AGAIN'
            ? 'the DNS lookup failed temporarily'
            : code === 'ENODATA'
              ? `no IPv${family ?? ''} address`
              : (err as Error).message;
      throw new SmtpkitError('dns', `cannot resolve ${host}: ${why}${code ? ` (${code})` : ''}`, 'dns');
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs `fn` as one named phase of the timings (work between commands included). */
  timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.phase(name, fn);
  }

  /** The phase running now (the innermost), for callers that must say where a deadline struck. */
  get currentPhase(): string | undefined {
    return this.running.at(-1);
  }

  /**
   * Runs one named phase and adds its duration to the timings (a phase may run twice).
   * Unobserved sessions (load mode: no events, no timings shown) skip the bookkeeping.
   */
  private phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.sink ? this.timedPhase(name, fn) : fn();
  }

  private async timedPhase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const start = now();
    this.running.push(name);
    try {
      return await fn();
    } finally {
      this.running.splice(this.running.lastIndexOf(name), 1);
      this.timings[name] = Math.round(((this.timings[name] ?? 0) + now() - start) * 10) / 10;
    }
  }

  private requireConnection(): Connection {
    if (!this.connection) throw new Error('bug: no connection (connect() first)');
    return this.connection;
  }
}

/** A server silent past the greeting timeout; `implicitTls` says whether the port may want TLS at once. */
export function noGreetingError(timeoutMs: number, implicitTls?: 'not' | 'maybe'): SmtpkitError {
  return new SmtpkitError(
    'connect',
    `the server accepted the connection but sent no greeting within ${describeTimeout(timeoutMs)}`,
    'banner',
    { kind: 'timeout', hint: { kind: 'timeout', wait: 'greeting', ...(implicitTls ? { implicitTls } : {}) } },
  );
}

/**
 * No reply to `verb` within the command timeout; in a pipelined batch (`batch`, `index`
 * replies already in), says how many replies of the batch never came.
 */
export function noReplyError(
  verb: string,
  timeoutMs: number,
  phase: string | undefined,
  batch?: string[],
  index = 0,
): SmtpkitError {
  const details = { kind: 'timeout', hint: { kind: 'timeout', wait: 'command' } } as const;
  if (batch && batch.length > 1) {
    const missing = batch.slice(index);
    return new SmtpkitError(
      'protocol',
      `the server answered ${index} of ${batch.length} pipelined commands and nothing more within ${describeTimeout(timeoutMs)}: ${missing.length} repl${missing.length === 1 ? 'y' : 'ies'} missing (${missing.join(', ')})`,
      phase,
      { ...details, kind: 'missing-replies' },
    );
  }
  return new SmtpkitError('protocol', `no reply to ${verb} within ${describeTimeout(timeoutMs)}`, phase, details);
}

/** The server took no more of the message for the command timeout (its socket buffer stayed full). */
export const stalledError = (timeoutMs: number) =>
  new SmtpkitError('protocol', `the server stopped taking the message for ${describeTimeout(timeoutMs)}`, 'data', {
    kind: 'timeout',
    hint: { kind: 'timeout', wait: 'command' },
  });

/** No connection to `where` (host:port, or the MX hosts of a domain), and why. */
export const cannotConnect = (where: string, why: string) =>
  new SmtpkitError('connect', `cannot connect to ${where}: ${why}`, 'connect');

/** QUIT in the same write as the end of the message (with PIPELINING, RFC 2920 §3.1). */
const QUIT_LINE = Buffer.from('QUIT\r\n');

const VERSION_NAMES: Record<string, string> = { TLSv1: '1.0', 'TLSv1.1': '1.1', 'TLSv1.2': '1.2', 'TLSv1.3': '1.3' };

/** "TLS 1.2 to 1.3": what this client offers, for errors about versions. */
function offeredVersions(t: TlsSettings): string {
  const min = VERSION_NAMES[t.minVersion ?? 'TLSv1.2'] ?? '1.2';
  const max = VERSION_NAMES[t.maxVersion ?? 'TLSv1.3'] ?? '1.3';
  return min === max ? `only TLS ${min}` : `TLS ${min} to ${max}`;
}

/**
 * The TLS server name for a host and the typed --sni (false: --no-sni): both in A-labels
 * (RFC 6066 §3), and none for an IP literal.
 */
async function serverName(
  currentHost: string,
  typed: string | false | undefined,
): Promise<{ host: string; typedSni: string | false | undefined; sni: string | undefined }> {
  const host = await asciiName(currentHost);
  const typedSni = typeof typed === 'string' ? await asciiName(typed) : typed;
  return { host, typedSni, sni: typedSni === false ? undefined : (typedSni ?? (isIP(host) ? undefined : host)) };
}

/** A host name's A-label form; the IDNA code loads only for a name that is not ASCII. */
async function asciiName(name: string): Promise<string> {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(name)) return name;
  return (await import('../protocol/idna.js')).aLabels(name) ?? name;
}
