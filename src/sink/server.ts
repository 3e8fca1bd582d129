import { createHmac, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import type { Reply } from '../protocol/reply.js';
import { commandVerb } from '../protocol/command.js';
import type { SmtpEvent } from '../session/events.js';

export type DropPoint = 'connect' | 'ehlo' | 'mail' | 'rcpt' | 'data';

export interface SinkOptions {
  host: string;
  port: number;
  /** The name in the greeting and EHLO. */
  name: string;
  tls: { key: string; cert: string } | undefined;
  auth: { user: string; pass: string } | undefined;
  maxSize: number;
  rejectRcpt: RegExp | undefined;
  tempfailRate: number;
  delayGreetingMs: number;
  delayDataMs: number;
  dropAfter: DropPoint | undefined;
  /** Keep the message bytes (for --save); otherwise only the headers are kept. */
  keepData: boolean;
  /** Emit transcript events (costly under load, so only when someone shows them). */
  transcript: boolean;
  random: () => number;
}

export interface SinkMessage {
  id: string;
  session: number;
  from: string;
  to: string[];
  size: number;
  headers: Array<[string, string]>;
  data: Buffer | undefined;
  tls: boolean;
  user: string | undefined;
  receivedAt: string;
}

const MAX_LINE = 4096;
const END_OF_DATA = Buffer.from('\r\n.\r\n');

/**
 * A small SMTP server for testing senders: it takes mail and keeps nothing unless asked,
 * and it can misbehave on purpose (refuse recipients, fail at random, stall, hang up).
 * It never prints; it emits 'event' (session number, transcript event), 'message' and
 * 'session-end'.
 */
export class Sink extends EventEmitter {
  private readonly server: net.Server;
  private sessions = 0;
  private readonly sockets = new Set<net.Socket>();
  readonly stats = { sessions: 0, messages: 0, bytes: 0, rejected: 0, tempfailed: 0 };

  constructor(readonly options: SinkOptions) {
    super();
    this.server = net.createServer((socket) => new SinkSession(this, socket, ++this.sessions).start());
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => resolve());
    });
    return (this.server.address() as net.AddressInfo).port;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** @internal */
  track(socket: net.Socket) {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }
}

class SinkSession {
  private socket: net.Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private mode: 'command' | 'data' | 'auth-plain' | 'auth-login-user' | 'auth-login-pass' | 'auth-cram' | 'closed' = 'command';
  private greeted = false;
  private from: string | undefined;
  private to: string[] = [];
  private user: string | undefined;
  private loginUser = '';
  private cramChallenge = '';
  private secure = false;
  private waiting = false;
  private readonly started = Date.now();

  constructor(
    private readonly sink: Sink,
    socket: net.Socket,
    private readonly id: number,
  ) {
    this.socket = socket;
  }

  start() {
    const { options } = this.sink;
    this.sink.stats.sessions++;
    this.sink.track(this.socket);
    this.socket.setNoDelay(true);
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      this.mode = 'closed';
      this.sink.emit('session-end', this.id);
    });
    this.attach();
    this.event({ type: 'info', message: `Client ${this.socket.remoteAddress} port ${this.socket.remotePort} connected` });
    const greet = () => {
      if (this.mode === 'closed') return;
      if (options.dropAfter === 'connect') return this.drop();
      this.greeted = true;
      this.reply(220, `${options.name} ESMTP smtpkit sink (for testing only)`, 'CONNECT');
      this.process();
    };
    if (options.delayGreetingMs) setTimeout(greet, options.delayGreetingMs);
    else greet();
  }

  private attach() {
    this.socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      // RFC 5321 §4.3.1 lock-step: what a client sends before the greeting waits for it.
      if (this.greeted && !this.waiting) this.process();
    });
  }

  private process() {
    while (this.mode !== 'closed' && !this.waiting) {
      if (this.mode === 'data') {
        if (!this.takeData()) return;
        continue;
      }
      const lf = this.buffer.indexOf(0x0a);
      if (lf < 0) {
        if (this.buffer.length > MAX_LINE) {
          this.reply(500, '5.5.2 Line too long');
          this.buffer = Buffer.alloc(0);
        }
        return;
      }
      const line = this.buffer.toString('utf8', 0, lf > 0 && this.buffer[lf - 1] === 0x0d ? lf - 1 : lf);
      this.buffer = this.buffer.subarray(lf + 1);
      this.line(line);
    }
  }

  private line(line: string) {
    if (this.mode.startsWith('auth')) return this.authStep(line);
    const verb = commandVerb(line);
    this.event({ type: 'sent', line: verb === 'AUTH' && line.split(' ').length > 2 ? `${line.split(' ').slice(0, 2).join(' ')} <redacted>` : line, command: verb });
    const arg = line.slice(verb.length).trim();
    const o = this.sink.options;
    switch (verb) {
      case 'EHLO':
      case 'HELO': {
        if (!arg) return this.reply(501, '5.5.4 Syntax: EHLO hostname', verb);
        if (o.dropAfter === 'ehlo') return this.drop();
        this.resetTransaction();
        if (verb === 'HELO') return this.reply(250, o.name, verb);
        const ext = ['PIPELINING', `SIZE ${o.maxSize}`, '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES'];
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
        if (size && Number(size) > o.maxSize) return this.reply(552, `5.3.4 Message size exceeds fixed limit of ${o.maxSize} bytes`, verb);
        if (o.dropAfter === 'mail') return this.drop();
        if (this.tempfail(verb)) return;
        this.from = m[1];
        return this.reply(250, '2.1.0 Ok', verb);
      }
      case 'RCPT': {
        const m = /^TO:\s*<([^>]+)>/i.exec(arg);
        if (!m) return this.reply(501, '5.5.4 Syntax: RCPT TO:<address>', verb);
        if (this.from === undefined) return this.reply(503, '5.5.1 Need MAIL command', verb);
        if (o.rejectRcpt?.test(m[1]!)) {
          this.sink.stats.rejected++;
          return this.reply(550, `5.1.1 <${m[1]}>: Recipient address rejected (--reject-rcpt)`, verb);
        }
        if (o.dropAfter === 'rcpt') return this.drop();
        if (this.tempfail(verb)) return;
        this.to.push(m[1]!);
        return this.reply(250, '2.1.5 Ok', verb);
      }
      case 'DATA':
        if (!this.to.length) return this.reply(this.from === undefined ? 503 : 554, this.from === undefined ? '5.5.1 Need MAIL command' : '5.5.1 No valid recipients', verb);
        if (o.dropAfter === 'data') return this.drop();
        this.mode = 'data';
        return this.reply(354, 'End data with <CR><LF>.<CR><LF>', verb);
      case 'RSET':
        this.resetTransaction();
        return this.reply(250, '2.0.0 Ok', verb);
      case 'NOOP':
        return this.reply(250, '2.0.0 Ok', verb);
      case 'VRFY':
        return this.reply(252, '2.5.2 Cannot VRFY user, but will accept message', verb);
      case 'HELP':
        return this.reply(214, '2.0.0 smtpkit sink: a test server. Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS AUTH', verb);
      case 'QUIT':
        this.reply(221, '2.0.0 Bye', verb);
        this.mode = 'closed';
        this.socket.end();
        return;
      default:
        return this.reply(500, '5.5.2 Command not recognized', verb);
    }
  }

  /** Looks for the end of the message; unstuffs dots; replies once it is all in. */
  private takeData(): boolean {
    // The terminator may be the very first line (an empty message).
    const startsWithDot = this.buffer.length >= 3 && this.buffer[0] === 0x2e && this.buffer[1] === 0x0d && this.buffer[2] === 0x0a;
    const end = startsWithDot ? -2 : this.buffer.indexOf(END_OF_DATA);
    if (end === -1) {
      // Over the limit: stop keeping it, but read on until the end so the session survives.
      if (this.buffer.length > this.sink.options.maxSize + 1_048_576) this.buffer = this.buffer.subarray(this.buffer.length - 4);
      return false;
    }
    const raw = startsWithDot ? Buffer.alloc(0) : this.buffer.subarray(0, end + 2);
    this.buffer = this.buffer.subarray(startsWithDot ? 3 : end + END_OF_DATA.length);
    this.mode = 'command';
    const data = unstuff(raw);
    const finish = () => {
      const o = this.sink.options;
      if (data.length > o.maxSize) this.reply(552, `5.3.4 Message size exceeds fixed limit of ${o.maxSize} bytes`, '.');
      else if (!this.tempfail('.')) {
        const id = randomBytes(6).toString('hex').toUpperCase();
        const message: SinkMessage = { id, session: this.id, from: this.from ?? '', to: this.to, size: data.length, headers: headers(data), data: o.keepData ? data : undefined, tls: this.secure, user: this.user, receivedAt: new Date().toISOString() };
        this.sink.stats.messages++;
        this.sink.stats.bytes += data.length;
        this.sink.emit('message', message);
        this.reply(250, `2.0.0 Ok: queued as ${id}`, '.');
      }
      this.resetTransaction();
    };
    this.event({ type: 'sent', line: `.  [message: ${data.length} bytes]`, command: '.' });
    if (this.sink.options.delayDataMs) {
      this.waiting = true;
      setTimeout(() => {
        this.waiting = false;
        if (this.mode === 'closed') return;
        finish();
        this.process();
      }, this.sink.options.delayDataMs);
    } else finish();
    return true;
  }

  private authStart(arg: string) {
    const o = this.sink.options;
    const [mech = '', initial] = arg.split(/\s+/);
    if (!o.auth) return this.reply(502, '5.5.1 AUTH not available', 'AUTH');
    if (o.tls && !this.secure) return this.reply(538, '5.7.11 Encryption required for requested authentication mechanism', 'AUTH');
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
    this.event({ type: 'sent', line: '<redacted>', command: 'AUTH', redacted: true });
    const mode = this.mode;
    this.mode = 'command';
    if (line === '*') return this.reply(501, '5.7.0 Authentication cancelled', 'AUTH');
    const decoded = Buffer.from(line, 'base64').toString();
    const o = this.sink.options.auth!;
    if (mode === 'auth-plain') return this.checkPlain(line);
    if (mode === 'auth-login-user') {
      this.loginUser = decoded;
      this.mode = 'auth-login-pass';
      return this.reply(334, 'UGFzc3dvcmQ6', 'AUTH');
    }
    if (mode === 'auth-login-pass') return this.authResult(this.loginUser === o.user && decoded === o.pass, this.loginUser);
    const [user = '', digest] = decoded.split(' ');
    return this.authResult(user === o.user && digest === createHmac('md5', o.pass).update(this.cramChallenge).digest('hex'), user);
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
    this.socket.removeAllListeners('data');
    // RFC 3207 §6: anything the client sent before the handshake is thrown away.
    this.buffer = Buffer.alloc(0);
    this.waiting = true;
    const secure = new tls.TLSSocket(this.socket, { isServer: true, key: o.tls!.key, cert: o.tls!.cert });
    secure.on('error', () => this.socket.destroy());
    secure.on('secure', () => {
      this.secure = true;
      this.waiting = false;
      this.resetTransaction();
      this.socket = secure as unknown as net.Socket;
      this.attach();
      this.process();
    });
    secure.on('close', () => (this.mode = 'closed'));
  }

  private tempfail(command: string): boolean {
    const rate = this.sink.options.tempfailRate;
    if (!rate || this.sink.options.random() >= rate) return false;
    this.sink.stats.tempfailed++;
    this.reply(451, '4.3.0 Temporary failure (--tempfail-rate)', command);
    if (command === '.') this.resetTransaction();
    return true;
  }

  private drop() {
    this.event({ type: 'warning', message: `dropping the connection (--drop-after ${this.sink.options.dropAfter})` });
    this.mode = 'closed';
    this.socket.destroy();
  }

  private resetTransaction() {
    this.from = undefined;
    this.to = [];
  }

  private reply(code: number, text: string, command = '') {
    this.multi(code, [text], command);
  }

  private multi(code: number, lines: string[], command: string) {
    if (this.mode === 'closed' && code !== 221) return;
    this.socket.write(lines.map((l, i) => `${code}${i < lines.length - 1 ? '-' : ' '}${l}\r\n`).join(''));
    if (this.sink.options.transcript) {
      const enhanced = /^([245])\.\d{1,3}\.\d{1,3}(?=\s|$)/.exec(lines[0] ?? '');
      const reply: Reply = { code, enhanced: enhanced && Number(enhanced[1]) === Math.floor(code / 100) ? enhanced[0] : null, lines };
      this.event({ type: 'reply', reply, command });
    }
  }

  private event(e: Record<string, unknown>) {
    if (!this.sink.options.transcript) return;
    this.sink.emit('event', this.id, { t: Date.now() - this.started, tls: this.secure, ...e } as SmtpEvent);
  }
}

/** RFC 5321 §4.5.2: a leading "." on a line was added by the client; take it off. */
function unstuff(data: Buffer): Buffer {
  if (data.indexOf('\n.') < 0 && data[0] !== 0x2e) return data;
  const parts: Buffer[] = [];
  let start = data[0] === 0x2e ? 1 : 0;
  for (let i = data.indexOf('\n.', start); i >= 0; i = data.indexOf('\n.', i + 1)) {
    parts.push(data.subarray(start, i + 1));
    start = i + 2;
  }
  parts.push(data.subarray(start));
  return Buffer.concat(parts);
}

function headers(data: Buffer): Array<[string, string]> {
  const end = data.indexOf('\r\n\r\n');
  const block = data.toString('utf8', 0, end < 0 ? Math.min(data.length, 65536) : end);
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
