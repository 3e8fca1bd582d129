import { capabilityNotes, explainExtension } from '../explain/extensions.js';
import { explainReply } from '../explain/explain.js';
import type { Audience } from '../explain/hints.js';
import { diffCapabilities, parseEhlo, type Capabilities } from '../protocol/capabilities.js';
import { isFailure, replyClass, replyWireLines, type Reply } from '../protocol/reply.js';
import type { SmtpEvent, Timings } from '../session/events.js';
import type { TlsFacts } from '../session/tls-facts.js';
import type { Outcome } from './outcome.js';
import type { Paint } from './paint.js';
import type { Stream } from './output.js';
import { printable } from './printable.js';
import { withAdvice } from './advice.js';
import { commandLineError } from './usage.js';

/** How much to show: everything explained, or one line per exchange (--brief). */
export type Detail = 'full' | 'brief';

export interface TextOptions {
  paint: Paint;
  detail?: Detail;
  /** Who reads the hints: a command line (flags) or a REPL session (its /commands). */
  audience?: Audience;
  /** What the run has said already, when several transcripts make one run (a batch of probes). */
  said?: Said;
}

/** What a run's transcripts have explained or shown: the same thing again is referred to. */
export class Said {
  /** Success and progress explanations (said once, then not at all). */
  readonly summaries = new Set<string>();
  /** Failure explanations shown in full. */
  readonly failures = new Set<string>();
  /** EHLO lines explained beside them (keyword and explanation). */
  readonly extensions = new Set<string>();
  /** Certificate chains shown, by their fingerprints. */
  readonly chains = new Set<string>();
}

const NOTE_COLUMN = 28;

/**
 * The transcript. Markers follow swaks so a reader without colour can tell the lines apart:
 * `===` tool info, ` ->`/` ~>` sent plain/TLS, `<- `/`<~ ` received, `<**`/`<~*` a failure
 * reply, `!!!` warning, `***` error; explanation lines start with `#`. The same explanation
 * is not repeated: a failure explained before, an EHLO line explained before and a
 * certificate chain shown before are referred to ("explained above"), not printed again;
 * after STARTTLS only what changed in the capabilities is explained.
 */
export class TextRenderer {
  private readonly c: Paint;
  private readonly brief: boolean;
  private readonly said: Said;
  /** Capabilities seen before TLS, to explain only the difference after it. */
  private plainCaps: Capabilities | undefined;
  /** Lines sent and not yet answered, oldest first (brief mode pairs them with their reply). */
  private readonly pending: string[] = [];
  /** The EHLO reply just shown explained its own lines: its capabilities event adds no table. */
  private ehloShown = false;
  private readonly audience: Audience;

  constructor(
    private readonly out: Stream,
    private readonly err: Stream,
    options: TextOptions,
  ) {
    this.c = options.paint;
    this.brief = options.detail === 'brief';
    this.audience = options.audience ?? 'cli';
    this.said = options.said ?? new Said();
  }

  event(e: SmtpEvent): void {
    const { c } = this;
    switch (e.type) {
      case 'info':
        if (this.brief && /^Connecting to /.test(e.message)) return;
        return this.line(c.blue(`=== ${printable(e.message)}`));
      case 'warning':
        return this.line(c.yellow(`!!! ${printable(withAdvice(e.message, e.hint, this.audience))}`));
      case 'connected':
        return this.line(
          c.blue(
            `=== Connected to ${printable(e.remoteAddress)} port ${e.remotePort} from ${printable(e.localAddress)} port ${e.localPort} (${e.t} ms)`,
          ),
        );
      case 'sent':
        return this.sent(e);
      case 'reply':
        return this.reply(e);
      case 'capabilities':
        return this.capabilities(e.capabilities, e.tls);
      case 'tls':
        return this.tls(e.facts);
      case 'raw':
        return this.line(c.gray(`${e.direction === 'in' ? '<<<' : '>>>'} ${JSON.stringify(e.data)}`));
      case 'error':
        // A mistake on the command line is not a session event: it is said as CLI tools say it.
        if (e.errorClass === 'usage' && this.audience === 'cli')
          return void this.err.write(commandLineError(withAdvice(e.message, e.hint, this.audience)));
        this.err.write(`${c.red.bold(`*** ${printable(withAdvice(e.message, e.hint, this.audience))}`)}\n`);
        return;
    }
  }

  outcome(o: Outcome, timings: Timings): void {
    const parts = Object.entries(timings).map(([k, v]) => `${k} ${v} ms`);
    if (parts.length) this.line(this.c.dim(`=== Timings: ${parts.join(', ')}`));
    if (o.ok) this.line(this.c.green.bold(`=== ${printable(o.message)}`));
  }

  private sent(e: Extract<SmtpEvent, { type: 'sent' }>) {
    const shown = `${e.tls ? ' ~> ' : ' -> '}${printable(e.line)}`;
    if (!this.brief) return this.line(this.c.cyan(shown));
    // Message headers are not an exchange of their own: the final dot is.
    if (e.command !== 'MESSAGE') this.pending.push(shown.replace(/, headers shown above\]$/, ']'));
  }

  private reply(e: Extract<SmtpEvent, { type: 'reply' }>) {
    const { c } = this;
    const failed = isFailure(e.reply);
    const marker = e.tls ? (failed ? '<~* ' : '<~  ') : failed ? '<** ' : '<-  ';
    const paint = { positive: c.green, intermediate: c.yellow, transient: c.yellow, permanent: c.red }[
      replyClass(e.reply.code)
    ];
    const ehlo = e.command === 'EHLO' && e.reply.code === 250 ? parseEhlo(e.reply) : undefined;
    const x = explainReply(e.reply, e.command, e.tls, this.audience);
    // A stray reply between the EHLO reply and its capabilities event does not undo what was shown.
    if (e.command !== 'UNSOLICITED') this.ehloShown = !!ehlo;
    if (this.brief) {
      const asked = e.command === 'CONNECT' || e.command === 'UNSOLICITED' ? undefined : this.pending.shift();
      const wire = replyWireLines(e.reply);
      const more = ehlo
        ? `  (${this.briefCapabilities(ehlo, e.tls)})`
        : wire.length > 1
          ? `  (+${wire.length - 1} lines)`
          : '';
      const answer = paint(`${marker}${printable(ehlo ? `${e.reply.code} ${ehlo.domain}` : wire[0]!)}${more}`);
      this.line(asked ? `${c.cyan(asked)}  ${answer}` : answer);
      if (!failed) return;
    } else {
      this.replyLines(e.reply, marker, paint, ehlo, e.tls);
    }
    const enhanced =
      x.enhanced && (failed || !e.reply.enhanced?.startsWith('2.'))
        ? `${x.enhanced.code} ${x.enhanced.title}: ${x.enhanced.text}`
        : undefined;
    // A failure is explained in full once, with what to try; the same one again is referred to.
    if (failed) {
      const key = [x.summary, enhanced, x.hint].join('\n');
      if (this.said.failures.has(key)) return this.note('explained above');
      this.said.failures.add(key);
    }
    // Success and progress are explained once.
    if (!this.brief || failed) {
      // An EHLO reply's lines are explained beside them already.
      if (failed || !(this.said.summaries.has(x.summary) || (ehlo && Object.keys(ehlo.extensions).length)))
        this.note(x.summary);
      this.said.summaries.add(x.summary);
      if (enhanced) this.note(enhanced);
    }
    if (x.hint) this.line(c.yellow(`    # try: ${x.hint}`));
  }

  /** EHLO lines carry their explanation beside them; after TLS only the lines that changed do. */
  private replyLines(reply: Reply, marker: string, paint: Paint, ehlo: Capabilities | undefined, tls: boolean) {
    const wire = replyWireLines(reply).map(printable);
    if (!ehlo) {
      for (const l of wire) this.line(paint(marker + l));
      return;
    }
    const changes = tls && this.plainCaps ? diffCapabilities(this.plainCaps, ehlo) : undefined;
    const explained = (keyword: string) =>
      !changes || changes.added.includes(keyword) || changes.changed.includes(keyword);
    const width = Math.max(
      0,
      ...wire
        .slice(1)
        .map((l) => l.length)
        .filter((n) => n <= NOTE_COLUMN),
    );
    // Each line's explanation, unless shown beside the same line before (another connection).
    let repeated = false;
    const notes = wire.map((_l, i) => {
      const words = (reply.lines[i] ?? '')
        .trim()
        .split(/[\s=]+/)
        .filter(Boolean);
      const keyword = words.shift()?.toUpperCase();
      if (i === 0 || !keyword || !explained(keyword)) return undefined;
      const note = explainExtension(keyword, ehlo.extensions[keyword] ?? words);
      if (this.said.extensions.has(`${keyword}\n${note}`)) return void (repeated = true);
      this.said.extensions.add(`${keyword}\n${note}`);
      return note;
    });
    wire.forEach((l, i) => {
      const note = i === 0 && repeated ? 'extensions explained above' : notes[i];
      if (note === undefined) return this.line(paint(marker + l));
      this.line(`${paint(marker + l.padEnd(width))}  ${this.c.dim(`# ${printable(note)}`)}`);
    });
    if (changes) {
      const parts = [
        changes.added.length && `added ${changes.added.join(', ')}`,
        changes.removed.length && `removed ${changes.removed.join(', ')}`,
        changes.changed.length && `changed ${changes.changed.join(', ')}`,
      ].filter(Boolean);
      this.line(
        this.c.blue(
          `=== After TLS the server ${parts.length ? printable(parts.join('; ')) : 'offers the same extensions'}`,
        ),
      );
    }
  }

  private briefCapabilities(caps: Capabilities, tls: boolean): string {
    const keys = Object.keys(caps.extensions);
    if (tls && this.plainCaps) {
      const d = diffCapabilities(this.plainCaps, caps);
      const parts = [
        ...d.added.map((k) => `+${[k, ...(caps.extensions[k] ?? [])].join(' ')}`),
        ...d.removed.map((k) => `-${k}`),
        ...d.changed.map((k) => `~${[k, ...(caps.extensions[k] ?? [])].join(' ')}`),
      ];
      return printable(`after TLS: ${parts.length ? parts.join(', ') : 'no change'}`);
    }
    return printable(`${keys.length} extension${keys.length === 1 ? '' : 's'}: ${keys.join(' ')}`);
  }

  private capabilities(caps: Capabilities, tls: boolean) {
    if (!tls) this.plainCaps = caps;
    const shown = this.ehloShown;
    this.ehloShown = false;
    if (caps.via === 'HELO') this.line(this.c.blue('=== HELO session: no extensions'));
    else if (!shown) {
      // Asked for again (the REPL's /caps): the whole table, each explained.
      const entries = Object.entries(caps.extensions);
      this.line(this.c.blue(`=== Capabilities${tls ? ' (over TLS)' : ''}: ${entries.length}`));
      const width = Math.min(NOTE_COLUMN, Math.max(0, ...entries.map(([k, p]) => [k, ...p].join(' ').length)));
      for (const [keyword, params] of entries)
        this.line(
          `    ${printable([keyword, ...params].join(' ')).padEnd(width)}  ${this.c.dim(`# ${printable(explainExtension(keyword, params))}`)}`,
        );
    }
    for (const n of capabilityNotes(caps, tls)) this.line(this.c.yellow(`!!! ${printable(n)}`));
  }

  private tls(f: TlsFacts) {
    const { c } = this;
    const info = (s: string) => this.line(c.magenta(`=== ${s}`));
    const leaf = f.chain[0];
    const verdict = `trusted ${f.trusted ? 'yes' : `NO, ${f.trustError}`}; name ${f.nameChecked} matches ${f.nameMatches ? 'yes' : `NO, ${f.nameError}`}`;
    const days = (d: number) => (d < 0 ? `EXPIRED ${-d} days ago` : `${d} days left`);
    if (this.brief) {
      info(
        printable(
          `TLS ${f.protocol} ${f.cipher}; certificate ${leaf ? `${leaf.subject} (${days(leaf.daysLeft)})` : '(none)'}; ${verdict}`,
        ),
      );
    } else {
      info(
        printable(
          `TLS ${f.protocol}, cipher ${f.cipher}${f.keyExchange ? `, key exchange ${f.keyExchange}` : ''}, SNI ${f.sni ?? '(none sent)'}`,
        ),
      );
      // The same chain again (another connection to the server): one line that points up.
      const chain = f.chain.map((cert) => cert.sha256).join(' ');
      const again = !!leaf && this.said.chains.has(chain);
      this.said.chains.add(chain);
      if (again) {
        info(printable(`Certificate chain shown above (${leaf.subject}); ${verdict}`));
      } else {
        // The server's own certificate in two lines, each issuer in one.
        f.chain.forEach((cert, i) => {
          const names = cert.subjectAltNames.length ? `; names ${cert.subjectAltNames.join(', ')}` : '';
          const head = `Certificate ${i}: ${cert.subject}${cert.issuer === cert.subject ? ' (self-signed)' : `, issued by ${cert.issuer}`}`;
          const validity = `valid ${cert.validFrom.slice(0, 10)} to ${cert.validTo.slice(0, 10)} (${days(cert.daysLeft)}); ${cert.key}; SHA-256 ${cert.sha256}`;
          if (i === 0) {
            info(printable(`${head}${names}`));
            info(`  ${printable(validity)}`);
          } else info(printable(`${head}; ${validity}`));
        });
        info(printable(`Chain ${verdict}`));
      }
    }
    if (f.protocol === 'TLSv1' || f.protocol === 'TLSv1.1')
      this.line(c.yellow(`!!! ${f.protocol} is obsolete (RFC 8996); the server should offer TLS 1.2 or 1.3`));
  }

  private note(text: string) {
    this.line(this.c.dim(`    # ${printable(text)}`));
  }

  private line(text: string) {
    this.out.write(`${text}\n`);
  }
}
