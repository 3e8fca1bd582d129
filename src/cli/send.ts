import { readFileSync, statSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { SmtpkitError, usageError } from '../errors.js';
import { parseAddress, parseAddressList, splitAddressList } from '../message/address.js';
import { parseHeader, type MessageSpec } from '../message/build.js';
import { assertSingleLine } from '../protocol/command.js';
import { QUIT_AFTER } from '../commands/quit-after.js';
import type { SendMessage } from '../commands/send-dry-run.js';
import type { LoadSettings } from '../load/shard.js';
import type { SendSpec } from '../commands/send.js';
import { failureOutcome } from '../render/failure.js';
import { processOutput, type Output } from '../render/output.js';
import { writeBareFailure } from '../render/print-outcome.js';
import { printable } from '../render/printable.js';
import { SMALL_FILE_LIMIT } from '../util/read-file.js';
import { connectionSpec, type ConnectionFlags } from './groups/connection.js';
import { dkimSpec, type DkimFlags } from './groups/dkim.js';
import { loginSpec, type LoginFlags } from './groups/login.js';
import { outputSpec, type OutputFlags } from './groups/output.js';
import { resolverSpec, type ResolverFlags } from './groups/resolver.js';
import { runSession } from './run-session.js';
import { declaredDefault, type OptionSpec } from './declare.js';

/** send's command line as commander hands it over; read here, once, into a SendSpec. */
export interface SendFlags extends ConnectionFlags, OutputFlags, LoginFlags, ResolverFlags, DkimFlags {
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

// The steps are declared with the option (src/cli/commands.ts); checked here again for callers that skip commander.
type Step = (typeof QUIT_AFTER)[number];

/** `smtpkit send`: a dry run, load mode, or one session (to the server, or the recipients' MX hosts). */
export async function sendCommand(
  server: string | undefined,
  flags: SendFlags,
  options: readonly OptionSpec[],
): Promise<number> {
  if (flags.dryRun) {
    const output = await processOutput(outputSpec(flags));
    try {
      const { dryRun } = await import('../commands/send-dry-run.js');
      return await dryRun(await sendMessage(flags), outputSpec(flags), output);
    } catch (err) {
      return bareFailure(
        flags,
        err instanceof SmtpkitError ? err : new SmtpkitError('usage', (err as Error).message),
        output,
      );
    }
  }
  if ([flags.count, flags.concurrency, flags.perConnection, flags.rate].some((v) => v !== undefined))
    return loadMode(server, flags, options);
  // No server: deliver to the recipients' domain through its MX hosts.
  let mxDomain: string | undefined;
  try {
    mxDomain = server ? undefined : recipientDomain(flags);
  } catch (err) {
    return bareFailure(flags, err);
  }
  const send = await import('../commands/send.js');
  return runSession({
    command: 'send',
    server: server ?? mxDomain ?? '',
    flags,
    spec: async (session, connection): Promise<SendSpec> => {
      const message = await sendMessage(flags);
      if (message.dkim?.key.warning) session.emit({ type: 'warning', message: message.dkim.key.warning });
      const warn = (m: string) => session.emit({ type: 'warning', message: m });
      const resolver = mxDomain || flags.dane ? await resolverSpec(flags, connection.options.tls.ca) : undefined;
      return {
        ...message,
        login: await loginSpec(flags, !!flags.auth || flags.user !== undefined, warn),
        mxDomain,
        dane: !!flags.dane,
        resolver,
        transaction: {
          pipelining: flags.pipelining !== false,
          bdat: !!flags.bdat,
          strict: !!flags.strict,
          source: flags.data === undefined ? undefined : flags.data === '-' ? 'standard input' : flags.data,
        },
      };
    },
    script: send.send,
  });
}

/** --count/--concurrency: many messages, figures instead of a transcript. */
async function loadMode(
  server: string | undefined,
  flags: SendFlags,
  declared: readonly OptionSpec[],
): Promise<number> {
  const show = outputSpec(flags);
  const output = await processOutput(show);
  try {
    if (!server) throw usageError('load mode needs a server: smtpkit send HOST[:PORT] --count N ...');
    const { runLoad } = await import('../commands/load.js');
    const settings = loadSettings(flags, declared);
    // Everything is parsed and checked once, before the first connection.
    const prepared = await sendMessage(flags);
    const { envelope, dkim } = prepared;
    // The message is made once per 8BITMIME answer (and DKIM checks it before the first
    // connection), in each worker thread: standard input can be read only once and a stream
    // cannot cross into a thread, so `--data -` is read here into memory, where its encoded
    // form would be held anyway.
    const message = prepared.message.raw?.stream
      ? { ...prepared.message, raw: await inMemory(prepared.message.raw.stream) }
      : prepared.message;
    // -q and --json print their one line or document and nothing else.
    const warn = show.quiet || show.json ? () => {} : (m: string) => output.stderr.write(`!!! ${printable(m)}\n`);
    if (dkim?.key.warning && !show.quiet && !show.json)
      output.stderr.write(`smtpkit: warning: ${printable(dkim.key.warning)}\n`);
    const { options } = connectionSpec(server, flags);
    const { starttls, auth } = await loginSpec(flags, !!flags.auth || flags.user !== undefined, warn);
    // Many sessions share one login: ask once, before the first connection.
    await auth?.secret();
    return await runLoad(options, message, envelope, settings, {
      starttls,
      auth,
      dkim,
      json: show.json,
      quiet: show.quiet,
      color: show.color,
      // SMTPKIT_LOAD_LEAN=0: every connection through the full session (to compare the two).
      lean: process.env.SMTPKIT_LOAD_LEAN !== '0',
    });
  } catch (err) {
    return bareFailure(flags, err, output);
  }
}

/** A send that failed before any session (bad input, a login that cannot be asked for): in the form the flags ask for. */
async function bareFailure(flags: SendFlags, err: unknown, output?: Output): Promise<number> {
  const o = failureOutcome(err);
  const show = outputSpec(flags);
  writeBareFailure(output ?? (await processOutput(show)), 'send', o, show);
  return o.exitCode;
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

/** The message, its envelope and what to do with them: checked and read before connecting, so bad input never reaches a server. */
async function sendMessage(flags: SendFlags): Promise<SendMessage> {
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
  const dkim = await dkimSpec(flags);
  if ([flags.body !== undefined, flags.bodyFile !== undefined, flags.data !== undefined].filter(Boolean).length > 1) {
    throw usageError('--body, --body-file and --data exclude each other');
  }
  const message: MessageSpec = {
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
  if (message.raw && (message.attachments.length || flags.html || flags.subject || message.headers.length)) {
    throw usageError('--data sends a complete message as it is: it excludes --subject, --header, --html and --attach');
  }
  return {
    message,
    envelope: {
      from,
      recipients: [...to, ...cc, ...bcc],
      notify,
      ret,
      envid: flags.envid,
      requiretls: !!flags.requiretls,
    },
    bcc: bcc.map((a) => a.address),
    quitAfter,
    dkim,
  };
}

/**
 * swaks' `@FILE`: `--body @msg.txt`, `--attach @report.pdf`, `--data @mail.eml` name a file
 * (a file whose name starts with @ is `./@name`). The path, or undefined for a plain value.
 */
const swaksFile = (value: string) => (value.length > 1 && value.startsWith('@') ? value.slice(1) : undefined);

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
  limit = SMALL_FILE_LIMIT,
  tooBig = `--body - takes at most ${SMALL_FILE_LIMIT / 1024 / 1024} MiB from standard input; stream a whole message with --data -, or send a large file with --attach`,
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

/** --count, --concurrency, --per-connection, --rate: how much load mode sends, and how fast. */
function loadSettings(
  flags: { count?: string; concurrency?: string; perConnection?: string; rate?: string },
  options: readonly OptionSpec[],
): LoadSettings {
  const int = (v: string | undefined, long: string, max: number) => {
    const option = `--${long}`;
    const n = Number(v ?? declaredDefault(options, long));
    if (!Number.isInteger(n) || n < 1 || n > max) throw usageError(`${option} takes a whole number from 1 to ${max}`);
    return n;
  };
  const rate = flags.rate === undefined ? 0 : Number(String(flags.rate).replace(/\/s$/, ''));
  if (!(rate >= 0)) throw usageError('--rate takes messages per second, e.g. 50 or 50/s');
  return {
    count: int(flags.count, 'count', 10_000_000),
    concurrency: int(flags.concurrency, 'concurrency', 1000),
    perConnection: int(flags.perConnection, 'per-connection', 1_000_000),
    rate,
  };
}
