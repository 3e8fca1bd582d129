import { capabilityNotes, explainExtension } from '../explain/extensions.js';
import { explainReply } from '../explain/explain.js';
import type { Audience } from '../explain/hints.js';
import { isFailure, replyClass, replyWireLines } from '../protocol/reply.js';
import type { Capabilities } from '../protocol/capabilities.js';
import type { SmtpEvent, Timings } from '../session/events.js';
import type { TlsFacts } from '../session/tls-facts.js';
import type { Outcome } from './outcome.js';
import type { Paint } from './paint.js';
import { printable } from './printable.js';

export interface TextOptions {
  paint: Paint;
  /** Who reads the hints: a command line (flags) or a REPL session (its /commands). */
  audience?: Audience;
}

export interface Output {
  write(text: string): unknown;
}

/**
 * The transcript. Markers follow swaks so a reader without colour can tell the lines apart:
 * `===` tool info, ` ->`/` ~>` sent plain/TLS, `<- `/`<~ ` received, `<**`/`<~*` a failure
 * reply, `!!!` warning, `***` error; explanation lines start with `#`.
 */
export class TextRenderer {
  private readonly c: Paint;
  private readonly audience: Audience;

  constructor(
    private readonly out: Output,
    private readonly err: Output,
    options: TextOptions,
  ) {
    this.c = options.paint;
    this.audience = options.audience ?? 'cli';
  }

  event(e: SmtpEvent): void {
    const { c } = this;
    switch (e.type) {
      case 'info':
        return this.line(c.blue(`=== ${e.message}`));
      case 'warning':
        return this.line(c.yellow(`!!! ${printable(e.message)}`));
      case 'connected':
        return this.line(c.blue(`=== Connected to ${e.remoteAddress} port ${e.remotePort} from ${e.localAddress} port ${e.localPort} (${e.t} ms)`));
      case 'sent':
        return this.line(c.cyan(`${e.tls ? ' ~> ' : ' -> '}${printable(e.line)}`));
      case 'reply':
        return this.reply(e);
      case 'capabilities':
        return this.capabilities(e.capabilities, e.tls);
      case 'tls':
        return this.tls(e.facts);
      case 'raw':
        return this.line(c.gray(`${e.direction === 'in' ? '<<<' : '>>>'} ${JSON.stringify(e.data)}`));
      case 'error':
        this.err.write(`${c.red.bold(`*** ${printable(e.message)}`)}\n`);
        return;
    }
  }

  outcome(o: Outcome, timings: Timings): void {
    const parts = Object.entries(timings).map(([k, v]) => `${k} ${v} ms`);
    if (parts.length) this.line(this.c.dim(`=== Timings: ${parts.join(', ')}`));
    if (o.ok) this.line(this.c.green.bold(`=== ${printable(o.message)}`));
  }

  private reply(e: Extract<SmtpEvent, { type: 'reply' }>) {
    const { c } = this;
    const failed = isFailure(e.reply);
    const marker = e.tls ? (failed ? '<~* ' : '<~  ') : failed ? '<** ' : '<-  ';
    const paint = { positive: c.green, intermediate: c.yellow, transient: c.yellow, permanent: c.red }[replyClass(e.reply.code)];
    for (const l of replyWireLines(e.reply)) this.line(paint(marker + printable(l)));
    const x = explainReply(e.reply, e.command, e.tls, this.audience);
    this.note(x.summary);
    if (x.enhanced) this.note(`${x.enhanced.code} ${x.enhanced.title}: ${x.enhanced.text}`);
    if (x.hint) this.line(c.yellow(`    # try: ${x.hint}`));
  }

  private capabilities(caps: Capabilities, tls: boolean) {
    const entries = Object.entries(caps.extensions);
    this.line(this.c.blue(`=== ${caps.via === 'HELO' ? 'HELO session: no extensions' : `Capabilities${tls ? ' (over TLS)' : ''}: ${entries.length}`}`));
    const width = Math.min(28, Math.max(0, ...entries.map(([k, p]) => [k, ...p].join(' ').length)));
    for (const [keyword, params] of entries) {
      this.line(`    ${printable([keyword, ...params].join(' ')).padEnd(width)}  ${this.c.dim(explainExtension(keyword, params))}`);
    }
    for (const n of capabilityNotes(caps, tls)) this.line(this.c.yellow(`!!! ${n}`));
  }

  private tls(f: TlsFacts) {
    const { c } = this;
    const info = (s: string) => this.line(c.magenta(`=== ${s}`));
    info(`TLS ${f.protocol}, cipher ${f.cipher}${f.keyExchange ? `, key exchange ${f.keyExchange}` : ''}, SNI ${f.sni ?? '(none sent)'}`);
    if (f.protocol === 'TLSv1' || f.protocol === 'TLSv1.1') this.line(c.yellow(`!!! ${f.protocol} is obsolete (RFC 8996); the server should offer TLS 1.2 or 1.3`));
    f.chain.forEach((cert, i) => {
      info(`Certificate ${i}: ${printable(cert.subject)}`);
      info(`  issuer:   ${printable(cert.issuer)}`);
      if (cert.subjectAltNames.length) info(`  names:    ${printable(cert.subjectAltNames.join(', '))}`);
      info(`  valid:    ${cert.validFrom.slice(0, 10)} to ${cert.validTo.slice(0, 10)} (${cert.daysLeft < 0 ? `EXPIRED ${-cert.daysLeft} days ago` : `${cert.daysLeft} days left`})`);
      info(`  key:      ${cert.key}; SHA-256 ${cert.sha256}`);
    });
    info(`Chain trusted: ${f.trusted ? 'yes' : `NO, ${f.trustError}`}`);
    info(`Name ${f.nameChecked} matches: ${f.nameMatches ? 'yes' : `NO, ${f.nameError}`}`);
  }

  private note(text: string) {
    this.line(this.c.dim(`    # ${text}`));
  }

  private line(text: string) {
    this.out.write(`${text}\n`);
  }
}
