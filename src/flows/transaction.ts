import { SmtpkitError } from '../errors.js';
import type { Address } from '../message/address.js';
import type { OutgoingMessage } from '../message/build.js';
import { hasExtension, sizeLimit, type Capabilities } from '../protocol/capabilities.js';
import { bareLineEndsText, DataEncoder, type LineEndings } from '../protocol/data-encoder.js';
import { mail, rcpt, type MailParams, type RcptParams } from '../protocol/envelope.js';
import { assertSingleLine } from '../protocol/command.js';
import { isPositive, replyText, type Reply } from '../protocol/reply.js';
import type { SmtpSession } from '../session/session.js';

/** Who the message is from and for, with the DSN and REQUIRETLS wishes (RFC 3461, 8689). */
export interface Envelope {
  from: Address;
  recipients: Address[];
  notify?: string;
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  requiretls?: boolean;
}

export type TransactionStep = 'mail' | 'rcpt' | 'data';

export interface TransactionOptions {
  /** Pipeline MAIL and RCPT when the server offers PIPELINING (RFC 2920). */
  pipelining: boolean;
  /** DATA in the same batch too (load mode: one round trip less per message). */
  pipelineData?: boolean;
  /** BDAT instead of DATA when the server offers CHUNKING (RFC 3030). */
  bdat?: boolean;
  /** A refused recipient fails the transaction even when others were accepted. */
  strict?: boolean;
  /** Stop after this step, sending nothing more of the transaction. */
  stopAfter?: TransactionStep;
  /** The message as it goes on the wire after DATA, when already encoded (sent many times). */
  wire?: Buffer;
  /** QUIT in the same write as the end of the message, when pipelining (load mode's last message). */
  quitAfter?: boolean;
  /** Told when the envelope is done and the message starts (load mode's latencies). */
  onData?: () => void;
  /** Where a prepared message came from (--data FILE): said instead of headers not shown. */
  source?: string;
  /** Told once the message is on the wire: the line ends it had that were not CRLF (sent as CRLF). */
  onLineEndings?: (e: LineEndings) => void;
}

export interface RecipientResult {
  address: string;
  accepted: boolean;
  reply: Reply;
}

export interface TransactionResult {
  /** Set when the transaction stopped early as asked. */
  stopped?: TransactionStep;
  recipients: RecipientResult[];
  final?: Reply;
  queueId?: string;
}

const BDAT_CHUNK = 1024 * 1024;

/**
 * One mail transaction (RFC 5321 §3.3): MAIL with every parameter the message and the
 * server call for, RCPT for each recipient, DATA or BDAT, the final reply. Used by send,
 * load mode, probe's envelope checks and the REPL's /send. A refusal throws a
 * SmtpkitError of class `rejected` carrying the reply and the step (`phase`).
 */
export async function mailTransaction(
  session: SmtpSession,
  envelope: Envelope,
  message: OutgoingMessage | undefined,
  opts: TransactionOptions,
): Promise<TransactionResult> {
  const caps = session.capabilities;
  if (!caps) throw new Error('bug: a mail transaction before EHLO');
  const warn = (message: string) => session.emit({ type: 'warning', message });
  const lines = envelopeLines(caps, session.isTls, envelope, message, warn);
  const mailLine = lines[0]!;
  const rcptLines = lines.slice(1);
  const stop = opts.stopAfter;
  const pipelined = opts.pipelining && hasExtension(caps, 'PIPELINING') && stop !== 'mail';
  const useBdat = !!opts.bdat && hasExtension(caps, 'CHUNKING');
  if (opts.bdat && !useBdat && message)
    session.emit({ type: 'warning', message: 'the server does not offer CHUNKING: sending with DATA instead of BDAT' });
  const dataInBatch = pipelined && !!opts.pipelineData && !useBdat && !stop && !!message;

  const replies = pipelined
    ? await session.pipeline(
        [{ line: mailLine }, ...rcptLines.map((line) => ({ line })), ...(dataInBatch ? [{ line: 'DATA' }] : [])],
        'envelope',
      )
    : [await session.command(mailLine, { phase: 'envelope' })];
  const mailReply = replies[0]!;
  const dataReply = dataInBatch ? replies.pop() : undefined;
  if (!isPositive(mailReply)) {
    abandonData(session, dataReply);
    throw new SmtpkitError(
      'rejected',
      `the server refused the sender: ${mailReply.code} ${replyText(mailReply)}`,
      'mail',
      { reply: mailReply },
    );
  }
  if (stop === 'mail') return { stopped: 'mail', recipients: [] };
  if (!pipelined) for (const line of rcptLines) replies.push(await session.command(line, { phase: 'envelope' }));

  const recipients = envelope.recipients.map((r, i) => ({
    address: r.address,
    accepted: isPositive(replies[i + 1]!),
    reply: replies[i + 1]!,
  }));
  const accepted = recipients.filter((r) => r.accepted);
  const refused = recipients.filter((r) => !r.accepted);
  if (!accepted.length) {
    abandonData(session, dataReply);
    const reply = refused[0]?.reply;
    throw new SmtpkitError(
      'rejected',
      `the server accepted none of the ${recipients.length} recipient(s): ${refused.map((r) => `${r.address} (${r.reply.code})`).join(', ')}`,
      'rcpt',
      reply ? { reply } : {},
    );
  }
  if (refused.length) {
    const text = `${refused.length} of ${recipients.length} recipients refused: ${refused.map((r) => `${r.address} (${r.reply.code} ${replyText(r.reply)})`).join('; ')}`;
    if (opts.strict) {
      abandonData(session, dataReply);
      throw new SmtpkitError('rejected', `${text} (--strict)`, 'rcpt', { reply: refused[0]!.reply });
    }
    session.emit({ type: 'warning', message: text });
  }
  if (stop === 'rcpt' || !message) return { stopped: 'rcpt', recipients };

  let final: Reply;
  // One encoder per message, on every road (DATA, BDAT): it alone decides what the server gets.
  const encoder = new DataEncoder(!useBdat);
  if (useBdat) {
    if (stop === 'data') return { stopped: 'data', recipients };
    opts.onData?.();
    final = await sendBdat(session, encoded(message, encoder));
  } else {
    const data = dataReply ?? (await session.command('DATA', { phase: 'data' }));
    if (data.code >= 400)
      throw new SmtpkitError('rejected', `the server refused DATA: ${data.code} ${replyText(data)}`, 'data', {
        reply: data,
      });
    // Anything but 354 that is no refusal breaks the protocol: the server is not reading a message.
    if (data.code !== 354)
      throw new SmtpkitError(
        'protocol',
        `the server answered DATA with ${data.code} instead of 354, so no message was sent: ${replyText(data)}`,
        'data',
        { reply: data, kind: 'other' },
      );
    if (stop === 'data') {
      // After 354 anything we send is message text; only closing aborts the transaction.
      session.close();
      return { stopped: 'data', recipients };
    }
    opts.onData?.();
    if (session.observed)
      for (const line of message.headerLines) session.emit({ type: 'sent', line, command: 'MESSAGE' });
    // A --data file is not read ahead, so its headers were not shown: say where it came from instead.
    const shown = message.headerLines.length ? 'headers shown above' : `from ${opts.source ?? 'a prepared message'}`;
    const summary = `.  [message: ${message.size ?? opts.wire?.length ?? '?'} bytes, ${shown}]`;
    final = await session.sendMessage(opts.wire ?? encoded(message, encoder), summary, {
      quit: !!opts.quitAfter && pipelined,
    });
  }
  if (!opts.wire) lineEndingsSent(session, encoder.lineEndings, opts.onLineEndings);
  if (final.code >= 400)
    throw new SmtpkitError('rejected', `the server refused the message: ${final.code} ${replyText(final)}`, 'data', {
      reply: final,
    });
  // A 3xx (or anything not 2xx) after the end of the message says neither yes nor no, and
  // 221 is the goodbye to a QUIT, not an answer to the message: what became of it is unknown.
  if (!isPositive(final) || final.code === 221) {
    // After a 354 the server may still be reading message text: a QUIT would only feed it.
    if (final.code === 354) session.close();
    throw new SmtpkitError(
      'protocol',
      `the server answered the end of the message with ${final.code}, which is neither acceptance nor refusal: whether it took the message is unknown: ${replyText(final)}`,
      'data',
      { reply: final, kind: 'other' },
    );
  }
  // Found when asked: load mode never asks, and it costs three patterns per message.
  return {
    recipients,
    final,
    get queueId() {
      return queueIdOf(final);
    },
  };
}

/** A 354 to a pipelined DATA whose envelope failed: the server waits for text; only closing ends that. */
function abandonData(session: SmtpSession, dataReply: Reply | undefined) {
  if (dataReply?.code === 354) session.close();
}

/** What a reply in a planned round must be: 2xx, 354, 2xx but not the 221 goodbye, anything (QUIT's). */
export type Expected = 'positive' | 'go-ahead' | 'accepted' | 'any';

/** One pipelined write and the replies it must get, in order. */
export interface Round {
  /** Written as one (corked) write. */
  bytes: Buffer[];
  /** The lines, as the session would send them; '.' stands for the message and its end. */
  lines: string[];
  expect: Expected[];
}

/**
 * Load mode's transaction as a plan: what mailTransaction sends with pipelining and DATA in
 * the batch (the same lines, from the same code), with the replies that let it go on. Made
 * once per message and EHLO answer; a reply it does not expect is for mailTransaction to judge.
 */
export interface TransactionPlan {
  /** MAIL, RCPT..., DATA: a connection's first message. */
  envelope: Round;
  /** The same after RSET: each later message on the connection (RSET may be pipelined, RFC 2920 §3.1). */
  nextEnvelope: Round;
  /** The message with its end. */
  message: Round;
  /** The same with QUIT: the connection's last message. */
  lastMessage: Round;
}

const QUIT = Buffer.from('QUIT\r\n');
/** Messages up to this size are copied once per plan to go out with QUIT in one buffer (one write, not a writev). */
const ONE_COPY = 64 * 1024;

/**
 * The plan for a server's capabilities, or undefined where the session must do it step by
 * step (no PIPELINING) or refuse it with its explanation (the message does not fit).
 */
export function planTransaction(
  caps: Capabilities,
  isTls: boolean,
  envelope: Envelope,
  message: OutgoingMessage,
  wire: Buffer,
): TransactionPlan | undefined {
  if (!hasExtension(caps, 'PIPELINING')) return undefined;
  let lines: string[];
  try {
    lines = envelopeLines(caps, isTls, envelope, message, () => {});
  } catch (err) {
    if (err instanceof SmtpkitError) return undefined;
    throw err;
  }
  // The session's last guard before the wire, once for every connection the plan serves.
  for (const line of lines) assertSingleLine(line, 'a command line');
  const commands = (ls: string[]): Round => ({
    bytes: [Buffer.from(ls.map((l) => `${l}\r\n`).join(''))],
    lines: ls,
    expect: ls.map((l) => (l === 'DATA' ? 'go-ahead' : 'positive')),
  });
  return {
    envelope: commands([...lines, 'DATA']),
    nextEnvelope: commands(['RSET', ...lines, 'DATA']),
    message: { bytes: [wire], lines: ['.'], expect: ['accepted'] },
    // One buffer for one write when that costs little memory; a large message is not copied.
    lastMessage: {
      bytes: wire.length <= ONE_COPY ? [Buffer.concat([wire, QUIT])] : [wire, QUIT],
      lines: ['.', 'QUIT'],
      expect: ['accepted', 'any'],
    },
  };
}

/**
 * MAIL with the parameters the message needs and the server offers, then one RCPT per
 * recipient: the lines both roads send (the session's, and load mode's plan). Throws, before
 * anything is sent, when the message cannot fit the server (SIZE, SMTPUTF8, REQUIRETLS).
 */
function envelopeLines(
  caps: Capabilities,
  isTls: boolean,
  e: Envelope,
  m: OutgoingMessage | undefined,
  warn: (message: string) => void,
): string[] {
  if (m) checkFits(caps, isTls, m, e);
  const dsn = hasExtension(caps, 'DSN');
  const p: MailParams = {};
  if (m && m.size !== undefined && hasExtension(caps, 'SIZE')) p.size = m.size;
  if (m?.eightBit && hasExtension(caps, '8BITMIME')) p.body = '8BITMIME';
  if (m?.utf8) p.smtputf8 = true;
  if (e.requiretls) p.requiretls = true;
  if (e.ret || e.envid || e.notify) {
    if (!dsn) warn('the server does not offer DSN: --dsn-notify, --dsn-ret and --envid are left out');
    else {
      if (e.ret) p.ret = e.ret;
      if (e.envid) p.envid = e.envid;
    }
  }
  const rcptParams = (r: Address): RcptParams => (e.notify && dsn ? { notify: e.notify, orcpt: r.address } : {});
  return [mail(e.from.address, p), ...e.recipients.map((r) => rcpt(r.address, rcptParams(r)))];
}

/** SIZE, SMTPUTF8 and REQUIRETLS are preconditions: refuse before MAIL rather than fail after DATA. */
function checkFits(caps: Capabilities, isTls: boolean, m: OutgoingMessage, e: Envelope) {
  const limit = sizeLimit(caps);
  if (limit && m.size !== undefined && m.size > limit)
    throw new SmtpkitError(
      'rejected',
      `the message is ${m.size} bytes but the server takes at most ${limit} (SIZE); nothing was sent`,
      'mail',
    );
  if (m.utf8 && !hasExtension(caps, 'SMTPUTF8'))
    throw new SmtpkitError(
      'rejected',
      'an address has non-ASCII characters but the server does not offer SMTPUTF8, so it cannot take them',
      'mail',
    );
  if (e.requiretls && !(isTls && hasExtension(caps, 'REQUIRETLS'))) {
    throw new SmtpkitError(
      'rejected',
      isTls ? 'the server does not offer REQUIRETLS' : 'REQUIRETLS needs a TLS session',
      'mail',
    );
  }
}

/** Says once, as a warning, that the message's bare line ends went out as CRLF. */
function lineEndingsSent(session: SmtpSession, e: LineEndings, told?: (e: LineEndings) => void) {
  told?.(e);
  const text = lineEndingsNote(e);
  if (text) session.emit({ type: 'warning', message: text });
}

/** The warning for bare line ends in a message (none: undefined); load mode says it once per run. */
export function lineEndingsNote(e: LineEndings, dryRun = false): string | undefined {
  if (!e.bareLf && !e.bareCr) return undefined;
  return `the message had ${bareLineEndsText(e)} line end(s): each ${dryRun ? 'would go' : 'went'} out as CRLF, the only line end RFC 5321 §2.3.8 allows; a server sent the original bytes may read them differently (a hardened one refuses bare line ends)`;
}

/** The message as it goes on the wire: CRLF line ends only, dot-stuffed for DATA. */
export async function* encoded(m: OutgoingMessage, encoder: DataEncoder): AsyncIterable<Buffer> {
  for await (const chunk of m.chunks()) {
    const out = encoder.push(chunk);
    if (out.length) yield out;
  }
  yield encoder.end();
}

/** The whole wire form at once, for a message sent many times (load mode), and its line ends. */
export async function wireForm(m: OutgoingMessage): Promise<{ wire: Buffer; lineEndings: LineEndings }> {
  const encoder = new DataEncoder(true);
  const parts: Buffer[] = [];
  for await (const c of encoded(m, encoder)) parts.push(c);
  return { wire: Buffer.concat(parts), lineEndings: encoder.lineEndings };
}

/** BDAT in chunks of up to 1 MiB; the last one says LAST. */
async function sendBdat(session: SmtpSession, pieces: AsyncIterable<Buffer>): Promise<Reply> {
  let pending: Buffer[] = [];
  let pendingSize = 0;
  let held: Buffer | undefined;
  const flush = async (chunk: Buffer, last: boolean) => {
    const reply = await session.bdat(chunk, last);
    if (!last && !isPositive(reply))
      throw new SmtpkitError('rejected', `the server refused a BDAT chunk: ${reply.code} ${replyText(reply)}`, 'data', {
        reply,
      });
    return reply;
  };
  for await (const piece of pieces) {
    pending.push(piece);
    pendingSize += piece.length;
    if (pendingSize >= BDAT_CHUNK) {
      if (held) await flush(held, false);
      held = Buffer.concat(pending);
      pending = [];
      pendingSize = 0;
    }
  }
  const rest = Buffer.concat(pending);
  if (held && rest.length) {
    await flush(held, false);
    return flush(rest, true);
  }
  return flush(held ?? rest, true);
}

/** The queue id in the usual places: Postfix "queued as X", Exim "id=X", Exchange "InternalId=X". */
export function queueIdOf(reply: Reply): string | undefined {
  const text = replyText(reply);
  return (
    /queued as ([\w.-]+)/i.exec(text)?.[1] ?? /\bid=([\w.-]+)/i.exec(text)?.[1] ?? /InternalId=(\d+)/.exec(text)?.[1]
  );
}
