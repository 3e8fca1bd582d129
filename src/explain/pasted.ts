import { usageError } from '../errors.js';
import { commandVerb } from '../protocol/command.js';
import { replyText, type Reply } from '../protocol/reply.js';
import { causesFor, type Cause } from './causes.js';
import { explainEnhanced, explainReply, type Explanation } from './explain.js';
import { hintFor } from './hints.js';

/** One reply (or status) found in what a person pasted, explained. */
export interface ExplainedInput {
  /** The text it was read from (one line; continuation lines joined). */
  text: string;
  reply: Reply | undefined;
  /** The command it answered: given with --command, or read from the bounce ("in reply to RCPT TO command"). */
  command: string;
  explanation: Explanation;
  causes: Cause[];
  /** From a DSN (RFC 3464): whom and which server the report is about. */
  recipient?: string;
  remoteMta?: string;
  /** The DSN's Status: field, when it differs from the reply's enhanced code or there is no reply. */
  status?: string;
  action?: string;
}

const LONE_ENHANCED = /^[245]\.\d{1,3}\.\d{1,3}$/;
// An enhanced code heading a line with words after it, and no basic code ("5.2.3 Message too large").
const ENHANCED_LINE = /^#?([245]\.\d{1,3}\.\d{1,3})\s+\S/;
// qmail ends its own refusals with the enhanced code: "Sorry, no mailbox here by that name. (#5.1.1)".
const QMAIL_TRAILER = /\(#([245]\.\d{1,3}\.\d{1,3})\)\s*$/;
// Any second digit: RFC 5321 allows 0-5, but servers send 570, 571... and a person pastes them.
const REPLY_START = /^([2-5]\d\d)(?:([ -])(.*))?$/s;
// A DSN per-recipient field (RFC 3464 §2.3) or the usual Postfix/Exim extras.
const DSN_FIELD =
  /^(final-recipient|original-recipient|action|status|remote-mta|diagnostic-code|x-postfix-sender|reporting-mta)\s*:\s*(.*)$/i;
const MAX_ITEMS = 100;

/**
 * Reads what people paste: a code ("550"), a pair ("550 5.7.1"), a lone enhanced code, a
 * reply line with or without continuation markers ("550-5.7.1 ..."), a line prefixed with
 * "#" or "Status:", or a whole bounce/DSN message. Returns every reply found, explained.
 */
export function explainPasted(input: string, command = ''): ExplainedInput[] {
  const lines = unquoted(unbased(input))
    .split(/\r?\n/)
    // Quoting ("> "), comments ("# "), and the reply markers of swaks, our own transcript and
    // Sendmail's session transcript ("<** ", "<~  ", "<<< ").
    .map((l) =>
      l
        .replace(/^\s*(?:>\s?)+/, '')
        .replace(/^\s*#+\s*/, '')
        .replace(/^\s*<(?:\*\*|~\*|<<|-|~)\s+(?=\d{3}[ -]|\d{3}$)/, ''),
    )
    .slice(0, 20_000);
  const whole = lines.join('\n').trim();
  if (!whole) throw unreadable(input);
  const dsn = completed(fromDsn(lines, command), lines, command);
  const items = dsn.length ? dsn : fromText(lines, command);
  if (!items.length) items.push(...fromWords(lines, command));
  // A DSN may say no more than "Status: 5.0.0" (Exim, OpenSMTPD): the human part says why.
  const telling = (i: ExplainedInput) => !!i.reply || i.causes.length > 0;
  if (dsn.length && !dsn.some(telling)) {
    const more = fromText(lines, command).filter(telling);
    items.unshift(...(more.length ? more : fromWords(lines, command)));
  }
  if (!items.length) throw unreadable(input);
  return items.slice(0, MAX_ITEMS);
}

/**
 * A bounce saved with its text part in quoted-printable (RFC 2045 §6.7) has replies cut by soft
 * line breaks ("... The error that the other server return=" / "ed was: 554 ..."): undo them.
 */
function unquoted(input: string): string {
  if (!/^content-transfer-encoding:\s*quoted-printable\s*$/im.test(input)) return input;
  return input
    .replace(/=\r?\n/g, '')
    .replace(/(?:=[0-9A-F]{2})+/g, (run) => Buffer.from(run.replace(/=/g, ''), 'hex').toString('utf8'));
}

/**
 * A bounce whose text parts are base64 (Exchange and Outlook.com send them so, RFC 2045 §6.8):
 * each such part's body decoded in place when it is text; an attachment (an image, the
 * returned message as a file) stays as it is.
 */
function unbased(input: string): string {
  if (!/^content-transfer-encoding:\s*base64\s*$/im.test(input)) return input;
  // Line by line (a pattern over the whole text backtracks quadratically on a long header run).
  const lines = input.split(/(?<=\n)/);
  const out: string[] = [];
  let headers = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    out.push(line);
    if (/^[\w-]+:/.test(line) || (headers && /^[ \t]/.test(line))) {
      headers += line;
      continue;
    }
    const block = headers;
    headers = '';
    // The blank line that ends a header block naming base64 for a text part.
    if (line.trim() || !/^content-transfer-encoding:\s*base64\s*$/im.test(block)) continue;
    const type = /^content-type:\s*([\w.+-]+\/[\w.+-]+)/im.exec(block)?.[1]?.toLowerCase() ?? 'text/plain';
    if (!type.startsWith('text/') && type !== 'message/delivery-status' && type !== 'message/global-delivery-status')
      continue;
    let end = i + 1;
    while (end < lines.length && /^[A-Za-z0-9+/=]+\r?\n?$/.test(lines[end]!)) end++;
    const text = Buffer.from(
      lines
        .slice(i + 1, end)
        .join('')
        .replace(/\s+/g, ''),
      'base64',
    ).toString('utf8');
    // Nothing there, or not text after all (a mislabelled binary part): leave it.
    if (end === i + 1 || /[\0-\x08\x0e-\x1f]/.test(text)) continue;
    out.push(text.endsWith('\n') ? text : `${text}\n`);
    i = end - 1;
  }
  return out.join('');
}

/** The first item alone, for callers that explain one reply (the REPL's `explain`). */
export function explainInput(input: string, command: string): ExplainedInput {
  return explainPasted(input, command)[0]!;
}

const unreadable = (input: string) =>
  usageError(
    `cannot read ${JSON.stringify(input.trim().slice(0, 200))} as a reply: give a code (550), an enhanced code (5.7.1), a reply line (550 5.7.1 Relay access denied), or a bounce message on standard input (smtpkit explain - < bounce.eml)`,
  );

interface DsnGroup {
  recipient?: string;
  action?: string;
  status?: string;
  remoteMta?: string;
  diagnostic?: string;
}

/** RFC 3464 fields, folded lines unfolded, one group per recipient. */
function fromDsn(lines: string[], command: string): ExplainedInput[] {
  const groups: DsnGroup[] = [];
  let current: DsnGroup = {};
  let last: keyof DsnGroup | undefined;
  const flush = () => {
    if (current.status || current.diagnostic) groups.push(current);
    current = {};
  };
  for (const raw of lines) {
    if (/^[ \t]/.test(raw) && last && raw.trim()) {
      current[last] = `${current[last] ?? ''} ${raw.trim()}`;
      continue;
    }
    last = undefined;
    const m = DSN_FIELD.exec(raw.trim());
    if (!m) continue;
    const name = m[1]!.toLowerCase();
    const value = m[2]!.trim();
    const key: keyof DsnGroup | undefined =
      name === 'final-recipient'
        ? 'recipient'
        : name === 'action'
          ? 'action'
          : name === 'status'
            ? 'status'
            : name === 'remote-mta'
              ? 'remoteMta'
              : name === 'diagnostic-code'
                ? 'diagnostic'
                : undefined;
    if (!key) continue;
    // A new recipient, or a field seen twice, starts the next group.
    if (key === 'recipient' || current[key] !== undefined) flush();
    current[key] = value;
    last = key;
  }
  flush();
  const items: ExplainedInput[] = [];
  for (const g of groups) {
    const typed = (v: string | undefined) => v?.replace(/^[\w-]+\s*;\s*/, '').trim();
    const status = /^([245]\.\d{1,3}\.\d{1,3})/.exec(g.status?.trim() ?? '')?.[1];
    const diagnostic = typed(g.diagnostic);
    const context = { recipient: typed(g.recipient), remoteMta: typed(g.remoteMta), action: g.action?.trim() };
    const item = diagnostic ? replyItem(diagnostic, command) : undefined;
    if (item) {
      items.push(withContext({ ...item, ...(status && status !== item.reply?.enhanced ? { status } : {}) }, context));
    } else if (status) {
      // The diagnostic's words (a local delivery error: "No such domain.") say more than the status alone.
      items.push(withContext(enhancedItem(g.status!.trim(), status, command, diagnostic), context));
    } else if (diagnostic) {
      const item = wordsItem(diagnostic, command);
      if (item) items.push(withContext(item, context));
    }
  }
  return items;
}

/**
 * Sendmail's DSN keeps only the first line of a multi-line reply ("552-5.7.0 This message was
 * blocked because its content presents a potential"); its session transcript has them all.
 */
function completed(items: ExplainedInput[], lines: string[], command: string): ExplainedInput[] {
  const cut = (i: ExplainedInput) => i.reply?.lines.length === 1 && /^\d{3}-/.test(i.text);
  if (!items.some(cut)) return items;
  const whole = fromText(lines, command);
  return items.map((i) => {
    const full = cut(i)
      ? whole.find((w) => w.reply?.code === i.reply?.code && w.text.length > i.text.length && w.text.startsWith(i.text))
      : undefined;
    const { recipient, remoteMta, action, status } = i;
    return full
      ? {
          ...full,
          ...(recipient ? { recipient } : {}),
          ...(remoteMta ? { remoteMta } : {}),
          ...(action ? { action } : {}),
          ...(status ? { status } : {}),
        }
      : i;
  });
}

function withContext(
  item: ExplainedInput,
  c: { recipient?: string; remoteMta?: string; action?: string },
): ExplainedInput {
  return {
    ...item,
    ...(c.recipient ? { recipient: c.recipient } : {}),
    ...(c.remoteMta ? { remoteMta: c.remoteMta } : {}),
    ...(c.action ? { action: c.action } : {}),
  };
}

/**
 * Replies in free text: whole lines that are replies (with their continuation lines), a
 * line prefixed "Status:", Postfix's "said: 550 ..." and Exchange's "returned '550 ...'".
 */
function fromText(lines: string[], command: string): ExplainedInput[] {
  const items: ExplainedInput[] = [];
  let previous = '';
  let recipient: string | undefined;
  const add = (item: ExplainedInput) => push(items, recipient ? { ...item, recipient } : item);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    recipient = ADDRESS_LINE.exec(line)?.[1] ?? recipient;
    const status = /^status\s*:\s*([245]\.\d{1,3}\.\d{1,3})\b/i.exec(line);
    if (status) {
      add(enhancedItem(line, status[1]!, command));
      previous = line;
      continue;
    }
    if (LONE_ENHANCED.test(line)) {
      add(enhancedItem(line, line, command));
      continue;
    }
    // Bare reply lines, Postfix bounces ("said: 550 ..."), Exchange ("returned '550 ..."), Gmail
    // ("the other server returned was: 550 ..."), Exim ("host mx.example.com [192.0.2.1]: 550 ..."),
    // OpenSMTPD ("bob@example.com: 550 ..."), and Postfix's log ("NOQUEUE: reject: RCPT from
    // host[ip]: 554 5.7.1 ...; from=<...> to=<...>").
    const logged = /\breject: ([A-Z]+) from \S+?\[[^\]]*\]: ([2-5]\d\d[ -].*?)(?:; from=<.*)?$/.exec(line);
    const start = logged
      ? [line, logged[2]!]
      : /^(?:.*?\bsaid:\s*|.*?\breturned\s+'|.*?\breturned was:\s*|.*?\bdiagnostic-code:\s*(?:smtp;\s*)?|.*?\bhost \S+ \[[^\]]*\]:\s*|<?[^\s<>@]+@[^\s<>:]+>?:\s*|.*?\[[^\s[\]]+ [\d.:a-f]+:\s*)?([2-5]\d\d(?:[ -].*)?)$/i.exec(
          line,
        );
    if (!start || !REPLY_START.test(start[1]!)) {
      // No basic code: "5.2.3 Message too large", or qmail's "Sorry, ... (#5.1.2)".
      const bare = ENHANCED_LINE.exec(line) ?? QMAIL_TRAILER.exec(line);
      if (bare) {
        const item = enhancedItem(line, bare[1]!, command);
        add({ ...item, explanation: { ...item.explanation, note: NO_BASIC_CODE } });
      }
      previous = line;
      continue;
    }
    // The reply goes on over the following lines: continuation lines of the same code, or
    // wrapped text up to a blank line (Postfix wraps "said:" replies at 80 columns).
    // Gmail's "[mx.example.com. 192.0.2.1: 421-4.7.0 ...]": the bracket closes after the reply.
    const bracketed = /\[[^\s[\]]+ [\d.:a-f]+:\s*$/i.test(line.slice(0, line.length - start[1]!.length));
    let text = start[1]!.replace(bracketed ? /\]\s*$/ : /'\s*$/, '');
    const code = text.slice(0, 3);
    // A line "550 ..." (space, not hyphen) ends its reply: the same code on the next line is another reply.
    let ended = text.charAt(3) !== '-';
    while (i + 1 < lines.length) {
      const raw = lines[i + 1] ?? '';
      const next = raw.trim();
      if (!next || DSN_FIELD.test(next)) break;
      const sameCode = new RegExp(`^${code}[ -]`).test(next);
      if (sameCode ? ended : !/^[ \t]/.test(raw)) break;
      if (sameCode) ended = next.charAt(3) !== '-';
      text += `${sameCode ? '\n' : ' '}${next}`;
      i++;
    }
    const item = replyItem(text, command || (logged ? verbOf(logged[1]!) : commandFrom(`${previous} ${text}`)));
    if (item) add(item);
    previous = line;
    if (items.length >= MAX_ITEMS) break;
  }
  return items;
}

/** Sendmail's transcript echoes a refusal under its "<<<" line: the same text is shown once. */
function push(items: ExplainedInput[], item: ExplainedInput): void {
  if (!items.some((i) => i.text === item.text)) items.push(item);
}

// The address a bounce names before its reply: qmail's "<bob@example.com>:", Exim's indented
// "bob@example.com", Postfix's "<bob@example.com>: host ... said: ...".
const ADDRESS_LINE = /^<?([^\s<>@"]+@[^\s<>:@]+?)>?(?::(?:\s|$)|$)/;
const HEADER_FIELD =
  /^(X-[\w-]+|Received|Subject|From|To|Cc|Date|Message-ID|Return-Path|Reply-To|Sender|References|In-Reply-To|MIME-Version|Content-[\w-]+|Authentication-Results|DKIM-Signature|ARC-[\w-]+|List-[\w-]+):/i;
const NO_BASIC_CODE =
  'no basic reply code: an SMTP reply starts with three digits (RFC 5321 §4.2), so this is read from the enhanced code (RFC 3463) and the words alone';
const WORDS_ONLY = 'no reply code in this text: the cause is read from its words alone';

/**
 * Lines that carry no code at all but name a known cause ("Host or domain name not found ...").
 * In a whole message a broad cause (a bare "policy") is too weak a sign: only precise ones count.
 */
function fromWords(lines: string[], command: string): ExplainedInput[] {
  const items: ExplainedInput[] = [];
  const many = lines.filter((l) => l.trim()).length > 1;
  let recipient: string | undefined;
  for (const line of lines) {
    // The returned message's own header fields ("X-Virus-Scanned: ...", "Subject: ...") are not the refusal.
    if (HEADER_FIELD.test(line)) continue;
    recipient = ADDRESS_LINE.exec(line.trim())?.[1] ?? recipient;
    const item = line.trim() ? wordsItem(line.trim(), command, many) : undefined;
    if (item) push(items, recipient ? { ...item, recipient } : item);
    if (items.length >= MAX_ITEMS) break;
  }
  return items;
}

function wordsItem(text: string, command: string, preciseOnly = false): ExplainedInput | undefined {
  const causes = causesFor(undefined, null, text, preciseOnly);
  return causes.length
    ? {
        text,
        reply: undefined,
        command,
        explanation: { summary: '', enhanced: null, hint: null, note: WORDS_ONLY },
        causes,
      }
    : undefined;
}

function verbOf(word: string): string {
  try {
    return commandVerb(word);
  } catch {
    return '';
  }
}

/** The command a bounce says the reply answered ("in reply to RCPT TO command", "after end of data"). */
function commandFrom(text: string): string {
  const m =
    /in reply to (?:the )?(end of data|[A-Z]+(?: (?:TO|FROM))?)\b/i.exec(text) ??
    /\bafter (?:pipelined )?(end of data|RCPT TO|MAIL FROM|DATA|EHLO|HELO|STARTTLS|AUTH)\b/i.exec(text) ??
    // Sendmail's transcript: the command sent (">>> RCPT To:<...>", ">>> DATA", ">>> .") on the line before the reply.
    /^(RCPT TO(?=:)|MAIL FROM(?=:)|DATA(?=\s)|\.(?=\s))/i.exec(text);
  if (!m) return '';
  const said = m[1]!.toUpperCase();
  if (said === 'END OF DATA' || said === '.') return '.';
  try {
    return commandVerb(said);
  } catch {
    return '';
  }
}

/**
 * One reply from text that may hold several lines of it: "550-5.7.1 a\n550 5.7.1 b",
 * the same joined on one line, or a lone continuation line ("550-5.7.1 ..."). The
 * "(in reply to X command)" trailer of Postfix bounces is dropped from the text.
 */
function replyItem(text: string, command: string): ExplainedInput | undefined {
  // Gmail's older bounces say the code twice ("554 554 5.7.0 Header error").
  const flat = text
    .replace(/\s*\(in reply to [^)]*\)\s*$/i, '')
    .trim()
    .replace(/^(\d{3}) \1(?=[ -])/, '$1');
  const m = REPLY_START.exec(flat);
  if (!m) return undefined;
  const code = m[1]!;
  // Split into the lines of the reply wherever the same code starts again.
  // With an enhanced code, only "CODE ENH" starts a line, so "550 bytes" in the text stays text.
  // IronPort and Exchange write it "#5.1.0"; qmail puts it last, "(#5.7.1)".
  const first = /^#?([245]\.\d{1,3}\.\d{1,3})(?=\s|$)/.exec(m[3] ?? '')?.[1];
  const next = first ? `\\s+${code}[ -](?=#?${first.replace(/\./g, '\\.')}(?:\\s|$))` : `\\s*\\n${code}[ -]`;
  const lines = (m[3] ?? '').split(new RegExp(next)).map((p) => p.trim());
  const found = first ?? QMAIL_TRAILER.exec(lines[lines.length - 1] ?? '')?.[1];
  // RFC 3463 §2: the enhanced code's class must agree with the reply's first digit.
  const enhanced = found && found[0] === code[0] ? found.split('.').map(Number).join('.') : null;
  const reply: Reply = { code: Number(code), enhanced, lines };
  const cmd = command || commandFrom(text);
  const body = replyText(reply);
  return {
    text: flat.replace(/\s*\n\s*/g, ' '),
    reply,
    command: cmd,
    explanation: explainReply(reply, cmd),
    causes: causesFor(reply.code, reply.enhanced, body),
  };
}

function enhancedItem(text: string, enhanced: string, command: string, words?: string): ExplainedInput {
  const code = Number(enhanced[0]) * 100 + 50;
  const rest =
    words ??
    text
      .replace(/^status\s*:\s*/i, '')
      .replace(enhanced, '')
      .trim();
  return {
    text,
    reply: undefined,
    command,
    explanation: {
      summary: '',
      enhanced: explainEnhanced(enhanced) ?? null,
      hint: hintFor({ code, enhanced, command, text: rest, tls: false }) ?? null,
    },
    causes: causesFor(undefined, enhanced, rest),
  };
}
