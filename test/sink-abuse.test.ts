import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sinkOptions, type SinkFlags } from '../src/cli/sink.js';
import { paint } from '../src/render/paint.js';
import { SinkLog } from '../src/render/sink-log.js';
import type { SmtpEvent } from '../src/session/events.js';
import { DotDecoder } from '../src/sink/dot-decoder.js';
import { Sink, type SaveFailure, type SinkMessage, type SinkOptions } from '../src/sink/server.js';
import { MAX_LINE } from '../src/sink/session.js';
import {
  BARE_MESSAGE,
  bareNewlineSender,
  earlyTalker,
  envelope,
  idleClient,
  longAuthAnswer,
  longLine,
  neverReads,
  trickler,
  rawClient,
  stalledHandshake,
  starttlsInjection,
  streamLines,
} from './helpers/abusive-clients.js';

const noPaint = await paint({ color: false });

/** A sink in this process on a free port, recording what it emits. */
async function startSink(flags: SinkFlags = {}, overrides: Partial<SinkOptions> = {}) {
  const sink = new Sink({ ...sinkOptions({ port: '0', ...flags }, true), ...overrides });
  const events: Array<[number, SmtpEvent]> = [];
  const messages: SinkMessage[] = [];
  const failures: SaveFailure[] = [];
  sink.on('event', (id: number, e: SmtpEvent) => events.push([id, e]));
  sink.on('message', (m: SinkMessage) => messages.push(m));
  sink.on('save-failed', (f: SaveFailure) => failures.push(f));
  const port = await sink.listen();
  return { sink, port, events, messages, failures };
}

/** mulberry32: seeded, so a failure can be replayed. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A message with dots, CRs and bare LFs in awkward places, ending in CRLF. */
function awkwardMessage(rand: () => number): Buffer {
  const pieces = ['.', '..', '\r\n', '\r', '\n', '.\r\n', '\n.\r\n', 'x', 'Subject: dots', '\u00e9', '\0', ' '];
  let s = '';
  const n = Math.floor(rand() * 60);
  for (let i = 0; i < n; i++) s += pieces[Math.floor(rand() * pieces.length)];
  const body = Buffer.from(`${s}\r\n`, 'utf8');
  return rand() < 0.1 ? Buffer.alloc(0) : body;
}

/** What a client sends for DATA (RFC 5321 §4.5.2): a dot added to lines that start with one. */
function stuff(message: Buffer): Buffer {
  const text = message.toString('latin1');
  return Buffer.from(text.replace(/(^|\r\n)\./g, '$1..'), 'latin1');
}

test('DotDecoder: any message, cut anywhere, comes out byte for byte; only CRLF.CRLF ends it', () => {
  const rand = prng(20261129);
  for (let i = 0; i < 3000; i++) {
    const message = awkwardMessage(rand);
    const wire = Buffer.concat([stuff(message), Buffer.from('.\r\nNEXT')]);
    const out: Buffer[] = [];
    const decoder = new DotDecoder((span) => out.push(Buffer.from(span)));
    let rest: Buffer | undefined;
    for (let pos = 0; pos < wire.length && !rest;) {
      const n = 1 + Math.floor(rand() * 7);
      rest = decoder.feed(wire.subarray(pos, pos + n));
      if (rest) rest = Buffer.concat([rest, wire.subarray(pos + n)]);
      pos += n;
    }
    assert.equal(
      Buffer.concat(out).toString('latin1'),
      message.toString('latin1'),
      `message ${i}: ${JSON.stringify(message.toString('latin1'))}`,
    );
    assert.equal(rest?.toString(), 'NEXT', `message ${i}`);
  }
  // A bare LF before the dot does not end the message (SMTP smuggling).
  const out: Buffer[] = [];
  const d = new DotDecoder((s) => out.push(Buffer.from(s)));
  assert.equal(d.feed(Buffer.from('a\n.\r\nMAIL FROM:<x>\r\n')), undefined);
  assert.equal(d.feed(Buffer.from('.\r\n'))?.length, 0);
  assert.equal(Buffer.concat(out).toString(), 'a\n.\r\nMAIL FROM:<x>\r\n');
});

test('an early talker gets 554 and is hung up on; nothing it sent is taken as a command', async () => {
  const { sink, port, events } = await startSink({ delayGreeting: '400ms' });
  try {
    const c = await earlyTalker(port);
    await c.closed;
    assert.match(c.text(), /^554 5\.5\.0 /);
    assert.doesNotMatch(c.text(), /^220 /m, 'no greeting after the refusal');
    assert.ok(!events.some(([, e]) => e.type === 'sent'), 'its commands were discarded');
    assert.ok(events.some(([, e]) => e.type === 'warning' && /talked before the greeting/.test(e.message)));
  } finally {
    await sink.close();
  }
});

test('a client that reads its replies late loses none of them', async () => {
  const { sink, port } = await startSink({}, { transcript: false });
  try {
    const flood = await neverReads(port, 8 * 1024 * 1024);
    await new Promise((r) => setTimeout(r, 300));
    flood.client.read();
    await flood.written;
    await flood.client.send('QUIT\r\n');
    await flood.client.closed;
    assert.equal(flood.client.lines(), flood.commands + 2, 'every command answered, in order, after the greeting');
  } finally {
    await sink.close();
  }
});

test('a command line past the limit gets one 500 5.5.2 and the session goes on', async () => {
  const { sink, port } = await startSink({}, { transcript: false });
  try {
    const c = await longLine(port, 3 * 1024 * 1024);
    await c.waitFor(/^250 2\.0\.0 Ok/m);
    assert.equal(c.text().match(/^500 5\.5\.2 Line too long/gm)?.length, 1, c.text());
    // Exactly at the limit is still a line.
    await c.send(`NOOP ${'y'.repeat(MAX_LINE - 5)}\r\nQUIT\r\n`);
    await c.closed;
    assert.equal(c.text().match(/^500 /gm)?.length, 1);
    assert.match(c.text(), /^250 2\.0\.0 Ok\r\n250 2\.0\.0 Ok\r\n221 /m);
  } finally {
    await sink.close();
  }
});

test('a 10 MiB AUTH answer gets 500 5.5.2 and ends the exchange (PLAIN and LOGIN): the next NOOP is a command again', async () => {
  const { sink, port } = await startSink({ auth: 'tester:S3cret-pw' }, { transcript: false });
  try {
    for (const mech of ['PLAIN', 'LOGIN'] as const) {
      const c = await longAuthAnswer(port, mech, 10 * 1024 * 1024);
      await c.waitFor(/^500 5\.5\.2 Line too long\r\n(?:\d{3}[ -].*\r\n)/m);
      const after = c.text().slice(c.text().indexOf('500 5.5.2 Line too long'));
      assert.match(after, /^500 5\.5\.2 Line too long\r\n250 2\.0\.0 Ok\r\n/, `${mech}: ${JSON.stringify(after)}`);
      // Not logged in: the exchange was abandoned, not completed.
      await c.send('MAIL FROM:<a@client.test>\r\nQUIT\r\n');
      await c.closed;
      assert.match(c.text(), /^530 5\.7\.0 Authentication required\r\n221 /m);
      c.destroy();
    }
  } finally {
    await sink.close();
  }
});

test('AUTH is redacted in events, transcript and JSON, however it is spelled or spaced', async () => {
  const { sink, port, events } = await startSink({ auth: 'tester:S3cret-pw' });
  const secrets = [
    Buffer.from('\0tester\0S3cret-pw').toString('base64'),
    Buffer.from('S3cret-pw').toString('base64'),
    Buffer.from('tester').toString('base64'),
    'S3cret-pw',
    'c2VjcmV0LWxvb2tpbmc=',
  ];
  try {
    const c = await rawClient(port);
    await c.waitFor(/^220 /m);
    const say = async (line: string) => {
      await c.send(`${line}\r\n`);
      return c.nextReply();
    };
    await c.nextReply();
    await say('EHLO client.test');
    assert.match(await say(`AUTH PLAIN\t${secrets[0]}`), /^235 /);
    const fresh = async () => {
      c.destroy();
      const n = await rawClient(port);
      await n.nextReply();
      return n;
    };
    for (const line of [
      `auth plain ${secrets[0]}`,
      `AUTH\tPLAIN\t${secrets[0]}`,
      `  Auth  Plain   ${secrets[0]}  `,
      `AUTH ${secrets[4]}`,
    ]) {
      const n = await fresh();
      await n.send(`${line}\r\n`);
      await n.nextReply();
      n.destroy();
    }
    const login = await fresh();
    await login.send(`AUTH LOGIN ${secrets[2]}\r\n`);
    assert.match(await login.nextReply(), /^334 /);
    await login.send(`${secrets[1]}\r\n`);
    assert.match(await login.nextReply(), /^235 /);
    const later = await fresh();
    await later.send('AUTH PLAIN\r\n');
    assert.match(await later.nextReply(), /^334/);
    await later.send(`${secrets[0]}\r\n`);
    assert.match(await later.nextReply(), /^235 /);
    // A refused AUTH (already authenticated) with a pipelined answer nobody asked for.
    await later.send(`AUTH LOGIN\r\n${secrets[4]}\r\nQUIT\r\n`);
    await later.closed;
  } finally {
    await sink.close();
  }
  const json = JSON.stringify(events);
  let text = '';
  const log = new SinkLog({ write: (t: string) => (text += t) }, { write: (t: string) => (text += t) }, noPaint, {
    json: false,
    transcript: true,
  });
  for (const [id, e] of events) log.event(id, e);
  for (const id of new Set(events.map(([id]) => id))) log.sessionEnd(id);
  for (const s of secrets) {
    assert.ok(!json.includes(s), `events hold ${s}`);
    assert.ok(!text.includes(s), `transcript holds ${s}`);
  }
  assert.match(text, /^ -> AUTH PLAIN <redacted>$/m);
  assert.match(text, /^ -> AUTH <redacted>$/m, 'an unknown "mechanism" may be the secret itself');
  assert.match(text, /^ -> AUTH LOGIN$/m);
  assert.ok(events.filter(([, e]) => e.type === 'sent' && e.redacted).length >= 8);
});

test('a command sent with STARTTLS, before the handshake, is thrown away (RFC 3207 §6)', async () => {
  const { sink, port, events } = await startSink({ tls: true });
  try {
    const text = await starttlsInjection(port);
    assert.equal(text, '221 2.0.0 Bye\r\n', 'the only reply over TLS is the one to QUIT');
    assert.ok(!events.some(([, e]) => e.type === 'sent' && /injected/.test(e.line)));
  } finally {
    await sink.close();
  }
});

test('idle clients get 421 4.4.2; a stalled TLS handshake is cut off', async () => {
  const { sink, port } = await startSink({ tls: true }, { idleTimeoutMs: 300, handshakeTimeoutMs: 300 });
  try {
    const idle = await idleClient(port);
    await idle.closed;
    assert.match(idle.text(), /^421 4\.4\.2 sink\.localhost Error: timeout exceeded/m);
    const stalled = await stalledHandshake(port);
    await stalled.closed;
    assert.doesNotMatch(stalled.text(), /^421 /m, 'no plain-text reply in the middle of a handshake');
  } finally {
    await sink.close();
  }
});

test('the sink holding a reply itself (--delay-data past --idle-timeout) is no silence of the client', async () => {
  const { sink, port } = await startSink({ delayData: '900ms' }, { idleTimeoutMs: 300, transcript: false });
  try {
    const c = await rawClient(port);
    await c.nextReply();
    await c.send('EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n');
    for (let i = 0; i < 4; i++) await c.nextReply();
    await c.send('Subject: slow\r\n\r\nbody\r\n.\r\n');
    assert.match(await c.nextReply(3000), /^250 2\.0\.0 Ok: queued as /);
    // Silence of the client's own still ends the session.
    await c.closed;
    assert.match(c.text(), /^421 4\.4\.2 sink\.localhost Error: timeout exceeded/m);
  } finally {
    await sink.close();
  }
});

test('--delay-greeting past --idle-timeout: the client waiting for the greeting is not the silent one; it gets the 220', async () => {
  const { sink, port } = await startSink({ delayGreeting: '700ms' }, { idleTimeoutMs: 200, transcript: false });
  try {
    const c = await rawClient(port);
    assert.match(await c.nextReply(5000), /^220 sink\.localhost ESMTP/);
    // Its own silence after the greeting still ends the session.
    await c.closed;
    assert.match(c.text(), /^220 [^\r]*\r\n421 4\.4\.2 sink\.localhost Error: timeout exceeded\r\n$/);
  } finally {
    await sink.close();
  }
});

test('the idle clock counts real time when the event loop is busy: a silent client is hung up on once it has been silent that long', async () => {
  const { sink, port, events } = await startSink({}, { idleTimeoutMs: 800 });
  try {
    const c = await rawClient(port);
    await c.nextReply();
    // The sink is in this process: five turns of 300 ms (a flood, a --reject-rcpt pattern at its
    // limit) are 1.5 s of silence, nearly twice the timeout; each lets the sweep that is due run.
    for (let i = 0; i < 5; i++) {
      const until = Date.now() + 300;
      while (Date.now() < until);
      await new Promise((r) => setTimeout(r, 0));
    }
    assert.ok(
      events.some(([, e]) => e.type === 'warning' && /^idle for 0\.8 s/.test(e.message)),
      'hung up on by now (a late sweep counted as one step would not have seen it)',
    );
    await c.closed;
    assert.match(c.text(), /^421 4\.4\.2 /m);
  } finally {
    await sink.close();
  }
});

test('--drop-after mail: replies to the commands pipelined before the drop point still arrive', async () => {
  const { sink, port } = await startSink({ dropAfter: 'mail' }, { transcript: false });
  try {
    const c = await rawClient(port);
    await c.nextReply();
    await c.send('EHLO client.test\r\nMAIL FROM:<a@client.test>\r\n');
    await c.closed;
    assert.match(c.text(), /^250 CHUNKING\r\n/m, 'the EHLO reply, whole');
    assert.doesNotMatch(c.text(), /^250 2\.1\.0/m, 'nothing for MAIL');
  } finally {
    await sink.close();
  }
});

test('close() resolves once every open session has ended (so a session’s transcript is out before the summary)', async () => {
  const { sink, port } = await startSink({ tls: true });
  const ended: number[] = [];
  sink.on('session-end', (id: number) => ended.push(id));
  const a = await idleClient(port);
  const b = await stalledHandshake(port);
  await sink.close();
  assert.deepEqual(ended.sort(), [1, 2]);
  a.destroy();
  b.destroy();
});

test('--max-sessions: the one too many gets 421 4.7.0; a slot freed is a slot again', async () => {
  const { sink, port } = await startSink({ maxSessions: '2' }, { transcript: false });
  const refused: number[] = [];
  sink.on('session-refused', (n: number) => refused.push(n));
  const ended = new Promise((resolve) => sink.once('session-end', resolve));
  try {
    const a = await idleClient(port);
    const b = await idleClient(port);
    const c = await rawClient(port);
    await c.closed;
    assert.match(c.text(), /^421 4\.7\.0 sink\.localhost Error: too many sessions/);
    assert.deepEqual(refused, [2]);
    await a.send('QUIT\r\n');
    await ended;
    const d = await idleClient(port);
    assert.match(d.text(), /^220 /);
    b.destroy();
    d.destroy();
    assert.equal(sink.stats.refusedSessions, 1);
  } finally {
    await sink.close();
  }
});

test('BDAT: chunks, BDAT 0 LAST, an empty message; saved exactly as sent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-bdat-'));
  const { sink, port, messages } = await startSink({ save: dir }, { transcript: false });
  try {
    const c = await rawClient(port);
    await envelope(c);
    const parts = [
      Buffer.from('Subject: chunked\r\n\r\n.leading dot\r\n'),
      Buffer.from([0, 1, 2, 0x0d, 0x0a, 0x2e, 0x0d, 0x0a]),
      Buffer.from('tail'),
    ];
    for (const p of parts) await c.send(Buffer.concat([Buffer.from(`BDAT ${p.length}\r\n`), p]));
    await c.send('BDAT 0 LAST\r\n');
    await c.waitFor(/queued as/);
    assert.equal(c.text().match(/^250 2\.0\.0 \d+ octets received/gm)?.length, 3);
    // An empty message in one BDAT 0 LAST; then DATA works in a new transaction.
    await c.send('MAIL FROM:<a@client.test>\r\nRCPT TO:<c@example.test>\r\nBDAT 0 LAST\r\n');
    await c.waitFor(/queued as[^]*queued as/);
    assert.equal(messages.length, 2);
    assert.deepEqual(readFileSync(messages[0]!.file!), Buffer.concat(parts));
    assert.deepEqual(messages[0]!.headers, [['Subject', 'chunked']]);
    assert.equal(readFileSync(messages[1]!.file!).length, 0);
    assert.deepEqual(
      readdirSync(dir).sort(),
      messages.map((m) => m.file!.split('/').pop()).sort(),
      'no temporary files left',
    );
    c.destroy();
  } finally {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('BDAT out of order or too big: its bytes are still read (never taken as commands), the reply refuses', async () => {
  const { sink, port, messages } = await startSink({ maxSize: '1000' }, { transcript: false });
  try {
    const c = await rawClient(port);
    await c.nextReply();
    const say = async (data: string | Buffer) => {
      await c.send(data);
      return c.nextReply();
    };
    await say('EHLO client.test\r\n');
    assert.match(await say('BDAT 6 LAST\r\nQUIT\r\n'), /^503 5\.5\.1 Need MAIL/);
    assert.match(await say('BDAT x\r\n'), /^501 /);
    await say('MAIL FROM:<a@client.test>\r\n');
    assert.match(await say('BDAT 6\r\nQUIT\r\n'), /^554 5\.5\.1 No valid recipients/);
    assert.match(await say('RSET\r\n'), /^250 /);
    await say('MAIL FROM:<a@client.test>\r\n');
    await say('RCPT TO:<b@example.test>\r\n');
    assert.match(await say(Buffer.concat([Buffer.from('BDAT 1500\r\n'), Buffer.alloc(1500, 0x41)])), /^552 5\.3\.4 /);
    // A client that pipelined more chunks after the failed one: read and refused too.
    assert.match(await say('BDAT 6 LAST\r\nQUIT\r\n'), /^552 5\.3\.4 /);
    await say('MAIL FROM:<a@client.test>\r\n');
    await say('RCPT TO:<b@example.test>\r\n');
    assert.match(await say('BDAT 3\r\nabc'), /^250 2\.0\.0 3 octets/);
    assert.match(await say('DATA\r\n'), /^503 5\.5\.1 DATA after BDAT/);
    assert.match(await say('NOOP\r\n'), /^250 /, 'the session goes on');
    assert.equal(messages.length, 0);
    assert.equal(sink.stats.oversized, 1);
    c.destroy();
  } finally {
    await sink.close();
  }
});

test('DATA past --max-size: read to the end, 552 5.3.4, nothing saved; the next message is fine', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-big-'));
  const { sink, port, messages } = await startSink({ maxSize: String(1024 * 1024), save: dir }, { transcript: false });
  try {
    const c = await rawClient(port);
    await envelope(c);
    await c.send('DATA\r\n');
    await c.waitFor(/^354 /m);
    await streamLines(c, 3 * 1024 * 1024);
    await c.send('\r\n.\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n');
    await c.waitFor(/^552 5\.3\.4 [^]*^354 /m);
    await c.send('Subject: small\r\n\r\nok\r\n.\r\n');
    await c.waitFor(/queued as/);
    assert.equal(messages.length, 1);
    assert.equal(readFileSync(messages[0]!.file!, 'utf8'), 'Subject: small\r\n\r\nok\r\n');
    assert.deepEqual(readdirSync(dir), [messages[0]!.file!.split('/').pop()], 'the oversized one left nothing behind');
    c.destroy();
  } finally {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a message is written under a temporary name while it streams: no partial .eml is ever visible', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-temp-'));
  const { sink, port, messages } = await startSink({ save: dir }, { transcript: false });
  try {
    const c = await rawClient(port);
    await envelope(c);
    await c.send('DATA\r\n');
    await c.waitFor(/^354 /m);
    await streamLines(c, 2 * 1024 * 1024);
    // The file only appears once the sink has taken some of it.
    for (let i = 0; i < 200 && !readdirSync(dir).length; i++) await new Promise((r) => setTimeout(r, 10));
    const during = readdirSync(dir);
    assert.equal(during.length, 1);
    assert.match(during[0]!, /^\.[0-9A-F]{12}\.eml\.tmp$/);
    await c.send('\r\n.\r\n');
    await c.waitFor(/queued as/);
    const after = readdirSync(dir);
    assert.equal(after.length, 1);
    assert.match(after[0]!, /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z-[0-9A-F]{12}\.eml$/);
    assert.equal(readFileSync(messages[0]!.file!).length, 2 * 1024 * 1024 + 2);
    c.destroy();
  } finally {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a save that fails (directory gone) answers 451 4.3.0, is reported, and the sink keeps serving', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-gone-'));
  const { sink, port, messages, failures } = await startSink({ save: dir }, { transcript: false });
  try {
    rmSync(dir, { recursive: true });
    const c = await rawClient(port);
    await envelope(c);
    await c.send('DATA\r\n');
    await c.waitFor(/^354 /m);
    await c.send('Subject: lost\r\n\r\nx\r\n.\r\n');
    await c.waitFor(/^451 4\.3\.0 /m);
    assert.equal(messages.length, 0);
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.code, 'ENOENT');
    // The directory comes back: the same session saves the next message.
    mkdirSync(dir);
    await c.send('MAIL FROM:<a@client.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n');
    await c.waitFor(/^354 [^]*^354 /m);
    await c.send('Subject: kept\r\n\r\ny\r\n.\r\n');
    await c.waitFor(/queued as/);
    assert.equal(messages.length, 1);
    assert.ok(existsSync(messages[0]!.file!));
    c.destroy();
  } finally {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the log shows each save failure reason once, and a long session with a note of what it left out', () => {
  let out = '';
  let err = '';
  const log = new SinkLog({ write: (t: string) => (out += t) }, { write: (t: string) => (err += t) }, noPaint, {
    json: false,
    transcript: true,
  });
  for (let i = 0; i < 3; i++) log.saveFailed({ code: 'ENOSPC', message: 'ENOSPC: no space left on device' });
  log.saveFailed({ code: 'EACCES', message: 'EACCES: permission denied' });
  assert.equal(err.match(/could not save/g)?.length, 2);
  for (let i = 0; i < 50_000; i++) log.event(1, { type: 'sent', line: `NOOP ${i}`, command: 'NOOP', t: i, tls: false });
  log.sessionEnd(1);
  assert.ok(out.length < 200 * 1024, `${out.length} characters kept`);
  assert.match(out, /^ -> NOOP 0$/m);
  assert.match(out, /^ -> NOOP 49999$/m, 'the end of the session is shown');
  assert.match(
    out,
    /^!!! \d+ transcript entries not shown: a session keeps its first 64 KiB and its last 100 entries$/m,
  );
});

test('nothing accepted is lost: three clients, DATA and BDAT, injected 451s; every 250 is one file, byte for byte', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-lossless-'));
  const rand = prng(7);
  const { sink, port, messages } = await startSink(
    { save: dir, tempfailRate: '0.2' },
    { transcript: false, random: prng(11) },
  );
  try {
    const accepted = new Map<string, Buffer>();
    let refused = 0;
    await Promise.all(
      [0, 1, 2].map(async (client) => {
        const c = await rawClient(port);
        await c.nextReply();
        await c.send('EHLO client.test\r\n');
        await c.nextReply();
        for (let i = 0; i < 25; i++) {
          const body = Buffer.concat([Buffer.from(`Subject: ${client}/${i}\r\n\r\n`), awkwardMessage(rand)]);
          await c.send('RSET\r\nMAIL FROM:<a@client.test>\r\n');
          await c.nextReply();
          if (!(await c.nextReply()).startsWith('250')) {
            refused++;
            continue;
          }
          await c.send('RCPT TO:<b@example.test>\r\n');
          if (!(await c.nextReply()).startsWith('250')) {
            refused++;
            continue;
          }
          let final: string;
          if (i % 2) {
            await c.send(Buffer.concat([Buffer.from(`BDAT ${body.length} LAST\r\n`), body]));
            final = await c.nextReply();
          } else {
            await c.send('DATA\r\n');
            assert.match(await c.nextReply(), /^354 /);
            await c.send(Buffer.concat([stuff(body), Buffer.from('.\r\n')]));
            final = await c.nextReply();
          }
          const id = /^250 2\.0\.0 Ok: queued as ([0-9A-F]{12})/.exec(final)?.[1];
          if (id) accepted.set(id, body);
          else refused++;
        }
        c.destroy();
      }),
    );
    assert.ok(accepted.size > 20 && refused > 5, `${accepted.size} accepted, ${refused} refused`);
    assert.equal(messages.length, accepted.size);
    const files = readdirSync(dir).filter((f) => f.endsWith('.eml'));
    assert.equal(files.length, accepted.size, 'one file per accepted message, none for refused ones');
    // Refused messages' temporary files go too (removed as their streams close).
    for (let i = 0; i < 100 && readdirSync(dir).length > files.length; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(readdirSync(dir).sort(), files.sort());
    for (const [id, body] of accepted) {
      const file = files.find((f) => f.endsWith(`-${id}.eml`));
      assert.ok(file, `message ${id} saved`);
      assert.deepEqual(readFileSync(join(dir, file)), body, `message ${id} byte for byte`);
    }
  } finally {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--tempfail-rate 0.2 fails one message in five, decided once per message at MAIL, with three recipients each', async () => {
  const seeded = prng(24);
  let draws = 0;
  const random = () => (draws++, seeded());
  const { sink, port } = await startSink({ tempfailRate: '0.2' }, { transcript: false, random });
  const where = { MAIL: 0, RCPT: 0, dot: 0 };
  let delivered = 0;
  const total = 400;
  try {
    const c = await rawClient(port);
    await c.nextReply();
    await c.send('EHLO client.test\r\n');
    await c.nextReply();
    for (let i = 0; i < total; i++) {
      await c.send('MAIL FROM:<a@client.test>\r\n');
      if (!(await c.nextReply()).startsWith('250')) {
        where.MAIL++;
        continue;
      }
      let accepted = 0;
      for (const to of ['b', 'c', 'd']) {
        await c.send(`RCPT TO:<${to}@example.test>\r\n`);
        if ((await c.nextReply()).startsWith('250')) accepted++;
      }
      if (accepted === 0) {
        where.RCPT++;
        await c.send('RSET\r\n');
        await c.nextReply();
        continue;
      }
      assert.equal(accepted, 3, 'a message fails at every RCPT or at none');
      await c.send('DATA\r\n');
      assert.match(await c.nextReply(), /^354 /);
      await c.send(`Subject: ${i}\r\n\r\nhi\r\n.\r\n`);
      if ((await c.nextReply()).startsWith('250')) delivered++;
      else where.dot++;
    }
    c.destroy();
  } finally {
    await sink.close();
  }
  // One draw per message, whatever its recipients: 0.2 per MAIL, RCPT and dot would let a
  // third of these through (0.8^5), not four in five.
  assert.equal(draws, total);
  const failed = total - delivered;
  assert.equal(failed, where.MAIL + where.RCPT + where.dot);
  assert.ok(failed >= total * 0.15 && failed <= total * 0.25, `${failed} of ${total} failed`);
  assert.equal(sink.stats.tempfailed, failed);
  for (const [point, n] of Object.entries(where)) assert.ok(n > 0, `some failures at ${point}`);
});

test('fuzz: 120 clients send mutated sessions at once; the sink never throws, every session ends, a clean one still works', async () => {
  const seed = Number(process.env.FUZZ_SEED ?? 20261129);
  const rand = prng(seed);
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-fuzz-'));
  const { sink, port } = await startSink(
    { save: dir, auth: 'u:p', maxSize: '5000' },
    { idleTimeoutMs: 2000, random: prng(seed + 1) },
  );
  const pieces = [
    'EHLO x\r\n',
    'HELO\r\n',
    'MAIL FROM:<a@b>\r\n',
    'MAIL FROM:<a@b> SIZE=99999999\r\n',
    'RCPT TO:<c@d>\r\n',
    'DATA\r\n',
    'BDAT 10\r\n',
    'BDAT 0 LAST\r\n',
    'BDAT 99999\r\n',
    'BDAT 3 LAST\r\nabc',
    '.\r\n',
    '\r\n.\r\n',
    '..\r\n',
    'AUTH PLAIN\r\n',
    'AUTH LOGIN dQ==\r\n',
    'AUTH CRAM-MD5\r\n',
    '*\r\n',
    'AHUAcA==\r\n',
    'RSET\r\n',
    'NOOP\r\n',
    'STARTTLS\r\n',
    'VRFY x\r\n',
    '\0\x1b[31m\r\n',
    '\n',
    '\r',
    'x'.repeat(5000),
  ];
  try {
    await Promise.all(
      Array.from({ length: 120 }, async () => {
        const c = await rawClient(port);
        const parts: Buffer[] = [];
        for (let i = 0, n = Math.floor(rand() * 40); i < n; i++) {
          const p = Buffer.from(pieces[Math.floor(rand() * pieces.length)]!, 'latin1');
          if (rand() < 0.2) p[Math.floor(rand() * p.length)] = Math.floor(rand() * 256);
          parts.push(p);
        }
        const wire = Buffer.concat(parts);
        if (rand() < 0.5) await c.waitFor(/^220 /m).catch(() => {});
        for (let pos = 0; pos < wire.length;) {
          const n = 1 + Math.floor(rand() * 200);
          await c.send(wire.subarray(pos, pos + n)).catch(() => {});
          pos += n;
        }
        if (rand() < 0.5) await c.send('QUIT\r\n').catch(() => {});
        else if (rand() < 0.5) c.destroy();
        await c.closed;
      }),
    );
    const c = await rawClient(port);
    await c.waitFor(/^220 /m);
    await c.send(
      'EHLO ok.test\r\nAUTH PLAIN AHUAcA==\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 2 LAST\r\nokQUIT\r\n',
    );
    await c.closed;
    assert.match(c.text(), /^235 [^]*^250 2\.1\.5 [^]*^250 2\.0\.0 Ok: queued[^]*^221 /m, `seed ${seed}`);
  } finally {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bare LF and CR in a message (DATA and BDAT, a CR LF split between writes): noted per message by default, saved as sent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-bare-'));
  const { sink, port, events, messages } = await startSink({ save: dir });
  try {
    for (const bdat of [false, true]) {
      const c = await bareNewlineSender(port, { bdat });
      await c.waitFor(/^250 2\.0\.0 Ok: queued/m);
      c.destroy();
    }
    assert.deepEqual(
      messages.map((m) => m.lineEndings),
      [
        { bareLf: 1, bareCr: 1, normalized: false },
        { bareLf: 1, bareCr: 1, normalized: false },
      ],
    );
    for (const m of messages) assert.equal(readFileSync(m.file!, 'latin1'), `${BARE_MESSAGE}\nend\r\n`);
    const notes = events.filter(
      ([, e]) => e.type === 'warning' && /bare LF and 1 bare CR line end/.test((e as { message: string }).message),
    );
    assert.equal(notes.length, 2);
    assert.match(
      (notes[0]![1] as { message: string }).message,
      /hardened MTA .*refuses it.*saved as sent \(--bare-newline note\)/,
    );
    assert.equal(sink.stats.bareLineEnds, 2);
    // The log says it on the message line and in the summary.
    let out = '';
    const log = new SinkLog({ write: (t: string) => (out += t) }, { write: (t: string) => (out += t) }, noPaint, {
      json: false,
      transcript: false,
      bareNewline: 'note',
    });
    log.message(messages[0]!);
    log.stopped(sink.stats);
    assert.match(out, /, with 1 bare LF and 1 bare CR line end\(s\)\n/);
    assert.match(out, /2 message\(s\) with bare LF or CR line ends \(--bare-newline note\)/);
  } finally {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--bare-newline reject: 550 5.5.2 after the dot, nothing saved, the next clean message taken; a command ended by a bare LF gets 521', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-bare-'));
  const { sink, port, messages } = await startSink({ save: dir, bareNewline: 'reject' });
  try {
    for (const bdat of [false, true]) {
      const c = await bareNewlineSender(port, { bdat });
      await c.waitFor(/^550 5\.5\.2 Error: bare <LF> received\r\n/m);
      await c.send('MAIL FROM:<a@client.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n');
      await c.waitFor(/^354 /m);
      await c.send('Subject: clean\r\n\r\nok\r\n.\r\n');
      await c.waitFor(/^250 2\.0\.0 Ok: queued/m);
      c.destroy();
    }
    assert.equal(messages.length, 2);
    assert.ok(messages.every((m) => m.lineEndings.bareLf === 0 && m.lineEndings.bareCr === 0));
    assert.equal(readdirSync(dir).length, 2, 'only the clean messages saved');
    const c = await rawClient(port);
    await c.waitFor(/^220 /m);
    await c.send('EHLO client.test\nNOOP\r\n');
    await c.closed;
    assert.match(c.text(), /^521 5\.5\.2 \S+ Error: bare <LF> received\r\n$/m);
    assert.doesNotMatch(c.text(), /^250/m, 'nothing after the bare LF was taken');
  } finally {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--bare-newline normalize: saved with CRLF in place of each bare LF and CR, said so', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-bare-'));
  const { sink, port, messages } = await startSink({ save: dir, bareNewline: 'normalize' });
  try {
    for (const bdat of [false, true]) {
      const c = await bareNewlineSender(port, { bdat });
      await c.waitFor(/^250 2\.0\.0 Ok: queued/m);
      c.destroy();
    }
    const mended = 'Subject: bare\r\n\r\nlf\r\nthen cr\r\nsplit\r\nend\r\n';
    for (const m of messages) {
      assert.deepEqual(m.lineEndings, { bareLf: 1, bareCr: 1, normalized: true });
      assert.equal(readFileSync(m.file!, 'latin1'), mended);
      assert.equal(m.size, mended.length);
    }
  } finally {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--min-rate: a client trickling a byte at a time (never silent) gets 421 4.4.2 and its slot is freed; a client quiet between whole lines is --idle-timeout's", async () => {
  const { sink, port, events } = await startSink({ minRate: '100/600ms', maxSessions: '1', idleTimeout: '5s' });
  // With one slot, each client must wait until the sink has ended the session before it (it may
  // see its client's close a moment after the client does).
  let ended = 0;
  sink.on('session-end', () => ended++);
  const slotFree = async (n: number) => {
    for (const end = Date.now() + 5000; ended < n && Date.now() < end;) await new Promise((r) => setTimeout(r, 10));
    assert.equal(ended, n, 'the sink ended the session before');
  };
  try {
    const started = Date.now();
    const { client, done } = await trickler(port, 50);
    await client.closed;
    const took = Date.now() - started;
    assert.match(
      client.text(),
      /^421 4\.4\.2 \S+ Error: data rate too low \(under 100 bytes\/s over 0\.6 s, --min-rate\)\r\n/m,
    );
    assert.ok(took >= 600 && took < 10_000, `cut off after ${took} ms`);
    await done;
    assert.equal(sink.stats.slowSessions, 1);
    await slotFree(1);
    // The same inside a message.
    const inMessage = await trickler(port, 50, { inMessage: true });
    await inMessage.client.closed;
    assert.match(inMessage.client.text(), /^354 .*\r\n421 4\.4\.2 \S+ Error: data rate too low/m);
    await inMessage.done;
    assert.equal(sink.stats.slowSessions, 2);
    await slotFree(2);
    assert.ok(
      events.some(
        ([, e]) => e.type === 'warning' && /under 100 bytes\/s \(--min-rate\)/.test((e as { message: string }).message),
      ),
    );
    // The one slot is free again; a client quiet between whole commands for longer than the window stays.
    const quiet = await idleClient(port);
    await quiet.send('EHLO client.test\r\n');
    await quiet.waitFor(/^250 /m);
    await new Promise((r) => setTimeout(r, 1500));
    await quiet.send('NOOP\r\nQUIT\r\n');
    await quiet.closed;
    assert.match(quiet.text(), /^250 2\.0\.0 Ok\r\n221 /m);
    await slotFree(3);
    // Nor one typing a message line by line, as a person does in a REPL.
    const typist = await rawClient(port);
    await envelope(typist);
    await typist.send('DATA\r\n');
    await typist.waitFor(/^354 /m);
    for (const line of ['Subject: typed', '', 'one line', 'and, after a long thought, another']) {
      await typist.send(`${line}\r\n`);
      await new Promise((r) => setTimeout(r, 400));
    }
    await typist.send('.\r\nQUIT\r\n');
    await typist.closed;
    assert.match(typist.text(), /^250 2\.0\.0 Ok: queued/m);
    await slotFree(4);
    // A quick message is no trickle.
    const fast = await rawClient(port);
    await envelope(fast);
    await fast.send('DATA\r\n');
    await fast.waitFor(/^354 /m);
    await streamLines(fast, 2 * 1024 * 1024);
    await fast.send('\r\n.\r\nQUIT\r\n');
    await fast.closed;
    assert.match(fast.text(), /^250 2\.0\.0 Ok: queued/m);
    assert.equal(sink.stats.slowSessions, 2);
  } finally {
    await sink.close();
  }
});

test('--min-rate 0 turns it off; bad values are usage errors', async () => {
  assert.equal(sinkOptions({ minRate: '0' }, false).minRate, 0);
  assert.deepEqual([sinkOptions({}, false).minRate, sinkOptions({}, false).minRateWindowMs], [100, 30_000]);
  assert.equal(sinkOptions({ minRate: '500/2m' }, false).minRateWindowMs, 120_000);
  for (const bad of ['fast', '-1', '10/forever'])
    assert.throws(() => sinkOptions({ minRate: bad }, false), /--min-rate/);
  assert.throws(() => sinkOptions({ bareNewline: 'maybe' }, false), /--bare-newline takes note, reject, normalize/);
});
