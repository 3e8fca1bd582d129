import { readFileSync, statSync } from 'node:fs';
import { userInfo, hostname } from 'node:os';
import { SmtpkitError, usageError } from '../errors.js';
import { hasExtension } from '../protocol/capabilities.js';
import { assertSingleLine } from '../protocol/command.js';
import { replyText } from '../protocol/reply.js';
import { formatTarget } from '../protocol/target.js';
import { parseAddress, parseAddressList, splitAddressList } from '../message/address.js';
import { mail, rcpt } from '../protocol/envelope.js';
import { buildMessage, parseHeader, type MessageSpec } from '../message/build.js';
import { encoded, lineEndingsNote, mailTransaction, queueIdOf, type Envelope } from '../flows/transaction.js';
import { DataEncoder } from '../protocol/data-encoder.js';
import { greetAndSecure, login, planAuth, startTlsMode, type AuthFlags, type AuthPlan } from '../flows/establish.js';
import type { ResolverFlags } from '../dns/resolver.js';
import { dkimSign, type DkimSignOptions } from '../dkim/sign.js';
import { dkimOptions, type DkimFlags } from './dkim-option.js';
import { sessionOptions } from '../flows/options.js';
import { QUIT_AFTER } from './quit-after.js';
import { jsonDocument } from '../render/json.js';
import { processOutput, type Output } from '../render/output.js';
import { writeBareFailure } from '../render/print-outcome.js';
import { printable } from '../render/printable.js';
import { failureOutcome, runSession, type Flags, type Details } from '../flows/run.js';
import { OPTION_FILE_LIMIT } from '../util/read-option.js';

export interface SendFlags extends Flags, AuthFlags, ResolverFlags, DkimFlags {
  dane?: boolean;
  from?: string;
  to?: string[];
  cc?: string[];
  bcc?: string[];
  subject?: string;
  header?: string[];
  body?: string;
  bodyFile?: string;
  html?: boolean;
  attach?: string[];
  data?: string;
  auth?: boolean;
  pipelining?: boolean;
  dsnNotify?: string;
  dsnRet?: string;
  envid?: string;
  bdat?: boolean;
  requiretls?: boolean;
  quitAfter?: string;
  dryRun?: boolean;
  strict?: boolean;
  count?: string;
  concurrency?: string;
  perConnection?: string;
  rate?: string;
}

// The steps are declared with the option (src/options/commands.ts); checked here again for callers that skip the CLI.
type Step = (typeof QUIT_AFTER)[number];

/** Everything checked and read before connecting: bad input never reaches a server. */
async function prepare(
  flags: SendFlags,
): Promise<{ spec: MessageSpec; envelope: Envelope; quitAfter: Step | undefined; dkim: DkimSignOptions | undefined }> {
  const from = parseAddress(flags.from ?? `${userInfo().username}@${hostname()}`, '--from', true);
  const to = parseAddressList(flags.to, '--to');
  const cc = parseAddressList(flags.cc, '--cc');
  const bcc = parseAddressList(flags.bcc, '--bcc');
  if (!to.length && !cc.length && !bcc.length) throw usageError('give at least one recipient with --to, --cc or --bcc');
  const quitAfter = flags.quitAfter as Step | undefined;
  if (quitAfter !== undefined && !QUIT_AFTER.includes(quitAfter))
    throw usageError(`--quit-after must be one of ${QUIT_AFTER.join(', ')}`);
  const notify = flags.dsnNotify?.toUpperCase();
  if (notify !== undefined && !/^(NEVER|(SUCCESS|FAILURE|DELAY)(,(SUCCESS|FAILURE|DELAY))*)$/.test(notify))
    throw usageError('--dsn-notify takes NEVER or a list of SUCCESS, FAILURE, DELAY');
  const ret = flags.dsnRet?.toUpperCase();
  if (ret !== undefined && ret !== 'FULL' && ret !== 'HDRS') throw usageError('--dsn-ret takes FULL or HDRS');
  // Values that become header lines are wire values too: a CR or LF would add headers.
  if (flags.subject !== undefined) assertSingleLine(flags.subject, '--subject');
  for (const a of flags.attach ?? []) assertSingleLine(a, '--attach');
  if (flags.envid !== undefined && !/^[!-~]{1,100}$/.test(flags.envid))
    throw usageError('--envid must be 1 to 100 printable ASCII characters without spaces');
  for (const h of flags.header ?? []) parseHeader(h);
  const dkim = dkimOptions(flags);
  if ([flags.body !== undefined, flags.bodyFile !== undefined, flags.data !== undefined].filter(Boolean).length > 1) {
    throw usageError('--body, --body-file and --data exclude each other');
  }
  const spec: MessageSpec = {
    from,
    to,
    cc,
    subject: flags.subject ?? `smtpkit test ${new Date().toISOString()}`,
    headers: flags.header ?? [],
    body:
      flags.body === '-'
        ? (await readStdin()).toString('utf8')
        : flags.body !== undefined && swaksFile(flags.body)
          ? readText(swaksFile(flags.body)!, '--body')
          : flags.bodyFile !== undefined
            ? readText(flags.bodyFile, '--body-file')
            : (flags.body ?? 'This is a test message sent by smtpkit.\n'),
    html: !!flags.html,
    attachments: (flags.attach ?? []).map((path) => sized(swaksFile(path) ?? path, '--attach')),
    // Standard input is streamed, never held whole: its size is unknown, so no SIZE= is declared.
    raw:
      flags.data === undefined
        ? undefined
        : flags.data === '-'
          ? { path: undefined, data: undefined, size: undefined, stream: process.stdin as AsyncIterable<Buffer> }
          : sized(swaksFile(flags.data) ?? flags.data, '--data'),
  };
  if (spec.raw && (spec.attachments.length || flags.html || flags.subject || spec.headers.length)) {
    throw usageError('--data sends a complete message as it is: it excludes --subject, --header, --html and --attach');
  }
  return {
    spec,
    envelope: {
      from,
      recipients: [...to, ...cc, ...bcc],
      notify,
      ret,
      envid: flags.envid,
      requiretls: !!flags.requiretls,
    },
    quitAfter,
    dkim,
  };
}

/**
 * swaks' `@FILE`: `--body @msg.txt`, `--attach @report.pdf`, `--data @mail.eml` name a file
 * (a file whose name starts with @ is `./@name`). The path, or undefined for a plain value.
 */
const swaksFile = (value: string) => (value.length > 1 && value.startsWith('@') ? value.slice(1) : undefined);

/** `smtpkit send`: one message, with everything the server offers that the user asked for. */
export async function send(spec: string | undefined, flags: SendFlags): Promise<number> {
  if (flags.dryRun) return dryRun(flags);
  if ([flags.count, flags.concurrency, flags.perConnection, flags.rate].some((v) => v !== undefined))
    return loadMode(spec, flags);
  // No server: deliver to the recipients' domain through its MX hosts.
  let mxDomain: string | undefined;
  try {
    mxDomain = spec ? undefined : recipientDomain(flags);
  } catch (err) {
    return bareFailure(flags, err);
  }
  return runSession('send', spec ?? mxDomain ?? '', flags, async (session, details) => {
    const starttls = startTlsMode(flags.starttls);
    const { spec: message, envelope, quitAfter, dkim } = await prepare(flags);
    if (dkim?.key.warning) session.emit({ type: 'warning', message: dkim.key.warning });
    const targets = mxDomain || flags.dane ? await import('../flows/mx-targets.js') : undefined;
    const resolver = mxDomain
      ? await targets!.useMx(session, mxDomain, flags)
      : flags.dane
        ? (await import('../dns/resolver.js')).Resolver.fromFlags(flags, session.options.tls.ca)
        : undefined;
    // DANE judges the certificate inside the handshake, so it is installed before connecting.
    if (flags.dane && resolver) targets!.installDane(session, resolver);
    const wantsAuth = flags.auth || flags.user !== undefined;
    const plan: AuthPlan | undefined = wantsAuth
      ? planAuth(flags, (m) => session.emit({ type: 'warning', message: m }))
      : undefined;
    const stop = (step: Step) => quitAfter === step;
    const stopped = (step: Step) => `stopped after ${step} as asked (--quit-after ${step}); nothing was delivered`;

    const stoppedEarly = await greetAndSecure(session, starttls, stop);
    if (flags.dane && resolver && (session.isTls || !stoppedEarly)) await targets!.verifyDane(session, resolver);
    if (stoppedEarly) return stopped(quitAfter!);
    const where = formatTarget(session.currentHost, session.options.port);
    if (plan) await login(session, plan);
    if (stop('auth')) return stopped('auth');

    // DKIM signs the final form (after the 8BITMIME choice), as it will travel.
    const built = buildMessage(message, hasExtension(session.capabilities!, '8BITMIME'));
    const outgoing = dkim ? await dkimSign(built, dkim) : built;
    if (dkim)
      details.dkim = {
        domain: /\bd=([^;\s]+)/.exec(outgoing.headerLines[0] ?? '')?.[1],
        selector: dkim.selector,
        algorithm: dkim.key.algorithm,
        keyBits: dkim.key.bits,
        canonicalization: `${dkim.canon.header}/${dkim.canon.body}`,
      };
    details.size = outgoing.size;
    const stopAfter = quitAfter === 'mail' || quitAfter === 'rcpt' || quitAfter === 'data' ? quitAfter : undefined;
    const result = await mailTransaction(session, envelope, outgoing, {
      pipelining: flags.pipelining !== false,
      bdat: !!flags.bdat,
      strict: !!flags.strict,
      stopAfter,
      source: flags.data === undefined ? undefined : flags.data === '-' ? 'standard input' : flags.data,
      onLineEndings: (e) => (details.lineEndings = e),
    });
    details.recipients = result.recipients.map(({ address, accepted, reply }) => ({
      address,
      accepted,
      code: reply.code,
      enhanced: reply.enhanced,
      text: replyText(reply),
    }));
    if (result.stopped === 'data' && !session.isOpen)
      return `${stopped('data')} (connection closed after the 354 so no message is taken)`;
    if (result.stopped) return stopped(result.stopped);
    const final = result.final!;
    details.finalReply = final;
    details.queueId = result.queueId;
    const accepted = result.recipients.filter((r) => r.accepted).length;
    // A partial delivery names who did not get it: -q's one line is all a script may read.
    const refused = result.recipients
      .filter((r) => !r.accepted)
      .map(
        (r) => `<${r.address}> ${r.reply.code}${r.reply.enhanced ? ` ${r.reply.enhanced}` : ''} ${replyText(r.reply)}`,
      );
    return `message accepted by ${where} for ${accepted} of ${result.recipients.length} recipient(s)${result.queueId ? `, queue id ${result.queueId}` : ''}: ${final.code} ${replyText(final)}${refused.length ? `; refused: ${refused.join('; ')}` : ''}`;
  });
}

/** The one domain all recipients share, for delivery through its MX hosts. */
function recipientDomain(flags: SendFlags): string {
  const all = splitAddressList([...(flags.to ?? []), ...(flags.cc ?? []), ...(flags.bcc ?? [])]);
  const domains = new Set(all.map((a) => (/@([^@>\s]+)>?\s*$/.exec(a)?.[1] ?? '').toLowerCase()));
  if (!all.length) throw usageError('give at least one recipient with --to, --cc or --bcc');
  if (domains.size !== 1 || domains.has(''))
    throw usageError(
      'without a server, all recipients must be in one domain: smtpkit delivers through that domain’s MX hosts (or give a server)',
    );
  return [...domains][0]!;
}

export { queueIdOf };

/** --count/--concurrency: many messages, figures instead of a transcript. */
async function loadMode(spec: string | undefined, flags: SendFlags): Promise<number> {
  const output = await processOutput(flags);
  try {
    if (!spec) throw usageError('load mode needs a server: smtpkit send HOST[:PORT] --count N ...');
    const { loadSettings, runLoad } = await import('./load.js');
    const settings = loadSettings(flags);
    // Everything is parsed and checked once, before the first connection.
    const starttls = startTlsMode(flags.starttls);
    const prepared = await prepare(flags);
    const { envelope, dkim } = prepared;
    // The message is made once per 8BITMIME answer (and DKIM checks it before the first
    // connection), in each worker thread: standard input can be read only once and a stream
    // cannot cross into a thread, so `--data -` is read here into memory, where its encoded
    // form would be held anyway.
    const message = prepared.spec.raw?.stream
      ? { ...prepared.spec, raw: await inMemory(prepared.spec.raw.stream) }
      : prepared.spec;
    // -q and --json print their one line or document and nothing else.
    const warn = flags.quiet || flags.json ? () => {} : (m: string) => output.stderr.write(`!!! ${printable(m)}\n`);
    if (dkim?.key.warning && !flags.quiet && !flags.json)
      output.stderr.write(`smtpkit: warning: ${printable(dkim.key.warning)}\n`);
    const { options } = sessionOptions(spec, flags);
    const auth = flags.auth || flags.user !== undefined ? planAuth(flags, warn) : undefined;
    // Many sessions share one login: ask once, before the first connection.
    await auth?.secret();
    return await runLoad(options, message, envelope, settings, {
      starttls,
      auth,
      dkim,
      json: !!flags.json,
      quiet: !!flags.quiet,
      color: flags.color,
    });
  } catch (err) {
    return bareFailure(flags, err, output);
  }
}

/** A send that failed before any session (bad input, a login that cannot be asked for): in the form the flags ask for. */
async function bareFailure(flags: SendFlags, err: unknown, output?: Output): Promise<number> {
  const o = failureOutcome(err);
  writeBareFailure(output ?? (await processOutput(flags)), 'send', o, flags);
  return o.exitCode;
}

/**
 * The envelope (MAIL FROM and every RCPT TO, Bcc included, with the parameters a server
 * offering every extension would get), then the message; nothing is contacted.
 */
async function dryRun(flags: SendFlags): Promise<number> {
  const output = await processOutput(flags);
  try {
    const { spec, envelope, dkim } = await prepare(flags);
    if (dkim?.key.warning) output.stderr.write(`smtpkit: warning: ${printable(dkim.key.warning)}\n`);
    // Without a server we cannot know about 8BITMIME: show the 7-bit-safe form.
    const built = buildMessage(spec, false);
    const message = dkim ? await dkimSign(built, dkim) : built;
    const dsn = !!(envelope.notify || envelope.ret || envelope.envid);
    const mailLine = mail(envelope.from.address, {
      size: message.size,
      smtputf8: message.utf8 || undefined,
      requiretls: envelope.requiretls,
      ...(dsn ? { ret: envelope.ret, envid: envelope.envid } : {}),
    });
    const bcc = new Set(parseAddressList(flags.bcc, '--bcc').map((a) => a.address));
    const rcpts = envelope.recipients.map((r) => ({
      address: r.address,
      line: rcpt(r.address, envelope.notify ? { notify: envelope.notify, orcpt: r.address } : {}),
      bcc: bcc.has(r.address),
    }));
    // As it would go on the wire (CRLF line ends only), without the dot-stuffing that is not part of it.
    const encoder = new DataEncoder(false);
    if (flags.json) {
      const chunks: Buffer[] = [];
      for await (const chunk of encoded(message, encoder)) chunks.push(chunk);
      const outcome = { ok: true, exitCode: 0, message: 'dry run: nothing was sent' };
      output.stdout.write(
        jsonDocument('send', null, outcome, {
          dryRun: true,
          envelope: { mail: mailLine, from: envelope.from.address, recipients: rcpts },
          size: message.size,
          message: Buffer.concat(chunks).toString('utf8'),
          lineEndings: encoder.lineEndings,
        }),
      );
      return 0;
    }
    const lines = [
      '=== Envelope (dry run: nothing is sent; parameters as a server offering every extension would get them)',
      ` -> ${mailLine}`,
      ...rcpts.map((r) => ` -> ${r.line}${r.bcc ? '   (Bcc: in the envelope only)' : ''}`),
      `=== Message (${message.size === undefined ? 'size unknown: read from standard input' : `${message.size} bytes`})`,
    ];
    // The envelope on standard error, the message alone on standard output: `> msg.eml` keeps a clean message.
    output.stderr.write(`${lines.map(printable).join('\n')}\n`);
    for await (const chunk of encoded(message, encoder)) output.data.write(chunk);
    const note = lineEndingsNote(encoder.lineEndings, true);
    if (note) output.stderr.write(`smtpkit: warning: ${printable(note)}\n`);
    return 0;
  } catch (err) {
    return bareFailure(
      flags,
      err instanceof SmtpkitError ? err : new SmtpkitError('usage', (err as Error).message),
      output,
    );
  }
}

/** Load mode holds its one message in memory; from standard input, at most this much. */
const LOAD_STDIN_LIMIT = 256 * 1024 * 1024;

async function inMemory(stream: AsyncIterable<Buffer>): Promise<{ path: undefined; data: Buffer; size: number }> {
  const data = await readStdin(
    stream,
    LOAD_STDIN_LIMIT,
    `load mode with --data - takes at most ${LOAD_STDIN_LIMIT / 1024 / 1024} MiB from standard input (the message is held in memory and sent many times)`,
  );
  return { path: undefined, data, size: data.length };
}

/**
 * Standard input held in memory, so bounded: `--body -` (the body is encoded as a whole; a
 * whole message of any size streams with `--data -` instead) and load mode's `--data -`.
 */
async function readStdin(
  stream: AsyncIterable<Buffer> = process.stdin as AsyncIterable<Buffer>,
  limit = OPTION_FILE_LIMIT,
  tooBig = `--body - takes at most ${OPTION_FILE_LIMIT / 1024 / 1024} MiB from standard input; stream a whole message with --data -, or send a large file with --attach`,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > limit) {
      process.stdin.destroy();
      throw usageError(tooBig);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts, total);
}

/**
 * A file with its size. A regular file whose stat says 0 bytes may still have content
 * (/proc, /sys): it is read ahead, so SIZE= and the MIME sizes are exact.
 */
function sized(path: string, option: string): { path: string; size: number; data: Buffer | undefined } {
  const size = fileSize(path, option);
  if (size > 0) return { path, size, data: undefined };
  try {
    const data = readFileSync(path);
    return { path, size: data.length, data };
  } catch (err) {
    throw usageError(
      `${option}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

function fileSize(path: string, option: string): number {
  try {
    const st = statSync(path);
    if (!st.isFile()) throw usageError(`${option}: ${path} is not a file`);
    return st.size;
  } catch (err) {
    if (err instanceof SmtpkitError) throw err;
    throw usageError(
      `${option}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

function readText(path: string, option: string): string {
  fileSize(path, option);
  return readFileSync(path, 'utf8');
}

export type { Details };
