import { mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { usageError } from '../errors.js';
import { parsePort } from '../protocol/target.js';
import { printable } from '../render/printable.js';
import { TextRenderer } from '../render/text.js';
import type { SmtpEvent } from '../session/events.js';
import { parseDuration } from '../session/timeouts.js';
import { LOCALHOST_CERT, LOCALHOST_KEY } from '../sink/localhost-cert.js';
import { Sink, type DropPoint, type SinkMessage, type SinkOptions } from '../sink/server.js';
import { readOption } from '../flows/options.js';
import { jsonText } from '../render/json.js';
import { processOutput } from '../render/output.js';
import { failureOutcome } from '../flows/run.js';

export interface SinkFlags {
  port?: string;
  host?: string;
  allowRemote?: boolean;
  name?: string;
  tls?: boolean;
  cert?: string;
  key?: string;
  auth?: string;
  save?: string;
  json?: boolean;
  quiet?: boolean;
  color?: boolean;
  rejectRcpt?: string;
  tempfailRate?: string;
  delayGreeting?: string;
  delayData?: string;
  dropAfter?: string;
  maxSize?: string;
  count?: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Everything the sink needs, checked before it listens. */
export function sinkOptions(flags: SinkFlags, transcript: boolean): SinkOptions {
  const host = flags.host ?? '127.0.0.1';
  if (!LOOPBACK.test(host) && !flags.allowRemote) throw usageError(`--host ${host} is not a loopback address: a test sink open to the network needs --allow-remote`);
  if (host !== 'localhost' && !isIP(host)) throw usageError(`--host must be an IP address (or localhost), not ${JSON.stringify(host)}`);
  const auth = flags.auth === undefined ? undefined : /^([^:]+):(.+)$/.exec(flags.auth);
  if (flags.auth !== undefined && !auth) throw usageError('--auth takes user:password');
  const rate = flags.tempfailRate === undefined ? 0 : Number(flags.tempfailRate);
  if (!(rate >= 0 && rate <= 1)) throw usageError('--tempfail-rate takes a number from 0 to 1 (0.1 = one in ten)');
  const drop = flags.dropAfter as DropPoint | undefined;
  if (drop !== undefined && !['connect', 'ehlo', 'mail', 'rcpt', 'data'].includes(drop)) throw usageError('--drop-after takes connect, ehlo, mail, rcpt or data');
  let rejectRcpt: RegExp | undefined;
  try {
    rejectRcpt = flags.rejectRcpt ? new RegExp(flags.rejectRcpt, 'i') : undefined;
  } catch {
    throw usageError(`--reject-rcpt: ${JSON.stringify(flags.rejectRcpt)} is not a regular expression`);
  }
  const maxSize = flags.maxSize === undefined ? 25 * 1024 * 1024 : Number(flags.maxSize);
  if (!Number.isInteger(maxSize) || maxSize < 1) throw usageError('--max-size takes a number of bytes');
  if ((flags.cert === undefined) !== (flags.key === undefined)) throw usageError('--cert and --key go together');
  const wantsTls = flags.tls || flags.cert !== undefined;
  return {
    host: host === 'localhost' ? '127.0.0.1' : host,
    port: flags.port === undefined ? 2525 : flags.port === '0' ? 0 : parsePort(flags.port),
    name: flags.name ?? 'sink.localhost',
    tls: wantsTls ? { cert: flags.cert ? readOption(flags.cert, '--cert') : LOCALHOST_CERT, key: flags.key ? readOption(flags.key, '--key') : LOCALHOST_KEY } : undefined,
    auth: auth ? { user: auth[1]!, pass: auth[2]! } : undefined,
    maxSize,
    rejectRcpt,
    tempfailRate: rate,
    delayGreetingMs: flags.delayGreeting ? parseDuration(flags.delayGreeting, '--delay-greeting') : 0,
    delayDataMs: flags.delayData ? parseDuration(flags.delayData, '--delay-data') : 0,
    dropAfter: drop,
    keepData: flags.save !== undefined,
    transcript,
    random: Math.random,
  };
}

/** `smtpkit sink`: a local server that takes mail and shows what it got, explained. */
export async function sink(flags: SinkFlags): Promise<number> {
  const output = await processOutput(flags);
  const c = output.paint;
  const transcript = !flags.json && !flags.quiet;
  // Catch Ctrl-C before announcing the port: a signal that comes in between would kill us.
  let interrupted: () => void = () => {};
  const signalled = new Promise<void>((resolve) => (interrupted = resolve));
  process.once('SIGINT', () => interrupted());
  process.once('SIGTERM', () => interrupted());
  let server: Sink;
  let stopAfter: number | undefined;
  try {
    const options = sinkOptions(flags, transcript);
    stopAfter = flags.count === undefined ? undefined : Number(flags.count);
    if (stopAfter !== undefined && !(Number.isInteger(stopAfter) && stopAfter > 0)) throw usageError('--count takes a whole number');
    if (flags.save) mkdirSync(flags.save, { recursive: true });
    server = new Sink(options);
    const port = await server.listen().catch((err: NodeJS.ErrnoException) => {
      throw usageError(`cannot listen on ${options.host}:${options.port}: ${err.code === 'EADDRINUSE' ? 'the port is taken by another program' : err.message}`);
    });
    const features = [options.tls ? `STARTTLS (${flags.cert ? flags.cert : 'built-in localhost certificate, for local testing only'})` : 'no TLS', options.auth ? `AUTH for ${options.auth.user}` : 'no AUTH'];
    // With --json, stdout carries only message lines.
    (flags.json ? output.stderr : output.stdout).write(`${c.blue(`=== smtpkit sink listening on ${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}; ${features.join(', ')}; Ctrl-C stops it`)}\n`);
  } catch (err) {
    const o = failureOutcome(err);
    output.stderr.write(`smtpkit: ${printable(o.message)}\n`);
    return o.exitCode;
  }

  const sessions = new Map<number, SmtpEvent[]>();
  if (transcript) {
    server.on('event', (id: number, e: SmtpEvent) => {
      const list = sessions.get(id) ?? [];
      list.push(e);
      sessions.set(id, list);
    });
    // A session is shown whole when it ends, so concurrent sessions do not interleave.
    server.on('session-end', (id: number) => {
      const events = sessions.get(id) ?? [];
      sessions.delete(id);
      let out = c.bold(`--- session #${id}\n`);
      const renderer = new TextRenderer({ write: (t: string) => (out += t) }, { write: (t: string) => (out += t) }, { paint: c });
      for (const e of events) renderer.event(e);
      output.stdout.write(out);
    });
  }
  let received = 0;
  const done = new Promise<void>((resolve) => {
    server.on('message', (m: SinkMessage) => {
      received++;
      if (flags.save) writeFileSync(join(flags.save, `${m.receivedAt.replace(/[:.]/g, '-')}-${m.id}.eml`), m.data ?? Buffer.alloc(0));
      if (flags.json) output.stdout.write(`${jsonText({ ...m, data: undefined })}\n`);
      else output.stdout.write(`${c.green(`=== #${m.session} message ${m.id}: from <${printable(m.from)}> to ${m.to.map((t) => `<${printable(t)}>`).join(', ')}, ${m.size} bytes${subject(m)}${m.tls ? ', over TLS' : ''}${m.user ? `, as ${printable(m.user)}` : ''}`)}\n`);
      if (stopAfter !== undefined && received >= stopAfter) setTimeout(resolve, 50);
    });
    void signalled.then(resolve);
  });
  await done;
  await server.close();
  const s = server.stats;
  (flags.json ? output.stderr : output.stdout).write(`${c.bold(`=== sink stopped: ${s.messages} message(s), ${s.bytes} bytes, in ${s.sessions} session(s); ${s.rejected} recipient(s) rejected, ${s.tempfailed} temporary failure(s) injected`)}\n`);
  return 0;
}

function subject(m: SinkMessage): string {
  const s = m.headers.find(([k]) => k.toLowerCase() === 'subject')?.[1];
  return s === undefined ? '' : `, subject ${JSON.stringify(printable(s.slice(0, 80)))}`;
}
