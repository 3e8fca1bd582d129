import { writeFileSync } from 'node:fs';
import readline from 'node:readline';
import { SmtpkitError } from '../errors.js';
import { hasExtension, parseEhlo } from '../protocol/capabilities.js';
import { commandVerb } from '../protocol/command.js';
import { isFailure, isPositive, replyText, type Reply } from '../protocol/reply.js';
import { formatTarget } from '../protocol/target.js';
import { explainInput, explanationLines } from '../render/explanation.js';
import { jsonReport } from '../render/json.js';
import { paint } from '../render/paint.js';
import { TextRenderer } from '../render/text.js';
import { REDACTED } from '../session/auth.js';
import type { SmtpEvent } from '../session/events.js';
import type { SmtpSession } from '../session/session.js';
import { login, planAuth } from '../flows/establish.js';
import { runSession, type Flags } from '../flows/run.js';
import { version } from '../version.js';
import { completions } from './completer.js';
import { History } from './history.js';

export interface ReplFlags extends Flags {
  keepGoing?: boolean;
  allowPlaintext?: boolean;
  history?: boolean;
}

const HELP = `Type SMTP commands; each reply is explained as it arrives. Meta commands start with "/":
  /starttls              upgrade to TLS now (typing STARTTLS does the same)
  /auth MECH [user]      log in; the secret is asked for (or SMTPKIT_PASSWORD off a terminal)
  /send                  compose and send a message, step by step (terminal only)
  /explain CODE          explain a reply code, e.g. /explain 550 5.7.1
  /caps                  the server's last EHLO capabilities, explained
  /timing                time spent in each phase so far
  /save FILE             save the transcript so far (.json for JSON), secrets redacted
  /raw on|off            show the raw bytes too
  /quit                  send QUIT and leave (also Ctrl-D)
After DATA and a 354, lines are message text; a line with a single "." ends it.`;

/**
 * The interactive session: a telnet that understands SMTP. With stdin not a terminal it
 * runs the lines as a lock-step script and fails (exit 1) on the first failure reply,
 * unless --keep-going.
 */
export function repl(spec: string, flags: ReplFlags): Promise<number> {
  const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const events: SmtpEvent[] = [];
  return runSession(
    'repl',
    spec,
    flags,
    async (session) => {
      session.emit({ type: 'info', message: `smtpkit ${version()} session; /help lists meta commands` });
      await session.connect();
      return new Repl(session, flags, interactive, events).run();
    },
    25,
    (e) => events.push(e),
  );
}

class Repl {
  private inData = false;
  private saslStep = false;
  private user: string | undefined;
  private ended = false;
  private failures = 0;
  private readonly history = new History();
  private rl!: readline.Interface;

  constructor(
    private readonly session: SmtpSession,
    private readonly flags: ReplFlags,
    private readonly interactive: boolean,
    private readonly events: SmtpEvent[],
  ) {}

  async run(): Promise<string> {
    const { session } = this;
    this.rl = readline.createInterface({
      input: process.stdin,
      output: this.interactive ? process.stdout : undefined,
      terminal: this.interactive,
      history: this.interactive && this.flags.history !== false ? this.history.load() : [],
      historySize: 500,
      removeHistoryDuplicates: true,
      completer: (line: string) => [completions(line, session.capabilities, session.isTls), line] as [string[], string],
    });
    // Ctrl-C clears the line; Ctrl-D (end of input) leaves.
    this.rl.on('SIGINT', () => {
      this.rl.write(null, { ctrl: true, name: 'u' });
      process.stdout.write('\n');
      this.prompt();
    });
    session.watchIdle((event) => {
      if (event.kind === 'reply') {
        if (isFailure(event.reply)) this.failures++;
        if (this.interactive) {
          readline.clearLine(process.stdout, 0);
          readline.cursorTo(process.stdout, 0);
          setImmediate(() => this.prompt());
        }
        return;
      }
      if (!this.ended) {
        session.emit({ type: 'warning', message: event.error ? `the connection failed: ${event.error.message}` : 'the server closed the connection' });
        this.ended = true;
        this.rl.close();
      }
    });
    this.prompt();
    for await (const line of this.rl) {
      if (this.ended) break;
      await this.handle(line);
      if (this.ended) break;
      this.prompt();
    }
    this.rl.close();
    const where = formatTarget(session.options.host, session.options.port);
    if (this.failures && !this.flags.keepGoing) throw new SmtpkitError('checkFailed', `a reply in the script was a failure (--keep-going ignores them)`);
    return `session with ${where} ended${this.failures ? ` (${this.failures} failure repl${this.failures === 1 ? 'y' : 'ies'}, kept going)` : ''}`;
  }

  private prompt() {
    if (!this.interactive || this.ended) return;
    const s = this.session;
    const auth = this.user === undefined ? '' : this.user ? `auth:${this.user}` : 'auth';
    const state = [s.isTls ? 'TLS' : '', auth, this.inData ? 'DATA' : ''].filter(Boolean).join(' ');
    this.rl.setPrompt(`${formatTarget(s.options.host, s.options.port)}${state ? ` ${state}` : ''}> `);
    this.rl.prompt();
  }

  private async handle(line: string) {
    try {
      if (this.inData) return await this.dataLine(line);
      if (line.startsWith('/')) return await this.meta(line);
      if (!line.trim()) return;
      await this.smtpLine(line);
    } catch (err) {
      if (!(err instanceof SmtpkitError)) throw err;
      // A failed step (a refused STARTTLS, a bad password) is shown and the session goes on,
      // unless the connection itself is gone or out of step.
      if (!this.session.isOpen || err.errorClass === 'protocol' || err.errorClass === 'connect' || !this.interactive) throw err;
      this.session.emit({ type: 'warning', message: err.message });
    }
  }

  private async smtpLine(line: string) {
    const { session } = this;
    const verb = commandVerb(line);
    if (verb === 'STARTTLS') return this.meta('/starttls');
    const secret = this.saslStep || (verb === 'AUTH' && line.trim().split(/\s+/).length > 2);
    if (!secret) this.remember(line);
    const shown = this.saslStep ? REDACTED : secret ? line.trim().split(/\s+/).slice(0, 2).concat(REDACTED).join(' ') : undefined;
    const reply = await session.command(line, { shown, verb: this.saslStep ? 'AUTH' : verb });
    this.saslStep = reply.code === 334;
    if ((verb === 'EHLO' || verb === 'HELO') && isPositive(reply)) {
      session.capabilities = verb === 'EHLO' ? parseEhlo(reply) : { domain: '', via: 'HELO', extensions: {} };
      session.emit({ type: 'capabilities', capabilities: session.capabilities });
    }
    if (verb === 'DATA' && reply.code === 354) this.inData = true;
    if (reply.code === 235) this.user ??= '';
    if (verb === 'QUIT') this.ended = true;
    this.check(reply);
  }

  private async dataLine(line: string) {
    if (line !== '.') {
      // Dot-stuffing (RFC 5321 §4.5.2), so a line that starts with "." stays message text.
      this.session.send(line.startsWith('.') ? `.${line}` : line);
      return;
    }
    this.inData = false;
    this.check(await this.session.command('.', { verb: '.' }));
  }

  private check(reply: Reply) {
    if (!isFailure(reply)) return;
    this.failures++;
    if (!this.interactive && !this.flags.keepGoing) {
      throw new SmtpkitError('checkFailed', `the script stopped at a failure reply: ${reply.code} ${replyText(reply)} (--keep-going runs on)`);
    }
  }

  private async meta(line: string) {
    const [cmd = '', ...args] = line.slice(1).trim().split(/\s+/);
    const { session } = this;
    const info = (message: string) => session.emit({ type: 'info', message });
    this.remember(line);
    switch (cmd.toLowerCase()) {
      case 'help':
        for (const l of HELP.split('\n')) info(l);
        return;
      case 'starttls':
        await session.starttls();
        return;
      case 'auth':
        return this.auth(args);
      case 'send':
        return this.compose();
      case 'explain': {
        const c = await paint(this.flags);
        for (const l of explanationLines(explainInput(args.join(' '), ''), '', c)) process.stdout.write(`${l}\n`);
        return;
      }
      case 'caps':
        if (session.capabilities) session.emit({ type: 'capabilities', capabilities: session.capabilities });
        else info('no EHLO yet: type EHLO <name>');
        return;
      case 'timing':
        info(`Timings: ${Object.entries(session.timings).map(([k, v]) => `${k} ${v} ms`).join(', ') || 'none yet'}; ${session.elapsed()} ms since start`);
        return;
      case 'save':
        return this.save(args[0]);
      case 'raw':
        session.options.raw = args[0] !== 'off';
        info(`raw bytes ${session.options.raw ? 'shown' : 'hidden'}`);
        return;
      case 'quit':
      case 'exit':
        this.ended = true;
        return;
      default:
        session.emit({ type: 'warning', message: `unknown meta command /${cmd}; /help lists them` });
    }
  }

  private async auth(args: string[]) {
    const [mech, user] = args;
    if (!mech) throw new SmtpkitError('usage', 'usage: /auth MECH [user]');
    const name = user ?? (this.interactive ? await this.ask((p) => p.input({ message: 'user:' })) : undefined);
    const plan = await this.paused(() => planAuth({ mech, user: name, allowPlaintext: this.flags.allowPlaintext }, (message) => this.session.emit({ type: 'warning', message })));
    await login(this.session, plan);
    this.user = plan.credentials.user;
  }

  /** A guided message: from, to, subject, body, then MAIL, RCPT, DATA in lock-step. */
  private async compose() {
    if (!this.interactive) throw new SmtpkitError('usage', '/send needs a terminal; in a script, type the commands');
    const caps = this.session.capabilities;
    if (!caps) throw new SmtpkitError('usage', '/send needs EHLO first: type EHLO <name>');
    const from = await this.ask((p) => p.input({ message: 'From:' }));
    const to = await this.ask((p) => p.input({ message: 'To:' }));
    const subject = await this.ask((p) => p.input({ message: 'Subject:', default: 'smtpkit test' }));
    const body = await this.ask((p) => p.input({ message: 'Body (one line):', default: 'This is a test message sent by smtpkit.' }));
    const { parseAddress } = await import('../message/address.js');
    const { buildMessage } = await import('../message/build.js');
    const sender = parseAddress(from, 'From', true);
    const rcpt = parseAddress(to, 'To');
    const message = buildMessage({ from: sender, to: [rcpt], cc: [], subject, headers: [], body, html: false, attachments: [], raw: undefined }, hasExtension(caps, '8BITMIME'));
    const { mailTransaction } = await import('../flows/transaction.js');
    // The same transaction as `smtpkit send`, in lock-step so each step shows as it happens.
    await mailTransaction(this.session, { from: sender, recipients: [rcpt] }, message, { pipelining: false });
  }

  private async save(file: string | undefined) {
    if (!file) throw new SmtpkitError('usage', 'usage: /save FILE (.json for JSON)');
    let text = '';
    if (file.endsWith('.json')) {
      const s = this.session;
      text = jsonReport(
        { command: 'repl', target: { host: s.options.host, port: s.options.port }, startedAt: new Date(Date.now() - s.elapsed()).toISOString(), outcome: { ok: true, exitCode: 0, message: 'saved during the session' }, events: this.events, capabilities: s.capabilities, tls: s.tls, timings: s.timings, result: {} },
        version(),
      );
    } else {
      const renderer = new TextRenderer({ write: (t: string) => (text += t) }, { write: (t: string) => (text += t) }, { paint: await paint({ color: false }) });
      for (const e of this.events) renderer.event(e);
    }
    writeFileSync(file, text, { mode: 0o600 });
    this.session.emit({ type: 'info', message: `transcript saved to ${file} (secrets redacted)` });
  }

  /** Runs an inquirer prompt with our readline out of its way. */
  private async ask<T>(fn: (prompts: typeof import('@inquirer/prompts')) => Promise<T>): Promise<T> {
    const prompts = await import('@inquirer/prompts');
    return this.paused(() => fn(prompts));
  }

  private async paused<T>(fn: () => Promise<T>): Promise<T> {
    this.rl.pause();
    try {
      return await fn();
    } catch (err) {
      if (err instanceof SmtpkitError) throw err;
      throw new SmtpkitError('usage', 'cancelled');
    } finally {
      this.rl.resume();
    }
  }

  private remember(line: string) {
    if (this.interactive && this.flags.history !== false) this.history.add(line);
  }
}
