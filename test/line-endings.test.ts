import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sinkOptions } from '../src/cli/sink.js';
import { DataEncoder } from '../src/protocol/data-encoder.js';
import { Sink, type SinkMessage } from '../src/sink/server.js';
import { runCli } from './helpers/cli.js';
import { dkimpyVerify, keyRecord, newKey } from './helpers/dkim-peer.js';
import { recordingServer, type RecordingServer } from './helpers/logging-server.js';
import { measuredRun, MiB, NODE_HEADROOM } from './helpers/peak-rss.js';

/**
 * Only CRLF on the wire (RFC 5321 §2.3.8): whatever line ends a message has, no end-of-data
 * sequence but the last CRLF "." CRLF reaches the server, on every road a message takes.
 * Asserted on the exact bytes a raw server received, and against a server that ends DATA at
 * any smuggling variant (the named fault `lenientEndOfData`).
 */

/** The end-of-data variants of the SMTP smuggling research (SEC Consult 2023), and CRLF "." CR. */
const VARIANTS = ['\n.\n', '\n.\r\n', '\r.\n', '\r.\r\n', '\r\n.\r', '\r\n.\n', '\n.\r', '\r.\r'];
const SMUGGLED = 'MAIL FROM:<evil@attacker.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\n';
/** The message of the report: bare CRs around dot lines, a command after them. */
const REPORTED = 'line1\r.\r\nline2\r.\rMAIL FROM:<evil@attacker.test>';

/** What a conforming client sends, worked out independently of the encoder: every line end CRLF, dots stuffed, the end added. */
function wireOf(message: string, dotStuff = true): string {
  const lines = message.replace(/\r\n|\r|\n/g, '\n').split('\n');
  if (lines.at(-1) === '') lines.pop();
  // A line whose first byte after NULs is a dot is stuffed too (before the NULs).
  const body = lines.map((l) => (dotStuff && /^\0*\./.test(l) ? `.${l}` : l)).join('\r\n');
  return `${body}${lines.length ? '\r\n' : ''}${dotStuff ? '.\r\n' : ''}`;
}

const BARE = /\r(?!\n)|(?<!\r)\n/;

function encode(chunks: string[], dotStuff = true) {
  const e = new DataEncoder(dotStuff);
  const out = Buffer.concat([...chunks.map((c) => e.push(Buffer.from(c, 'latin1'))), e.end()]).toString('latin1');
  return { out, lineEndings: e.lineEndings };
}

test('the encoder: every smuggling variant becomes a stuffed dot line between CRLFs, however the input is split', () => {
  for (const v of [...VARIANTS, REPORTED]) {
    const message = `head${v}${SMUGGLED}tail`;
    const whole = encode([message]).out;
    assert.equal(whole, wireOf(message), JSON.stringify(v));
    assert.doesNotMatch(whole, BARE);
    // The only CRLF "." CRLF is the last one.
    assert.equal(whole.indexOf('\r\n.\r\n'), whole.length - 5, JSON.stringify(v));
    for (let cut = 0; cut <= message.length; cut++)
      assert.equal(
        encode([message.slice(0, cut), message.slice(cut)]).out,
        whole,
        `${JSON.stringify(v)} cut at ${cut}`,
      );
    assert.equal(encode([...message]).out, whole, `${JSON.stringify(v)} byte by byte`);
    assert.equal(encode([message], false).out, wireOf(message, false), `${JSON.stringify(v)} for BDAT`);
  }
  assert.deepEqual(encode(['a\rb\nc\r\nd\r']).lineEndings, { bareLf: 1, bareCr: 2 });
  assert.deepEqual(encode(['a\r', '\nb\r', '', 'c']).lineEndings, { bareLf: 0, bareCr: 1 });
  assert.equal(encode(['\r', '.', '\r', '\n']).out, '\r\n..\r\n.\r\n');
});

test('the encoder: "\\r\\n\\0.\\r\\n" (an end of data to a server that drops NULs) becomes a stuffed line, the dot before the NULs, however split', () => {
  for (const v of ['\r\n\0.\r\n', '\r\n\0\0.\r\n', '\r\n\0.\0\r\n', '\n\0.\n', '\r\0.\r']) {
    const message = `head${v}${SMUGGLED}tail`;
    const whole = encode([message]).out;
    assert.equal(whole, wireOf(message), JSON.stringify(v));
    assert.ok(whole.includes('\r\n.\0'), JSON.stringify(whole));
    // Read with its NULs dropped, the only CRLF "." CRLF is still the last one.
    const blind = whole.replace(/\0/g, '');
    assert.equal(blind.indexOf('\r\n.\r\n'), blind.length - 5, JSON.stringify(v));
    for (let cut = 0; cut <= message.length; cut++)
      assert.equal(
        encode([message.slice(0, cut), message.slice(cut)]).out,
        whole,
        `${JSON.stringify(v)} cut at ${cut}`,
      );
    assert.equal(encode([...message]).out, whole, `${JSON.stringify(v)} byte by byte`);
    // BDAT has no dots to stuff: the bytes go as they are.
    assert.equal(encode([message], false).out, wireOf(message, false));
  }
  // NULs that lead no dot go unchanged, and a line of NULs alone gets no dot (NUL-blind, that would be ".").
  assert.equal(encode(['a\r\n\0\0\r\nb']).out, 'a\r\n\0\0\r\nb\r\n.\r\n');
  assert.equal(encode(['\0']).out, '\0\r\n.\r\n');
  // Past the NULs held at a line start (1,000) they go out as they come: the dot is then stuffed where it stands.
  const long = encode([`a\r\n${'\0'.repeat(1500)}.\r\n`]).out.replace(/\0/g, '');
  assert.equal(long, 'a\r\n..\r\n.\r\n');
});

test('the encoder: a message of nothing but bare LFs or bare CRs costs about what ordinary text does, not 15 times it', () => {
  for (const byte of [0x0a, 0x0d]) {
    const piece = Buffer.alloc(64 * 1024, byte);
    const e = new DataEncoder(true);
    const before = process.cpuUsage();
    let size = 0;
    for (let i = 0; i < 256; i++) size += e.push(piece).length;
    size += e.end().length;
    const used = process.cpuUsage(before);
    const seconds = (used.user + used.system) / 1e6;
    assert.equal(size, 2 * 16 * MiB + 3);
    // CPU time, so a loaded machine does not decide it: a piece and a copy per line end took 4.3 s (now 0.3 s).
    assert.ok(seconds < 1.5, `16 MiB of 0x${byte.toString(16)}: ${seconds.toFixed(1)} s of CPU`);
  }
});

let server: RecordingServer;
let chunking: RecordingServer;
let dir: string;
before(async () => {
  server = await recordingServer({ lenientEndOfData: true });
  chunking = await recordingServer({ chunking: true });
  dir = mkdtempSync(join(tmpdir(), 'smtpkit-crlf-'));
});
after(async () => {
  await server.close();
  await chunking.close();
  rmSync(dir, { recursive: true, force: true });
});

const HEAD = 'From: a@client.test\r\nTo: b@example.test\r\nSubject: smuggling\r\n\r\n';
/** Reads of a file come in 256 KiB (of a pipe, in 64 KiB): a variant put across each such boundary, at each offset into it. */
const READ = 256 * 1024;

/** A message with every variant, each across a read boundary at a different cut, the report's message last. */
function straddling(): string {
  let text = HEAD;
  let boundary = READ;
  for (const v of VARIANTS) {
    for (let cut = 1; cut < v.length; cut++) {
      text += 'x'.repeat(boundary - cut - text.length);
      text += `${v}${SMUGGLED}`;
      boundary += READ;
    }
  }
  return `${text}${REPORTED}`;
}

/** Asserts the server took exactly one message with exactly `expected`, and no smuggled command. */
function assertOneMessage(s: RecordingServer, before: { messages: number; commands: number }, expected: string) {
  const messages = s.messages.slice(before.messages);
  assert.equal(messages.length, 1, 'one message');
  const got = messages[0]!.toString('latin1');
  if (got !== expected)
    assert.fail(
      `the wire differs at byte ${[...got].findIndex((c, i) => c !== expected[i])}: ${JSON.stringify(got.slice(-200))}`,
    );
  assert.doesNotMatch(s.commands.slice(before.commands).join('\n'), /attacker|victim/);
}

const mark = (s: RecordingServer) => ({ messages: s.messages.length, commands: s.commands.length });
const send = (s: RecordingServer, ...args: string[]) =>
  runCli(
    ['send', `127.0.0.1:${s.port}`, '--from', 'a@client.test', '--to', 'b@example.test', '--timeout', '5', ...args],
    { limitMs: 20_000 },
  );

test('--data FILE and --data -: bare CR and LF go out as CRLF, dots stuffed, across read boundaries; said once as a warning and in JSON', async () => {
  const message = straddling();
  const file = join(dir, 'smuggle.eml');
  writeFileSync(file, message, 'latin1');
  let m = mark(server);
  const r = await send(server, '--data', file);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assertOneMessage(server, m, wireOf(message));
  const warnings = r.stdout.split('\n').filter((l) => /bare (LF|CR)/.test(l));
  assert.equal(warnings.length, 1, r.stdout);
  const counts = { bareLf: message.match(/(?<!\r)\n/g)!.length, bareCr: message.match(/\r(?!\n)/g)!.length };
  assert.deepEqual(counts, { bareLf: 14, bareCr: 17 });
  assert.match(warnings[0]!, /^!!! .*14 bare LF and 17 bare CR line end\(s\): each went out as CRLF/);

  m = mark(server);
  const piped = await runCli(
    ['send', `127.0.0.1:${server.port}`, '--from', 'a@client.test', '--to', 'b@example.test', '--data', '-', '--json'],
    { input: message },
  );
  assert.equal(piped.code, 0, piped.stdout + piped.stderr);
  assertOneMessage(server, m, wireOf(message));
  const doc = JSON.parse(piped.stdout);
  assert.deepEqual(doc.result.lineEndings, counts);
  assert.equal(
    doc.events.filter((e: { type: string; message?: string }) => e.type === 'warning' && /bare/.test(e.message ?? ''))
      .length,
    1,
  );

  // A message with CRLF only: nothing to say.
  m = mark(server);
  const clean = await runCli(
    ['send', `127.0.0.1:${server.port}`, '--from', 'a@client.test', '--to', 'b@example.test', '--data', '-', '--json'],
    { input: `${HEAD}hi\r\n` },
  );
  assert.equal(clean.code, 0);
  assert.deepEqual(JSON.parse(clean.stdout).result.lineEndings, { bareLf: 0, bareCr: 0 });
});

test("--dry-run shows the message as it would go on the wire: CRLF only (not the input's bytes), with the warning", async () => {
  const message = `${HEAD}${REPORTED}`;
  const file = join(dir, 'dry.eml');
  writeFileSync(file, message, 'latin1');
  const r = await runCli(['send', '--dry-run', '--from', 'a@client.test', '--to', 'b@example.test', '--data', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, wireOf(message, false));
  assert.match(r.stderr, /^smtpkit: warning: the message had 3 bare CR line end\(s\): each would go out as CRLF/m);
  const json = await runCli([
    'send',
    '--dry-run',
    '--json',
    '--from',
    'a@client.test',
    '--to',
    'b@example.test',
    '--data',
    file,
  ]);
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.message, wireOf(message, false));
  assert.deepEqual(doc.lineEndings, { bareLf: 0, bareCr: 3 });
});

test('--data with each variant alone: exact bytes, nothing smuggled, exit 0', async () => {
  for (const v of VARIANTS) {
    const message = `${HEAD}line1${v}${SMUGGLED}`;
    const file = join(dir, 'one.eml');
    writeFileSync(file, message, 'latin1');
    const m = mark(server);
    const r = await send(server, '--data', file);
    assert.equal(r.code, 0, `${JSON.stringify(v)}: ${r.stdout}${r.stderr}`);
    assertOneMessage(server, m, wireOf(message));
  }
});

test('--data FILE and --data - with "\\r\\n\\0.\\r\\n", across each read boundary: a server that drops NULs (named fault dropsNul) still takes one message, nothing smuggled', async () => {
  const blind = await recordingServer({ dropsNul: true });
  try {
    // The variant across 256 KiB (file) and 64 KiB (pipe) read boundaries, at each cut.
    const v = '\r\n\0.\r\n';
    let message = HEAD;
    for (const read of [READ, 64 * 1024]) {
      for (let cut = 1; cut < v.length; cut++) {
        const boundary = Math.ceil((message.length + v.length) / read) * read;
        message += `${'x'.repeat(boundary - cut - message.length)}${v}${SMUGGLED}`;
      }
    }
    message += 'tail\r\n';
    const file = join(dir, 'nul.eml');
    writeFileSync(file, message, 'latin1');
    let m = mark(blind);
    const r = await send(blind, '--data', file);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assertOneMessage(blind, m, wireOf(message));
    m = mark(blind);
    const piped = await runCli(
      [
        'send',
        `127.0.0.1:${blind.port}`,
        '--from',
        'a@client.test',
        '--to',
        'b@example.test',
        '--data',
        '-',
        '--timeout',
        '5',
      ],
      { input: message },
    );
    assert.equal(piped.code, 0, piped.stdout + piped.stderr);
    assertOneMessage(blind, m, wireOf(message));
  } finally {
    await blind.close();
  }
});

test('--body: a bare CR is a line end, never a byte inside a 7bit part', async () => {
  const m = mark(server);
  const r = await send(server, '--body', REPORTED);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const got = server.messages.at(-1)!.toString('latin1');
  assert.equal(server.messages.length, m.messages + 1);
  assert.doesNotMatch(got, BARE);
  assert.match(
    got,
    /Content-Transfer-Encoding: 7bit\r\n\r\nline1\r\n\.\.\r\nline2\r\n\.\.\r\nMAIL FROM:<evil@attacker\.test>\r\n\.\r\n$/,
  );
});

test('--attach: a text file with the variants travels in base64, no line end of it on the wire', async () => {
  const file = join(dir, 'notes.txt');
  const text = VARIANTS.map((v) => `x${v}${SMUGGLED}`).join('');
  writeFileSync(file, text, 'latin1');
  const m = mark(server);
  const r = await send(server, '--attach', file);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const got = server.messages.at(-1)!.toString('latin1');
  assert.equal(server.messages.length, m.messages + 1);
  assert.doesNotMatch(got, BARE);
  assert.ok(got.includes(Buffer.from(text, 'latin1').toString('base64').slice(0, 76)));
});

test('--bdat: the chunks carry CRLF only and no stuffing; the 1 MiB chunk boundaries change nothing', async () => {
  const message = straddling() + 'y'.repeat(600 * 1024) + '\r';
  const file = join(dir, 'bdat.eml');
  writeFileSync(file, message, 'latin1');
  const m = mark(chunking);
  const r = await send(chunking, '--data', file, '--bdat');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(chunking.commands.slice(m.commands).filter((c) => c.startsWith('BDAT')).length >= 3, 'several chunks');
  assertOneMessage(chunking, m, wireOf(message, false));
});

test('--dkim-key with bare CRs in --data: the signature covers the CRLF form that went on the wire (dkimpy verifies it)', async () => {
  const key = newKey(dir, 'ed', 'ed25519');
  const keys = { 'ed._domainkey.client.test': keyRecord(readFileSync(key, 'utf8')) };
  const file = join(dir, 'signed.eml');
  writeFileSync(file, `${HEAD}${REPORTED}\r`, 'latin1');
  const m = mark(chunking);
  const r = await send(
    chunking,
    '--data',
    file,
    '--bdat',
    '--dkim-key',
    key,
    '--dkim-selector',
    'ed',
    '--dkim-domain',
    'client.test',
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const got = chunking.messages[m.messages]!;
  assert.doesNotMatch(got.toString('latin1'), BARE);
  const v = dkimpyVerify(got, keys, dir);
  assert.ok(v.ok, v.output);
});

test('load mode: every copy of the message is CRLF only; the warning and lineEndings once per run', async () => {
  const message = `${HEAD}${REPORTED}`;
  const file = join(dir, 'load.eml');
  writeFileSync(file, message, 'latin1');
  const m = mark(server);
  const r = await runCli(
    [
      'send',
      `127.0.0.1:${server.port}`,
      '--from',
      'a@client.test',
      '--to',
      'b@example.test',
      '--data',
      file,
      '--count',
      '3',
      '--concurrency',
      '2',
      '--timeout',
      '5',
    ],
    { env: { SMTPKIT_LOAD_THREADS: '1' } },
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const got = server.messages.slice(m.messages).map((b) => b.toString('latin1'));
  assert.deepEqual(got, Array(3).fill(wireOf(message)));
  assert.equal(r.stdout.match(/bare CR/g)?.length, 1, r.stdout);
  const json = await runCli(
    [
      'send',
      `127.0.0.1:${server.port}`,
      '--from',
      'a@client.test',
      '--to',
      'b@example.test',
      '--data',
      file,
      '--count',
      '2',
      '--json',
    ],
    { env: { SMTPKIT_LOAD_THREADS: '1' } },
  );
  assert.deepEqual(JSON.parse(json.stdout).result.lineEndings, { bareLf: 0, bareCr: 3 });
});

test(
  'a flood of bare CRs on standard input streams through: memory stays flat',
  { skip: process.platform !== 'linux' ? 'reads /proc' : false },
  async () => {
    // The smtpkit sink, in this process, counts what arrives (dots taken off) without keeping it.
    const sink = new Sink({ ...sinkOptions({ port: '0', quiet: true }, false), maxSize: 512 * MiB });
    const sizes: number[] = [];
    sink.on('message', (m: SinkMessage) => sizes.push(m.size));
    const port = await sink.listen();
    try {
      const piece = Buffer.from(`${'x'.repeat(254)}\r.`.repeat(4096));
      const total = 64;
      const { code, peak, out } = await measuredRun(
        [
          'send',
          `127.0.0.1:${port}`,
          '--from',
          'a@client.test',
          '--to',
          'b@example.test',
          '--data',
          '-',
          '-q',
          '--timeout',
          '30',
        ],
        {
          limitMs: 60_000,
          stdin: async (w) => {
            for (let i = 0; i < total; i++) if (!w.write(piece)) await new Promise((r) => w.once('drain', r));
            w.end();
          },
        },
      );
      assert.equal(code, 0, out);
      assert.match(out, /^OK: /m);
      // Each "\r." became "\r\n.." on the wire, "\r\n." once the sink took the stuffing off; CRLF at the end.
      assert.deepEqual(sizes, [total * piece.length + total * 4096 + 2]);
      assert.ok(peak > 0 && peak < 100 * MiB + NODE_HEADROOM, `peak RSS ${Math.round(peak / MiB)} MiB`);
    } finally {
      await sink.close();
    }
  },
);
