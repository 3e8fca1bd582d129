import { writeFileSync } from 'node:fs';
import { SmtpkitError, usageError } from '../errors.js';
import { authMechanisms, hasExtension, parseEhlo } from '../protocol/capabilities.js';
import { commandVerb } from '../protocol/command.js';
import { isFailure, isPositive, replyText, type Reply } from '../protocol/reply.js';
import { formatTarget } from '../protocol/target.js';
import { explainInput, explanationLines } from '../render/explanation.js';
import { jsonReport } from '../render/json.js';
import { processOutput, safeText, type OutputSpec } from '../render/output.js';
import { plain } from '../render/paint.js';
import { TextRenderer } from '../render/text.js';
import { REDACTED } from '../session/auth.js';
import type { SmtpEvent } from '../session/events.js';
import type { SmtpSession } from '../session/session.js';
import { login, type AuthPlan } from '../flows/establish.js';
import { version } from '../version.js';
import { completions } from './completer.js';
import { History } from './history.js';
import { LineReader } from './line-reader.js';
import { connectInterruptibly, stoppedWaiting } from './interrupt.js';
import { isMechanism } from '../sasl/index.js';
import { endingPrompt } from '../render/prompt.js';

export interface ReplSpec {
  /** Script mode: run on after failure replies and exit 0. */
  keepGoing: boolean;
  /** /auth: send credentials even without TLS. */
  allowPlaintext: boolean;
  /** Read and write the history file. */
  history: boolean;
  output: OutputSpec;
  /** /auth off a terminal: the environment variable that must hold the secret. */
  passwordEnv: string;
  /**
   * /auth MECH user: the login checked and its secret's source, by the command line's rules
   * (a variable, or a masked prompt that `around` runs with the terminal handed over).
   */
  planLogin: (
    login: { mech: string; user: string; allowPlaintext: boolean },
    warn: (message: string) => void,
    around: <T>(ask: (signal?: AbortSignal) => Promise<T>) => Promise<T>,
  ) => Promise<AuthPlan>;
}

/** Verbs a person types in SMTP (RFC 5321 and the common extensions). */
const SMTP_VERBS = new Set([
  'EHLO',
  'HELO',
  'MAIL',
  'RCPT',
  'DATA',
  'RSET',
  'NOOP',
  'QUIT',
  'VRFY',
  'EXPN',
  'HELP',
  'STARTTLS',
  'AUTH',
  'BDAT',
  'ETRN',
  'ATRN',
  'TURN',
  'XCLIENT',
  'XFORWARD',
  'SEND',
  'SOML',
  'SAML',
]);

/** Said before credentials go without TLS, at a terminal (--allow-plaintext lets them). */
const IN_CLEAR = 'AUTH without TLS (--allow-plaintext): the credentials cross the network in clear';

const HELP = `Type SMTP commands; each reply is explained as it arrives. Meta commands start with "/":
  /starttls              upgrade to TLS now (typing STARTTLS does the same)
  /auth MECH [user]      log in (after EHLO); the secret is asked for once the server offers
                         MECH, and goes to AUTH only (SMTPKIT_PASSWORD off a terminal)
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
 * unless --keep-going. A person types at a terminal even when stdout goes to a file
 * (`smtpkit repl host | tee log`): that is interactive too, only without line editing.
 */
export async function repl(session: SmtpSession, spec: Readonly<ReplSpec>, events: SmtpEvent[]): Promise<string> {
  const interactive = process.stdin.isTTY === true;
  session.emit({ type: 'info', message: `smtpkit ${version()} session; /help lists meta commands` });
  await connectInterruptibly(session, interactive);
  return new Repl(session, spec, interactive, events).run();
}

/**
 * Where the person sees the prompt and what they type: stdout, or stderr when stdout goes
 * to a file (`smtpkit repl host | tee log`). Line editing keeps the terminal out of line
 * mode, where it would echo a password typed ahead of its prompt.
 */
function screen(): NodeJS.WriteStream | undefined {
  return process.stdout.isTTY ? process.stdout : process.stderr.isTTY ? process.stderr : undefined;
}

class Repl {
  private inData = false;
  private saslStep = false;
  private user: string | undefined;
  private ended = false;
  /** The server closed the connection unasked (no QUIT of ours). */
  private hungUp = false;
  private failures = 0;
  private quitting = false;
  /** Handling a line: the prompt comes back when it is done, not before. */
  private busy = false;
  private readonly history = new History();
  private reader!: LineReader;
  /**
   * What was refused just before a secret was due (/auth before its prompt opened, an
   * AUTH exchange): a password typed ahead for it may be the next line. Held while set.
   */
  private secretExpected: string | undefined;
  /** Cancels the prompt that owns the terminal, when the connection closes under it. */
  private promptOpen: AbortController | undefined;

  constructor(
    private readonly session: SmtpSession,
    private readonly spec: Readonly<ReplSpec>,
    private readonly interactive: boolean,
    private readonly events: SmtpEvent[],
  ) {}

  async run(): Promise<string> {
    const { session } = this;
    this.reader = new LineReader(process.stdin, screen(), {
      terminal: this.interactive && screen() !== undefined,
      history: this.interactive && this.spec.history ? this.history.load() : [],
      // In message text a Tab is text (an indented body line), never a verb: the one
      // "completion" readline is given inserts the TAB itself.
      completer: (line: string) => [
        this.inData ? [`${line}\t`] : completions(line, session.capabilities, session.isTls),
        line,
      ],
    });
    session.watchIdle((event) => {
      if (event.kind === 'reply') {
        if (isFailure(event.reply)) this.failures++;
        // The reply is shown right after this: clear the half-typed line, then show it again.
        this.reader.clearLine();
        setImmediate(() => !this.busy && this.prompt());
        return;
      }
      if (this.ended) return;
      this.ended = true;
      if (!this.quitting) this.hungUp = true;
      // Start below the line being typed (or the open prompt), not in the middle of it.
      if (!this.quitting) this.reader.clearLine();
      if (!this.quitting)
        session.emit({
          type: 'warning',
          message: event.error ? `the connection failed: ${event.error.message}` : 'the server closed the connection',
        });
      this.reader.close();
      // Nobody should go on typing a password (or a message) for a connection that is gone.
      this.promptOpen?.abort();
    });
    try {
      this.prompt();
      for (let line = await this.reader.next(); line !== null && !this.ended; line = await this.reader.next()) {
        this.busy = true;
        this.reader.clearPartial();
        await this.interruptible(line);
        this.busy = false;
        if (this.ended) break;
        this.prompt();
      }
    } finally {
      this.reader.close();
      // Keys typed after the last line read would reach the shell once we exit, and run there.
      const dropped = await this.reader.discardUnread();
      if (dropped)
        session.emit({
          type: 'warning',
          message: `${dropped} key${dropped === 1 ? '' : 's'} typed after the last command discarded, not sent (nor left for the shell)`,
        });
    }
    if (this.inData) this.abandonMessage();
    const where = formatTarget(session.options.host, session.options.port);
    const failures = this.failures
      ? ` (${this.failures} failure repl${this.failures === 1 ? 'y' : 'ies'}${this.interactive ? '' : ', kept going'})`
      : '';
    // A script the server cut short did not run: a protocol failure (exit 5), --keep-going or not.
    if (this.hungUp && !this.interactive)
      throw new SmtpkitError('protocol', 'the server closed the connection before the script ended', undefined, {
        kind: 'closed',
      });
    // A person ends a session when they are done: what the server said was the point, not a verdict.
    if (this.failures && !this.interactive && !this.spec.keepGoing)
      throw new SmtpkitError('checkFailed', `a reply in the script was a failure (--keep-going ignores them)`);
    return `session with ${where} ended${failures}`;
  }

  /**
   * Input ended inside DATA, before the line with a single ".": the message was not
   * finished. No QUIT (it would be message text); closing makes the server drop it.
   */
  private abandonMessage() {
    this.inData = false;
    this.session.close();
    const message = 'the input ended inside DATA, before a line with a single ".": the message was NOT sent';
    if (this.interactive) {
      this.session.emit({ type: 'warning', message });
      return;
    }
    throw new SmtpkitError('protocol', message, 'data');
  }

  private prompt() {
    if (!this.interactive || this.ended) return;
    const s = this.session;
    const auth = this.user === undefined ? '' : this.user ? `auth:${this.user}` : 'auth';
    const state = [s.isTls ? 'TLS' : '', auth, this.inData ? 'DATA' : ''].filter(Boolean).join(' ');
    this.reader.prompt(`${formatTarget(s.options.host, s.options.port)}${state ? ` ${state}` : ''}> `);
  }

  /**
   * Handles a line; Ctrl-C while it waits for the server gives up the wait. A reply left
   * unread would be taken for the next command's, so the session cannot go on: it is
   * closed without another word (no QUIT: the server may still be reading message text).
   */
  private async interruptible(line: string) {
    let interrupted: SmtpkitError | undefined;
    let stop: (err: SmtpkitError) => void = () => {};
    const stopped = new Promise<never>((_, reject) => (stop = reject));
    const unwatch = this.reader.watchInterrupt(() => {
      const awaiting = this.session.awaiting;
      if (!awaiting || this.ended) return false;
      interrupted = stoppedWaiting(awaiting);
      this.ended = true;
      this.session.abandon();
      stop(interrupted);
      return true;
    });
    const handled = this.handle(line);
    try {
      await Promise.race([handled, stopped]);
    } catch (err) {
      throw interrupted ?? err;
    } finally {
      unwatch();
      // Given up on: it fails as the connection closes under it, and nobody listens.
      handled.catch(() => {});
    }
  }

  private async handle(line: string) {
    try {
      // Nothing in SMTP may carry a NUL (RFC 5321 §4.1.1.4 for message text, and no command has one).
      if (line.includes('\0')) throw usageError('a NUL character cannot go on the wire; the line was not sent');
      if (this.inData) return await this.dataLine(line);
      const refused = this.secretExpected;
      if (refused && line.trim()) {
        this.secretExpected = undefined;
        if (!line.startsWith('/') && !SMTP_VERBS.has(commandVerb(line))) {
          this.reader.forget(line);
          throw usageError(
            `not sent: this line is not an SMTP command, and ${refused} (a password typed ahead?); type it again if it was meant`,
          );
        }
      }
      if (line.startsWith('/')) return await this.meta(line);
      if (!line.trim()) return;
      // Tab at the prompt completes; one that arrives in a line came with a paste (message
      // text may hold TABs, a command may not: RFC 5321 separates its words with SP).
      if (this.interactive && line.includes('\t')) {
        // Out of the Up arrow's reach too: it may be an AUTH line, or a response after a 334.
        this.reader.forget(line);
        throw usageError(
          'a TAB (pasted?) cannot go in an SMTP command; the line was not sent (Tab at the prompt completes)',
        );
      }
      await this.smtpLine(line);
    } catch (err) {
      if (!(err instanceof SmtpkitError)) throw err;
      // The connection closed under an open prompt: already said, and the session is over.
      if (this.ended && this.interactive && err.errorClass === 'usage')
        return this.session.emit({ type: 'warning', message: err.message });
      // A failed step (a refused STARTTLS, a bad password) is shown and the session goes on,
      // unless the connection itself is gone or out of step.
      if (!this.session.isOpen || err.errorClass === 'protocol' || err.errorClass === 'connect' || !this.interactive)
        throw err;
      this.session.emit({ type: 'warning', message: err.message, ...(err.hint ? { hint: err.hint } : {}) });
    }
  }

  private async smtpLine(line: string) {
    const { session } = this;
    const verb = commandVerb(line);
    if (verb === 'STARTTLS') return this.meta('/starttls');
    // An AUTH line with its initial response, or any line typed after a 334, is (or may be) a secret.
    const secret = this.saslStep || (verb === 'AUTH' && line.trim().split(/\s+/).length > 2);
    if (secret) this.reader.forget(line);
    else this.remember(line);
    const exchange = this.saslStep || verb === 'AUTH';
    if (verb === 'AUTH' && !this.saslStep && !session.isTls && this.interactive) {
      // As /auth does: credentials go in clear only when the person started the repl saying so.
      if (!this.spec.allowPlaintext) {
        session.emit({
          type: 'warning',
          message:
            'refusing to send credentials without TLS: the AUTH line was not sent; type /starttls first (or start the repl with --allow-plaintext)',
        });
        return await this.endAuth(false);
      }
      session.emit({ type: 'warning', message: IN_CLEAR });
    }
    const shown = this.saslStep
      ? REDACTED
      : secret
        ? line.trim().split(/\s+/).slice(0, 2).concat(REDACTED).join(' ')
        : undefined;
    if (verb === 'QUIT') this.quitting = true;
    const reply = await session.command(line, { shown, verb: this.saslStep ? 'AUTH' : verb });
    this.saslStep = reply.code === 334;
    if (exchange && !this.saslStep) await this.endAuth(isPositive(reply));
    if ((verb === 'EHLO' || verb === 'HELO') && isPositive(reply)) {
      session.capabilities = verb === 'EHLO' ? parseEhlo(reply) : { domain: '', via: 'HELO', extensions: {} };
      session.emit({ type: 'capabilities', capabilities: session.capabilities });
      // The EHLO that follows STARTTLS uses the name the person chose, not ours.
      const name = line.trim().split(/\s+/)[1];
      if (name) session.options.ehloName = name;
    }
    if (verb === 'DATA' && reply.code === 354) this.inData = true;
    if (reply.code === 235) this.user ??= '';
    if (verb === 'QUIT') this.ended = true;
    this.check(reply);
  }

  private async dataLine(line: string) {
    // No reply follows a message line: at the terminal, the line typed after the prompt
    // would show twice, typed and sent. The sent line (under its arrow) stays.
    if (this.interactive && screen() === process.stdout) this.reader.eraseEntered(line);
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
    // 421: the server is closing the session (RFC 5321 §3.8): the script cannot go on.
    if (reply.code === 421 && !this.interactive && !this.quitting)
      throw new SmtpkitError(
        'protocol',
        `the server closed the session before the script ended: ${reply.code} ${replyText(reply)}`,
        undefined,
        { reply, kind: 'closing' },
      );
    this.failures++;
    if (!this.interactive && !this.spec.keepGoing) {
      throw new SmtpkitError(
        'checkFailed',
        `the script stopped at a failure reply: ${reply.code} ${replyText(reply)} (--keep-going runs on)`,
      );
    }
  }

  private async meta(line: string) {
    const [cmd = '', ...args] = line.slice(1).trim().split(/\s+/);
    const { session } = this;
    const info = (message: string) => session.emit({ type: 'info', message });
    // A password typed after "/auth MECH user" by mistake stays out of history (refused below).
    if (cmd.toLowerCase() === 'auth' && args.length > 2) this.reader.forget(line);
    else this.remember(line);
    switch (cmd.toLowerCase()) {
      case 'help':
        for (const l of HELP.split('\n')) info(l);
        return;
      case 'starttls':
        await session.starttls();
        return;
      case 'auth':
        try {
          this.secretExpected = undefined;
          return await this.auth(args);
        } catch (err) {
          if (this.interactive && !this.secretAsked)
            this.secretExpected = '/auth had just been refused before asking for the password';
          throw err;
        }
      case 'send':
        return this.compose();
      case 'explain': {
        const output = await processOutput(this.spec.output);
        for (const l of explanationLines(explainInput(args.join(' '), ''), '', output.paint))
          output.stdout.write(`${l}\n`);
        return;
      }
      case 'caps':
        if (session.capabilities) session.emit({ type: 'capabilities', capabilities: session.capabilities });
        else info('no EHLO yet: type EHLO <name>');
        return;
      case 'timing':
        info(
          `Timings: ${
            Object.entries(session.timings)
              .map(([k, v]) => `${k} ${v} ms`)
              .join(', ') || 'none yet'
          }; ${session.elapsed()} ms since start`,
        );
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

  /** Whether the current /auth reached its secret prompt. */
  private secretAsked = false;

  private async auth(args: string[]) {
    this.secretAsked = false;
    const [mechArg, user, ...rest] = args;
    if (!mechArg) throw usageError('usage: /auth MECH [user]');
    // "/auth PLAIN alice hunter2" is a natural slip: keep the line out of history, say why.
    if (rest.length)
      throw usageError(
        'usage: /auth MECH [user]; the password is never typed on the line: it is asked for at a masked prompt (SMTPKIT_PASSWORD in a script)',
      );
    const mech = mechArg.toUpperCase();
    if (!isMechanism(mech))
      throw usageError(
        `/auth ${mechArg}: smtpkit speaks SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN and XOAUTH2`,
      );
    this.checkLoginPossible(mech);
    if (this.interactive && !this.session.isTls) this.session.emit({ type: 'warning', message: IN_CLEAR });
    const name =
      user ?? (this.interactive ? await this.ask((p, context) => p.input({ message: 'user:' }, context)) : undefined);
    if (!name)
      throw usageError(
        this.interactive
          ? 'no user name given: /auth MECH user'
          : 'usage: /auth MECH user (a script names the user on the line)',
      );
    // The masked prompt needs stdin and stderr on a terminal; otherwise the environment must have it.
    if (!process.env[this.spec.passwordEnv] && !(this.interactive && process.stderr.isTTY)) {
      throw usageError(
        `/auth ${this.interactive ? 'with stderr not a terminal' : 'in a script'} takes the secret from ${this.spec.passwordEnv}, which is not set`,
      );
    }
    const warn = (message: string) => this.session.emit({ type: 'warning', message });
    const plan = await this.spec.planLogin(
      { mech, user: name, allowPlaintext: this.spec.allowPlaintext },
      warn,
      async (ask) => {
        this.secretAsked = true;
        // Not cancelled when the server hangs up meanwhile: ending then would hand the rest
        // of the password, as it is typed, to the shell. It is taken, and dropped.
        const secret = await this.reader.handOver(() => this.cancellable(ask, false), this.discarded);
        if (this.ended)
          throw usageError(
            `the connection closed while the ${mech === 'XOAUTH2' ? 'token' : 'password'} was typed: it was not sent`,
          );
        return secret;
      },
    );
    await login(this.session, plan);
    this.user = plan.user;
  }

  /** Before anything is asked: is there a server that offers this mechanism, safely? */
  private checkLoginPossible(mech: string) {
    const { session } = this;
    const fail = (message: string) => new SmtpkitError('auth', message, 'auth');
    if (!session.capabilities) throw fail('no EHLO yet: type EHLO <your host name> first, then /auth');
    const offered = authMechanisms(session.capabilities);
    if (!offered.length)
      throw fail(
        `the server offers no AUTH here${session.isTls ? '' : '; many servers offer it only after TLS: type /starttls'}`,
      );
    if (!offered.includes(mech))
      throw fail(`the server does not offer ${mech}; it offers ${offered.join(', ')}: /auth ${offered[0]} <user>`);
    if (!session.isTls && !this.spec.allowPlaintext)
      throw fail(
        'refusing to send credentials without TLS: type /starttls first (or start the repl with --allow-plaintext)',
      );
  }

  /** A guided message: from, to, subject, body, then MAIL, RCPT, DATA in lock-step. */
  private async compose() {
    if (!this.interactive) throw new SmtpkitError('usage', '/send needs a terminal; in a script, type the commands');
    const caps = this.session.capabilities;
    if (!caps) throw new SmtpkitError('usage', '/send needs EHLO first: type EHLO <name>');
    const from = await this.ask((p, context) => p.input({ message: 'From:' }, context));
    const to = await this.ask((p, context) => p.input({ message: 'To:' }, context));
    const subject = await this.ask((p, context) => p.input({ message: 'Subject:', default: 'smtpkit test' }, context));
    const body = await this.ask((p, context) =>
      p.input({ message: 'Body (one line):', default: 'This is a test message sent by smtpkit.' }, context),
    );
    const { parseAddress } = await import('../message/address.js');
    const { buildMessage } = await import('../message/build.js');
    const sender = parseAddress(from, 'From', true);
    const rcpt = parseAddress(to, 'To');
    const message = buildMessage(
      { from: sender, to: [rcpt], cc: [], subject, headers: [], body, html: false, attachments: [], raw: undefined },
      hasExtension(caps, '8BITMIME'),
    );
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
        {
          command: 'repl',
          target: { host: s.options.host, port: s.options.port },
          startedAt: new Date(Date.now() - s.elapsed()).toISOString(),
          outcome: { ok: true, exitCode: 0, message: 'saved during the session' },
          events: this.events,
          capabilities: s.capabilities,
          tls: s.tls,
          timings: s.timings,
          result: {},
        },
        version(),
      );
    } else {
      const renderer = new TextRenderer(
        { write: (t: string) => (text += t) },
        { write: (t: string) => (text += t) },
        { paint: plain },
      );
      for (const e of this.events) renderer.event(e);
    }
    writeFileSync(file, safeText(text), { mode: 0o600 });
    this.session.emit({ type: 'info', message: `transcript saved to ${file} (secrets redacted)` });
  }

  /** Runs an inquirer prompt with the terminal all to itself (on stderr when stdout is a file). */
  private async ask<T>(
    fn: (
      prompts: typeof import('@inquirer/prompts'),
      context: { signal?: AbortSignal; output: NodeJS.WriteStream },
    ) => Promise<T>,
  ): Promise<T> {
    const prompts = await import('@inquirer/prompts');
    const output = screen() ?? process.stderr;
    return this.reader.handOver(
      () => this.cancellable((signal) => endingPrompt((s) => fn(prompts, { signal: s, output }), signal)),
      this.discarded,
    );
  }

  private readonly discarded = (lines: number, typed = 'typed ahead of this prompt') =>
    this.session.emit({
      type: 'warning',
      message: `${lines} line${lines === 1 ? '' : 's'} ${typed} discarded, not sent`,
    });

  /**
   * An AUTH exchange is over (any answer but 334, or AUTH not sent at all): lines pasted or
   * typed ahead with it were its responses, a password among them, and must not go out as
   * commands, nor stay for the Up arrow. Refused, a next line that is no command is held too.
   */
  private async endAuth(accepted: boolean) {
    if (!this.interactive) return;
    const dropped = await this.reader.discardAheadAndUnread();
    if (dropped) this.discarded(dropped, 'typed after AUTH');
    if (!accepted) this.secretExpected = 'AUTH had just been refused';
  }

  /**
   * Ctrl-C or Ctrl-D at a prompt cancels that prompt only; the session goes on. The
   * connection closing cancels it too (and ends the session), with `onClose`.
   */
  private async cancellable<T>(fn: (signal: AbortSignal) => Promise<T>, onClose = true): Promise<T> {
    const open = new AbortController();
    if (onClose) this.promptOpen = open;
    try {
      return await fn(open.signal);
    } catch (err) {
      if (err instanceof SmtpkitError && !open.signal.aborted) throw err;
      throw new SmtpkitError('usage', 'cancelled');
    } finally {
      this.promptOpen = undefined;
    }
  }

  private remember(line: string) {
    if (this.interactive && this.spec.history) this.history.add(line);
  }
}
