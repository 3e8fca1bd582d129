import { readFileSync, statSync } from 'node:fs';
import { userInfo, hostname } from 'node:os';
import { SmtpkitError, usageError } from '../errors.js';
import { hasExtension, sizeLimit } from '../protocol/capabilities.js';
import { DataEncoder } from '../protocol/data-encoder.js';
import { isPositive, replyText, type Reply } from '../protocol/reply.js';
import { formatTarget } from '../protocol/target.js';
import { parseAddress, parseAddressList, type Address } from '../message/address.js';
import { buildMessage, parseHeader, type MessageSpec, type OutgoingMessage } from '../message/build.js';
import type { SmtpSession } from '../session/session.js';
import { greetAndSecure, login, planAuth, startTlsMode, type AuthFlags, type AuthPlan } from './establish.js';
import type { ResolverFlags } from '../dns/resolver.js';
import { sessionOptions } from './options.js';
import { failureOutcome, runSession, type Flags, type Details } from './run.js';

export interface SendFlags extends Flags, AuthFlags, ResolverFlags {
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

const QUIT_AFTER = ['connect', 'ehlo', 'tls', 'auth', 'mail', 'rcpt', 'data'] as const;
type Step = (typeof QUIT_AFTER)[number];
const BDAT_CHUNK = 1024 * 1024;

interface Envelope {
  from: Address;
  recipients: Address[];
  notify: string | undefined;
  ret: string | undefined;
  envid: string | undefined;
}

/** Everything checked and read before connecting: bad input never reaches a server. */
async function prepare(flags: SendFlags): Promise<{ spec: MessageSpec; envelope: Envelope; quitAfter: Step | undefined }> {
  const from = parseAddress(flags.from ?? `${userInfo().username}@${hostname()}`, '--from', true);
  const to = parseAddressList(flags.to, '--to');
  const cc = parseAddressList(flags.cc, '--cc');
  const bcc = parseAddressList(flags.bcc, '--bcc');
  if (!to.length && !cc.length && !bcc.length) throw usageError('give at least one recipient with --to, --cc or --bcc');
  const quitAfter = flags.quitAfter as Step | undefined;
  if (quitAfter !== undefined && !QUIT_AFTER.includes(quitAfter)) throw usageError(`--quit-after must be one of ${QUIT_AFTER.join(', ')}`);
  const notify = flags.dsnNotify?.toUpperCase();
  if (notify !== undefined && !/^(NEVER|(SUCCESS|FAILURE|DELAY)(,(SUCCESS|FAILURE|DELAY))*)$/.test(notify)) throw usageError('--dsn-notify takes NEVER or a list of SUCCESS, FAILURE, DELAY');
  const ret = flags.dsnRet?.toUpperCase();
  if (ret !== undefined && ret !== 'FULL' && ret !== 'HDRS') throw usageError('--dsn-ret takes FULL or HDRS');
  if (flags.envid !== undefined && !/^[!-~]{1,100}$/.test(flags.envid)) throw usageError('--envid must be 1 to 100 printable ASCII characters without spaces');
  for (const h of flags.header ?? []) parseHeader(h);
  if ([flags.body !== undefined, flags.bodyFile !== undefined, flags.data !== undefined].filter(Boolean).length > 1) {
    throw usageError('--body, --body-file and --data exclude each other');
  }
  const spec: MessageSpec = {
    from,
    to,
    cc,
    subject: flags.subject ?? `smtpkit test ${new Date().toISOString()}`,
    headers: flags.header ?? [],
    body: flags.body === '-' ? (await readStdin()).toString('utf8') : flags.bodyFile !== undefined ? readText(flags.bodyFile, '--body-file') : (flags.body ?? 'This is a test message sent by smtpkit.\n'),
    html: !!flags.html,
    attachments: (flags.attach ?? []).map((path) => ({ path, size: fileSize(path, '--attach') })),
    raw: flags.data === undefined ? undefined : flags.data === '-' ? fromBuffer(await readStdin()) : { path: flags.data, data: undefined, size: fileSize(flags.data, '--data') },
  };
  if (spec.raw && (spec.attachments.length || flags.html || flags.subject || spec.headers.length)) {
    throw usageError('--data sends a complete message as it is: it excludes --subject, --header, --html and --attach');
  }
  return { spec, envelope: { from, recipients: [...to, ...cc, ...bcc], notify, ret, envid: flags.envid }, quitAfter };
}

/** `smtpkit send`: one message, with everything the server offers that the user asked for. */
export async function send(spec: string | undefined, flags: SendFlags): Promise<number> {
  if (flags.dryRun) return dryRun(flags);
  if ([flags.count, flags.concurrency, flags.perConnection, flags.rate].some((v) => v !== undefined)) return loadMode(spec, flags);
  // No server: deliver to the recipients' domain through its MX hosts.
  let mxDomain: string | undefined;
  try {
    mxDomain = spec ? undefined : recipientDomain(flags);
  } catch (err) {
    const o = failureOutcome(err);
    process.stderr.write(`smtpkit: ${o.message}\n`);
    return o.exitCode;
  }
  return runSession('send', spec ?? mxDomain ?? '', flags, async (session, details) => {
    const { spec: message, envelope, quitAfter } = await prepare(flags);
    const targets = mxDomain || flags.dane ? await import('./mx-targets.js') : undefined;
    const resolver = mxDomain ? await targets!.useMx(session, mxDomain, flags) : flags.dane ? (await import('../dns/resolver.js')).Resolver.fromFlags(flags, session.options.tls.ca) : undefined;
    // DANE judges the certificate inside the handshake, so it is installed before connecting.
    if (flags.dane && resolver) targets!.installDane(session, resolver);
    const wantsAuth = flags.auth || flags.user !== undefined;
    const plan: AuthPlan | undefined = wantsAuth ? planAuth(flags, (m) => session.emit({ type: 'warning', message: m })) : undefined;
    const stop = (step: Step) => quitAfter === step;
    const stopped = (step: Step) => `stopped after ${step} as asked (--quit-after ${step}); nothing was delivered`;

    const stoppedEarly = await greetAndSecure(session, startTlsMode(flags.starttls), stop);
    if (flags.dane && resolver && (session.isTls || !stoppedEarly)) await targets!.verifyDane(session, resolver);
    if (stoppedEarly) return stopped(quitAfter!);
    const where = formatTarget(session.currentHost, session.options.port);
    if (plan) await login(session, plan);
    if (stop('auth')) return stopped('auth');

    const caps = session.capabilities!;
    const outgoing = buildMessage(message, hasExtension(caps, '8BITMIME'));
    checkFits(session, outgoing, flags);
    details.size = outgoing.size;

    const mail = mailCommand(session, envelope, outgoing, flags);
    const rcpts = envelope.recipients.map((r) => rcptCommand(session, r, envelope));
    const pipelined = flags.pipelining !== false && hasExtension(caps, 'PIPELINING') && !stop('mail');
    const replies = pipelined ? await session.pipeline([{ line: mail }, ...rcpts.map((line) => ({ line }))], 'envelope') : [await session.command(mail, { phase: 'envelope' })];
    const mailReply = replies[0]!;
    if (!isPositive(mailReply)) throw new SmtpkitError('rejected', `the server refused the sender: ${mailReply.code} ${replyText(mailReply)}`, 'mail');
    if (stop('mail')) return stopped('mail');
    if (!pipelined) for (const line of rcpts) replies.push(await session.command(line, { phase: 'envelope' }));

    const results = envelope.recipients.map((r, i) => ({ address: r.address, accepted: isPositive(replies[i + 1]!), reply: replies[i + 1]! }));
    details.recipients = results.map(({ address, accepted, reply }) => ({ address, accepted, code: reply.code, enhanced: reply.enhanced, text: replyText(reply) }));
    const accepted = results.filter((r) => r.accepted);
    const refused = results.filter((r) => !r.accepted);
    if (!accepted.length) throw new SmtpkitError('rejected', `the server accepted none of the ${results.length} recipient(s): ${refused.map((r) => `${r.address} (${r.reply.code})`).join(', ')}`, 'rcpt');
    if (refused.length) {
      const message = `${refused.length} of ${results.length} recipients refused: ${refused.map((r) => `${r.address} (${r.reply.code} ${replyText(r.reply)})`).join('; ')}`;
      if (flags.strict) throw new SmtpkitError('rejected', `${message} (--strict)`, 'rcpt');
      session.emit({ type: 'warning', message });
    }
    if (stop('rcpt')) return stopped('rcpt');

    const useBdat = !!flags.bdat && hasExtension(caps, 'CHUNKING');
    if (flags.bdat && !useBdat) session.emit({ type: 'warning', message: 'the server does not offer CHUNKING: sending with DATA instead of BDAT' });
    let final: Reply;
    if (useBdat) {
      if (stop('data')) return stopped('data');
      final = await sendBdat(session, outgoing);
    } else {
      const dataReply = await session.command('DATA', { phase: 'data' });
      if (dataReply.code !== 354) throw new SmtpkitError('rejected', `the server refused DATA: ${dataReply.code} ${replyText(dataReply)}`, 'data');
      if (stop('data')) {
        // After 354 anything we send is message text; only closing aborts the transaction.
        session.close();
        return `${stopped('data')} (connection closed after the 354 so no message is taken)`;
      }
      for (const line of outgoing.headerLines) session.emit({ type: 'sent', line, command: 'MESSAGE' });
      final = await session.sendMessage(encoded(outgoing, true), `.  [message: ${outgoing.size} bytes, headers shown above]`);
    }
    details.finalReply = final;
    if (!isPositive(final)) throw new SmtpkitError('rejected', `the server refused the message: ${final.code} ${replyText(final)}`, 'data');
    const queueId = queueIdOf(final);
    details.queueId = queueId;
    return `message accepted by ${where} for ${accepted.length} of ${results.length} recipient(s)${queueId ? `, queue id ${queueId}` : ''}: ${final.code} ${replyText(final)}`;
  });
}

/** The one domain all recipients share, for delivery through its MX hosts. */
function recipientDomain(flags: SendFlags): string {
  const all = [...(flags.to ?? []), ...(flags.cc ?? []), ...(flags.bcc ?? [])].flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  const domains = new Set(all.map((a) => (/@([^@>\s]+)>?\s*$/.exec(a)?.[1] ?? '').toLowerCase()));
  if (!all.length) throw usageError('give at least one recipient with --to, --cc or --bcc');
  if (domains.size !== 1 || domains.has('')) throw usageError('without a server, all recipients must be in one domain: smtpkit delivers through that domain’s MX hosts (or give a server)');
  return [...domains][0]!;
}

/** SIZE, SMTPUTF8 and REQUIRETLS are preconditions: refuse before MAIL rather than fail after DATA. */
function checkFits(session: SmtpSession, m: OutgoingMessage, flags: SendFlags) {
  const caps = session.capabilities!;
  const limit = sizeLimit(caps);
  if (limit && m.size > limit) throw new SmtpkitError('rejected', `the message is ${m.size} bytes but the server takes at most ${limit} (SIZE); nothing was sent`, 'mail');
  if (m.utf8 && !hasExtension(caps, 'SMTPUTF8')) throw new SmtpkitError('rejected', 'an address has non-ASCII characters but the server does not offer SMTPUTF8, so it cannot take them', 'mail');
  if (flags.requiretls && !(session.isTls && hasExtension(caps, 'REQUIRETLS'))) {
    throw new SmtpkitError('rejected', session.isTls ? 'the server does not offer REQUIRETLS' : 'REQUIRETLS needs a TLS session', 'mail');
  }
}

function mailCommand(session: SmtpSession, e: Envelope, m: OutgoingMessage, flags: SendFlags): string {
  const caps = session.capabilities!;
  const params: string[] = [];
  if (hasExtension(caps, 'SIZE')) params.push(`SIZE=${m.size}`);
  if (m.eightBit && hasExtension(caps, '8BITMIME')) params.push('BODY=8BITMIME');
  if (m.utf8) params.push('SMTPUTF8');
  if (flags.requiretls) params.push('REQUIRETLS');
  if (e.ret || e.envid || e.notify) {
    if (!hasExtension(caps, 'DSN')) session.emit({ type: 'warning', message: 'the server does not offer DSN: --dsn-notify, --dsn-ret and --envid are left out' });
    else {
      if (e.ret) params.push(`RET=${e.ret}`);
      if (e.envid) params.push(`ENVID=${xtext(e.envid)}`);
    }
  }
  return [`MAIL FROM:<${e.from.address}>`, ...params].join(' ');
}

function rcptCommand(session: SmtpSession, r: Address, e: Envelope): string {
  const dsn = e.notify && hasExtension(session.capabilities!, 'DSN') ? ` NOTIFY=${e.notify} ORCPT=${r.address.match(/^[\x21-\x7e]*$/) ? 'rfc822' : 'utf-8'};${xtext(r.address)}` : '';
  return `RCPT TO:<${r.address}>${dsn}`;
}

/** RFC 3461 §4: "+" and "=" and anything outside printable ASCII become +XX. */
function xtext(s: string): string {
  return [...Buffer.from(s)].map((b) => (b > 0x20 && b < 0x7f && b !== 0x2b && b !== 0x3d ? String.fromCharCode(b) : `+${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

async function* encoded(m: OutgoingMessage, dotStuff: boolean): AsyncIterable<Buffer> {
  const encoder = new DataEncoder(dotStuff);
  for await (const chunk of m.chunks()) {
    const out = encoder.push(chunk);
    if (out.length) yield out;
  }
  yield encoder.end();
}

/** BDAT in chunks of up to 1 MiB; the last one says LAST. */
async function sendBdat(session: SmtpSession, m: OutgoingMessage): Promise<Reply> {
  let pending: Buffer[] = [];
  let pendingSize = 0;
  let held: Buffer | undefined;
  const flush = async (chunk: Buffer, last: boolean) => {
    const reply = await session.bdat(chunk, last);
    if (!last && !isPositive(reply)) throw new SmtpkitError('rejected', `the server refused a BDAT chunk: ${reply.code} ${replyText(reply)}`, 'data');
    return reply;
  };
  for await (const piece of encoded(m, false)) {
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
  return /queued as ([\w.-]+)/i.exec(text)?.[1] ?? /\bid=([\w.-]+)/i.exec(text)?.[1] ?? /InternalId=(\d+)/.exec(text)?.[1];
}

/** --count/--concurrency: many messages, figures instead of a transcript. */
async function loadMode(spec: string | undefined, flags: SendFlags): Promise<number> {
  try {
    if (!spec) throw usageError('load mode needs a server: smtpkit send HOST[:PORT] --count N ...');
    const { loadSettings, runLoad } = await import('./load.js');
    const settings = loadSettings(flags);
    const { spec: message, envelope } = await prepare(flags);
    const { options } = sessionOptions(spec, flags);
    const auth = flags.auth || flags.user !== undefined ? planAuth(flags, (m) => process.stderr.write(`!!! ${m}\n`)) : undefined;
    // Many sessions share one login: ask once, before the first connection.
    await auth?.secret();
    return await runLoad(options, { ...message, to: envelope.recipients, cc: [] }, settings, { starttls: flags.starttls, auth, json: !!flags.json, quiet: !!flags.quiet, color: flags.color });
  } catch (err) {
    const o = failureOutcome(err);
    process.stderr.write(`smtpkit: ${o.message}\n`);
    return o.exitCode;
  }
}

async function dryRun(flags: SendFlags): Promise<number> {
  try {
    const { spec } = await prepare(flags);
    // Without a server we cannot know about 8BITMIME: show the 7-bit-safe form.
    for await (const chunk of buildMessage(spec, false).chunks()) process.stdout.write(chunk);
    return 0;
  } catch (err) {
    const e = err instanceof SmtpkitError ? err : new SmtpkitError('usage', (err as Error).message);
    process.stderr.write(`smtpkit: ${e.message}\n`);
    return e.exitCode;
  }
}

async function readStdin(): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

const fromBuffer = (data: Buffer) => ({ path: undefined, data, size: data.length });

function fileSize(path: string, option: string): number {
  try {
    const st = statSync(path);
    if (!st.isFile()) throw usageError(`${option}: ${path} is not a file`);
    return st.size;
  } catch (err) {
    if (err instanceof SmtpkitError) throw err;
    throw usageError(`${option}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function readText(path: string, option: string): string {
  fileSize(path, option);
  return readFileSync(path, 'utf8');
}

export type { Details };
