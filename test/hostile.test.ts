import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { capturePeer } from './helpers/capture-peer.js';
import { faults, scripted, type Script } from './helpers/fault-server.js';
import { BIN } from './helpers/paths.js';
import { measuredRun, MiB } from './helpers/peak-rss.js';
import { rawServer } from './helpers/raw-server.js';

/** The environment the memory tests give smtpkit: nothing of this machine's but PATH. */
const MINIMAL_ENV = { PATH: process.env.PATH ?? '', NO_COLOR: '1' };

/** The CLI against a scripted server with one fault: what a user sees (exit code, JSON). */
async function against(script: Script, args: string[], opts: { limitMs?: number; env?: Record<string, string> } = {}) {
  const server = await rawServer(scripted(script));
  try {
    const r = await runCli([args[0]!, `127.0.0.1:${server.port}`, '--timeout', '1s', ...args.slice(1)], {
      limitMs: opts.limitMs ?? 10_000,
      env: opts.env,
    });
    return { ...r, received: server.received.join('') };
  } finally {
    await server.close();
  }
}

const SEND = ['send', '--from', 'a@client.test', '--to', 'b@fake.test', '--starttls', 'never', '--json'];

test('send: 354 and "250 queued" in one write, 554 after the dot: exit 5 naming the stray reply, never "accepted"', async () => {
  const r = await against(faults.earlyQueuedReply(), SEND);
  assert.equal(r.code, 5, r.stdout);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.outcome.kind, 'unsolicited');
  assert.equal(doc.outcome.reply.code, 250);
  assert.match(doc.outcome.message, /a reply nobody asked for/);
});

test('send: an extra reply after the greeting is not handed to EHLO: exit 5', async () => {
  const r = await against(faults.unsolicitedAfterGreeting(), SEND);
  assert.equal(r.code, 5, r.stdout);
  assert.equal(JSON.parse(r.stdout).outcome.kind, 'unsolicited');
});

test('send: one reply too many in the pipelined envelope: exit 5, not "the server refused DATA: 250"', async () => {
  const r = await against(faults.extraPipelinedReply(), SEND);
  assert.equal(r.code, 5, r.stdout);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.outcome.kind, 'unsolicited');
  assert.doesNotMatch(doc.outcome.message, /refused DATA/);
});

test('send: a 250 to DATA or a 354 after the dot is a broken protocol (exit 5), neither refused (8) nor accepted', async () => {
  const noData = await against({ answer: (l) => (l === 'DATA' ? '250 2.0.0 ok\r\n' : undefined) }, [
    ...SEND,
    '--no-pipelining',
  ]);
  assert.equal(noData.code, 5, noData.stdout);
  assert.match(
    JSON.parse(noData.stdout).outcome.message,
    /answered DATA with 250 instead of 354, so no message was sent/,
  );
  assert.doesNotMatch(noData.received, /^Subject:/m, 'no message text was sent');
  const dot354 = await against({ afterDot: () => '354 go ahead\r\n' }, SEND);
  assert.equal(dot354.code, 5, dot354.stdout);
  assert.match(
    JSON.parse(dot354.stdout).outcome.message,
    /end of the message with 354, which is neither acceptance nor refusal/,
  );
  assert.doesNotMatch(
    dot354.received.split('\r\n.\r\n')[1] ?? '',
    /QUIT/,
    'no QUIT fed to a server that may still be reading the message',
  );
  const dot221 = await against({ afterDot: () => '221 2.0.0 bye\r\n' }, SEND);
  assert.equal(dot221.code, 5, dot221.stdout);
  assert.match(JSON.parse(dot221.stdout).outcome.message, /end of the message with 221/);
  const refused = await against({ answer: (l) => (l === 'DATA' ? '554 5.7.1 no\r\n' : undefined) }, [
    ...SEND,
    '--no-pipelining',
  ]);
  assert.equal(refused.code, 8, refused.stdout);
});

/** smtpkit fed `mib` MiB of `fill` on standard input, or less if it exits first: its exit code and stderr. */
async function fedStdin(args: string[], fill: string, mib: number): Promise<{ code: number | null; err: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  child.stdin.on('error', () => {});
  const block = Buffer.alloc(1024 * 1024, fill);
  for (let i = 0; i < mib && child.exitCode === null; i++)
    await new Promise<void>((resolve) => child.stdin.write(block, () => resolve()));
  child.stdin.end();
  const code = await new Promise<number | null>((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.on('exit', resolve),
  );
  return { code, err };
}

test('send --body - takes a bounded body from standard input; a whole message streams with --data -', async () => {
  const server = await rawServer(scripted({}));
  try {
    const body = await fedStdin(
      [
        'send',
        `127.0.0.1:${server.port}`,
        '--timeout',
        '2s',
        '--from',
        'a@client.test',
        '--to',
        'b@fake.test',
        '--starttls',
        'never',
        '--body',
        '-',
      ],
      'a',
      20,
    );
    assert.equal(body.code, 2, body.err);
    assert.match(body.err, /--body - takes at most 16 MiB from standard input; stream a whole message with --data -/);
    assert.equal(server.received.join(''), '', 'nothing was sent');
    // Load mode holds its message in memory: --data - is bounded there too (256 MiB).
    const load = await fedStdin(
      [
        'send',
        `127.0.0.1:${server.port}`,
        '--timeout',
        '2s',
        '--from',
        'a@client.test',
        '--to',
        'b@fake.test',
        '--starttls',
        'never',
        '--data',
        '-',
        '--count',
        '2',
      ],
      'b',
      300,
    );
    assert.equal(load.code, 2, load.err);
    assert.match(load.err, /load mode with --data - takes at most 256 MiB from standard input/);
    assert.equal(server.received.join(''), '', 'nothing was sent');
  } finally {
    await server.close();
  }
});

test('header values with CR/LF are refused before connecting (exit 2)', async () => {
  for (const extra of [
    ['--subject', 'x\r\nBcc: evil@x'],
    ['--subject', 'x\ny'],
    ['--header', 'X-A: 1\nBcc: evil@x'],
  ]) {
    const r = await against({}, [...SEND, ...extra]);
    assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
    assert.equal(r.received, '', 'nothing reached the server');
  }
});

test('load mode: MAIL declares SIZE and BODY=8BITMIME; a bad --starttls is exit 2 before any connection', async () => {
  const r = await against({}, [
    'send',
    '--from',
    'a@client.test',
    '--to',
    'b@fake.test',
    '--starttls',
    'never',
    '--count',
    '2',
    '--body',
    'Grüße\n',
    '--json',
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const mails = r.received.split('\r\n').filter((l) => l.startsWith('MAIL'));
  assert.equal(mails.length, 2);
  for (const m of mails) assert.match(m, /^MAIL FROM:<a@client\.test> SIZE=\d+ BODY=8BITMIME$/);
  const bad = await against({}, [
    'send',
    '--from',
    'a@client.test',
    '--to',
    'b@fake.test',
    '--starttls',
    'sometimes',
    '--count',
    '2',
  ]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.equal(bad.received, '');
});

test('load mode: refusals are grouped by step and reply code, not by wording', async () => {
  let n = 0;
  const r = await against(
    { answer: (l) => (/^RCPT/.test(l) ? (n++ % 2 ? `550 5.1.1 no such user number ${n}\r\n` : undefined) : undefined) },
    ['send', '--from', 'a@client.test', '--to', 'b@fake.test', '--starttls', 'never', '--count', '6', '--json'],
  );
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.result.failed, 3, r.stdout);
  assert.deepEqual(
    doc.result.errors.map((e: { key: string; count: number }) => [e.key, e.count]),
    [['rejected:rcpt:550', 3]],
  );
});

test('SASLprep: a control character in the password is refused before any AUTH line, naming it (exit 2)', async () => {
  const r = await against(
    {},
    ['auth', '--user', 'u', '--mech', 'SCRAM-SHA-256', '--allow-plaintext', '--starttls', 'never'],
    { env: { SMTPKIT_PASSWORD: 'pa\u0007ss' } },
  );
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /U\+0007, a control character/);
  assert.doesNotMatch(r.received, /AUTH/);
  // In the user name it is refused before connecting.
  const user = await against(
    {},
    ['auth', '--user', 'u\u200Fx', '--mech', 'PLAIN', '--allow-plaintext', '--starttls', 'never'],
    { env: { SMTPKIT_PASSWORD: 'p' } },
  );
  assert.equal(user.code, 2, user.stderr);
  assert.match(user.stderr, /U\+200F/);
  assert.equal(user.received, '');
});

test('probe --timeout bounds the whole probe: a stalled handshake is a TLS failure (exit 6), in time', async () => {
  const server = await rawServer(scripted(faults.handshakeStall()));
  try {
    const r = await runCli(['probe', `127.0.0.1:${server.port}`, '--timeout', '1s', '--json'], { limitMs: 5000 });
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.results[0].error.errorClass, 'tls', r.stdout);
    assert.equal(doc.results[0].error.phase, 'tls');
    assert.equal(r.code, 6);
  } finally {
    await server.close();
  }
});

test(
  'an attachment whose stat size is 0 but has content (/proc): SIZE= is the real size',
  { skip: process.platform !== 'linux' ? 'needs /proc' : false },
  async () => {
    const peer = await capturePeer({ hideSTARTTLS: true, size: 10_000_000 });
    try {
      const r = await runCli([
        'send',
        `127.0.0.1:${peer.port}`,
        '--from',
        'a@client.test',
        '--to',
        'b@example.test',
        '--attach',
        '/proc/self/stat',
        '--json',
      ]);
      assert.equal(r.code, 0, r.stdout);
      const m = peer.messages.at(-1)!;
      const size = Number((m.envelope as { mailFrom: { args: Record<string, string> } }).mailFrom.args.SIZE);
      // smtp-server gives the data without the final dot line; SIZE counts the message as sent.
      assert.ok(Math.abs(size - m.data.length) <= 2, `SIZE=${size}, received ${m.data.length}`);
      assert.match(m.data.toString(), /filename="stat"\r\n\r\n[A-Za-z0-9+/]{20}/, 'the content was sent');
    } finally {
      await peer.close();
    }
  },
);

test(
  'a 250 flood while writing a 6 MB message: protocol error, peak RSS under 300 MB, ends within the timeout',
  { skip: process.platform !== 'linux' ? 'reads /proc' : false },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpkit-flood-'));
    const file = join(dir, 'six.eml');
    const fd = openSync(file, 'w');
    writeSync(fd, 'Subject: big\r\n\r\n');
    const line = Buffer.from(`${'y'.repeat(998)}\r\n`);
    for (let i = 0; i < 6 * 1024; i++) writeSync(fd, line);
    closeSync(fd);
    const server = await rawServer(scripted(faults.floodWhileWriting()));
    try {
      const r = await measuredRun(
        [
          'send',
          `127.0.0.1:${server.port}`,
          '--from',
          'a@client.test',
          '--to',
          'b@fake.test',
          '--starttls',
          'never',
          '--data',
          file,
          '--timeout',
          '3s',
          '-q',
        ],
        { env: MINIMAL_ENV, stdin: (w) => void w.end(), limitMs: 20_000 },
      );
      t.diagnostic(`peak RSS ${Math.round(r.peak / MiB)} MiB`);
      assert.equal(r.code, 5, r.out);
      assert.ok(r.peak > 0 && r.peak < 300 * MiB, `peak RSS ${Math.round(r.peak / MiB)} MiB`);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  '--data - streams standard input: 100 MB with peak RSS under 150 MB',
  { skip: process.platform !== 'linux' ? 'reads /proc' : false },
  async (t) => {
    let received = 0;
    const server = await rawServer(
      scripted({
        extensions: ['PIPELINING', '8BITMIME'],
        onData: (ctx) => ctx.socket.on('data', (d: Buffer) => (received += d.length)),
      }),
    );
    try {
      const block = Buffer.from(`${'z'.repeat(1022)}\r\n`);
      const r = await measuredRun(
        ['send', `127.0.0.1:${server.port}`, '--from', 'a@client.test', '--to', 'b@fake.test', '--data', '-', '-q'],
        {
          env: MINIMAL_ENV,
          stdin: async (w) => {
            w.write('Subject: stdin\r\n\r\n');
            for (let i = 0; i < 100 * 1024; i++) if (!w.write(block)) await new Promise((res) => w.once('drain', res));
            w.end();
          },
          limitMs: 60_000,
        },
      );
      t.diagnostic(`peak RSS ${Math.round(r.peak / MiB)} MiB`);
      assert.equal(r.code, 0, r.out);
      assert.ok(received > 100 * MiB, `the server got ${received} bytes`);
      assert.ok(r.peak > 0 && r.peak < 150 * MiB, `peak RSS ${Math.round(r.peak / MiB)} MiB`);
    } finally {
      await server.close();
    }
  },
);

test('ehlo, connect and probe: replies nobody asked for after the last command fail the run (exit 5), never "OK"', async () => {
  // Answers the last command it is asked (EHLO; for connect, the greeting), and in the same
  // write sends replies on its own.
  const stray = (afterGreeting: boolean) =>
    rawServer((s) => {
      s.write(afterGreeting ? '220 stray.test ESMTP\r\n250 extra\r\n' : '220 stray.test ESMTP\r\n');
      s.on('data', (d) => {
        if (/^EHLO/i.test(d.toString())) s.write('250 stray.test\r\n250 extra\r\n354 go\r\n235 yes\r\n');
      });
    });
  for (const args of [['ehlo'], ['connect'], ['probe']]) {
    const server = await stray(args[0] === 'connect');
    try {
      const r = await runCli([args[0]!, `127.0.0.1:${server.port}`, '--timeout', '2s', '--json'], { limitMs: 10_000 });
      assert.equal(r.code, 5, `${args[0]}: ${r.stdout}${r.stderr}`);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.outcome.ok, false);
      assert.match(
        JSON.stringify(doc),
        /"errorClass":"protocol","message":"the server sent a reply nobody asked for/,
        `${args[0]}: ${r.stdout}`,
      );
    } finally {
      await server.close();
    }
  }
});
