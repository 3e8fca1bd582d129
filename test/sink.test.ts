import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LOCALHOST_CERT } from '../src/sink/localhost-cert.js';
import { earlyTalker, idleClient, rawClient } from './helpers/abusive-clients.js';
import { runCli } from './helpers/cli.js';
import { sinkProcess } from './helpers/sink-process.js';
import { tempDir } from './helpers/process-group.js';

const dir = tempDir('smtpkit-sink-');
const ca = join(dir, 'localhost.pem');
writeFileSync(ca, LOCALHOST_CERT);

test('the client suite against smtpkit sink: ehlo, starttls with the built-in certificate, every AUTH mechanism, send', async () => {
  const saved = join(dir, 'saved');
  const sink = await sinkProcess(['--tls', '--auth', 'tester:S3cret', '--save', saved]);
  try {
    const at = `localhost:${sink.port}`;
    const ehlo = await runCli(['ehlo', at, '-4', '--json']);
    assert.deepEqual(Object.keys(JSON.parse(ehlo.stdout).capabilities.extensions), [
      'PIPELINING',
      'SIZE',
      '8BITMIME',
      'SMTPUTF8',
      'ENHANCEDSTATUSCODES',
      'CHUNKING',
      'STARTTLS',
    ]);
    const tls = await runCli(['starttls', at, '-4', '--ca-file', ca, '--tls-verify', '-q']);
    assert.equal(tls.code, 0, tls.stderr);
    for (const mech of ['PLAIN', 'LOGIN', 'CRAM-MD5']) {
      const r = await runCli(['auth', at, '-4', '--ca-file', ca, '--user', 'tester', '--mech', mech, '-q'], {
        env: { SMTPKIT_PASSWORD: 'S3cret' },
      });
      assert.equal(r.code, 0, `${mech}: ${r.stderr}`);
    }
    const wrong = await runCli(['auth', at, '-4', '--user', 'tester', '--mech', 'PLAIN'], {
      env: { SMTPKIT_PASSWORD: 'nope' },
    });
    assert.equal(wrong.code, 7);
    const send = await runCli(
      [
        'send',
        at,
        '-4',
        '--ca-file',
        ca,
        '--user',
        'tester',
        '--from',
        'a@client.test',
        '--to',
        'b@example.test',
        '--subject',
        'To the sink',
        '--body',
        'one\n.two\nthree',
      ],
      { env: { SMTPKIT_PASSWORD: 'S3cret' } },
    );
    assert.equal(send.code, 0, send.stdout + send.stderr);
    const noAuth = await runCli([
      'send',
      at,
      '-4',
      '--ca-file',
      ca,
      '--from',
      'a@client.test',
      '--to',
      'b@example.test',
    ]);
    assert.equal(noAuth.code, 8, 'the sink requires AUTH when --auth is set');
    assert.equal(await sink.stop(), 0);
    const files = readdirSync(saved);
    assert.equal(files.length, 1);
    const eml = readFileSync(join(saved, files[0]!), 'utf8');
    assert.match(eml, /^Date: .*\r\nFrom: a@client\.test\r\nTo: b@example\.test\r\nSubject: To the sink\r\n/);
    assert.ok(eml.endsWith('\r\n\r\none\r\n.two\r\nthree\r\n'), 'dots unstuffed, as sent');
    assert.match(
      sink.stdout(),
      /^=== #\d+ message [0-9A-F]{12}: from <a@client\.test> to <b@example\.test>, \d+ bytes, subject "To the sink", over TLS, as tester$/m,
    );
    assert.match(sink.stdout(), /^--- session #\d+$/m);
    assert.match(sink.stdout(), /^ ~> AUTH PLAIN <redacted>$/m);
    assert.ok(
      !sink.stdout().includes(Buffer.from('\0tester\0S3cret').toString('base64')),
      'the sink redacts secrets too',
    );
    assert.match(sink.stdout(), /^=== sink stopped: 1 message\(s\), \d+ bytes, in \d+ session\(s\)/m);
  } finally {
    sink.child.kill('SIGKILL');
  }
});

test('--json: one line per message on stdout with envelope, size and headers', async () => {
  const sink = await sinkProcess(['--json', '--count', '2']);
  for (let i = 0; i < 2; i++)
    await runCli([
      'send',
      `127.0.0.1:${sink.port}`,
      '--from',
      'a@client.test',
      '--to',
      `b${i}@example.test`,
      '--subject',
      `n${i}`,
    ]);
  assert.equal(await sink.exited, 0, '--count 2 stops it');
  const lines = sink
    .stdout()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.deepEqual(
    lines.map((m) => [m.from, m.to, m.headers.find((h: [string, string]) => h[0] === 'Subject')[1]]),
    [
      ['a@client.test', ['b0@example.test'], 'n0'],
      ['a@client.test', ['b1@example.test'], 'n1'],
    ],
  );
  assert.ok(lines.every((m) => m.size > 100 && m.data === undefined));
  assert.match(sink.stderr(), /listening on/);
});

test('fault injection: each flag, and what the client sees', async () => {
  const cases: Array<[string[], string[], number, RegExp]> = [
    [
      ['--reject-rcpt', '^bad'],
      ['--to', 'bad@example.test'],
      8,
      /accepted none of the 1 recipient\(s\): bad@example\.test \(550\)/,
    ],
    // Every message fails, at MAIL, at RCPT or at the dot (where is drawn per message).
    [['--tempfail-rate', '1'], ['--to', 'b@example.test'], 8, /: 451 Temporary failure|b@example\.test \(451\)/],
    [
      ['--delay-greeting', '2s'],
      ['--to', 'b@example.test', '--greeting-timeout', '300ms'],
      4,
      /sent no greeting within 300ms/,
    ],
    [
      ['--delay-data', '2s'],
      ['--to', 'b@example.test', '--command-timeout', '300ms'],
      5,
      /no reply to \. within 300ms/,
    ],
    [
      ['--drop-after', 'rcpt'],
      ['--to', 'b@example.test', '--no-pipelining'],
      5,
      /closed the connection while we waited for the reply to RCPT/,
    ],
    [['--max-size', '100'], ['--to', 'b@example.test'], 8, /takes at most 100 \(SIZE\); nothing was sent/],
  ];
  for (const [sinkArgs, sendArgs, code, message] of cases) {
    const sink = await sinkProcess(['-q', ...sinkArgs]);
    try {
      const r = await runCli(['send', `127.0.0.1:${sink.port}`, '--from', 'a@client.test', ...sendArgs]);
      assert.equal(r.code, code, `${sinkArgs.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message, sinkArgs.join(' '));
    } finally {
      sink.child.kill('SIGKILL');
    }
  }
});

test('load mode: the counts it reports equal what the sink received', async () => {
  const sink = await sinkProcess(['-q', '--reject-rcpt', 'never-matches']);
  try {
    const r = await runCli(
      [
        'send',
        `127.0.0.1:${sink.port}`,
        '--from',
        'a@client.test',
        '--to',
        'b@example.test',
        '--count',
        '300',
        '--concurrency',
        '7',
        '--per-connection',
        '11',
        '--json',
      ],
      { limitMs: 30_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.result.sent, 300);
    assert.equal(doc.result.accepted, 300);
    assert.ok(doc.result.messagesPerSecond > 0);
    assert.deepEqual(Object.keys(doc.result.latencyMs), ['connect', 'envelope', 'data', 'message']);
    // Up to 11 per connection; at the end up to 7 connections may each hold a partial batch.
    assert.ok(
      doc.result.latencyMs.connect.count >= Math.ceil(300 / 11) &&
        doc.result.latencyMs.connect.count <= Math.ceil(300 / 11) + 6,
      String(doc.result.latencyMs.connect.count),
    );
    assert.equal(await sink.stop(), 0);
    assert.match(sink.stdout(), /^=== sink stopped: 300 message\(s\)/m);
    assert.equal(sink.stdout().match(/^=== #\d+ message /gm)?.length, 300);
  } finally {
    sink.child.kill('SIGKILL');
  }
  const failing = await sinkProcess(['-q', '--reject-rcpt', '^b@']);
  try {
    const r = await runCli([
      'send',
      `127.0.0.1:${failing.port}`,
      '--from',
      'a@client.test',
      '--to',
      'b@example.test',
      '--count',
      '20',
      '--concurrency',
      '3',
    ]);
    assert.equal(r.code, 8);
    assert.match(r.stdout, /^!!! 20 × 550 to RCPT: 5\.1\.1 <b@example\.test>: Recipient address rejected/m);
    assert.match(r.stdout, /# The recipient was refused/);
    assert.match(r.stdout, /0 of 20 message\(s\) accepted .*; 20 failed/);
  } finally {
    failing.child.kill('SIGKILL');
  }
});

test('the sink refuses to listen beyond loopback without --allow-remote; Ctrl-C stops it with a summary', async () => {
  const r = await runCli(['sink', '--host', '0.0.0.0', '--port', '0']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /not a loopback address: a test sink open to the network needs --allow-remote/);
  const sink = await sinkProcess();
  // A session still open when it stops: its transcript comes before the summary, which is last.
  const open = await rawClient(sink.port);
  await open.send('EHLO client.test\r\n');
  await open.waitFor(/^250 CHUNKING/m);
  const code = await sink.stop();
  assert.equal(code, 0, `exit ${code}, signal ${sink.child.signalCode}: ${sink.stdout()}${sink.stderr()}`);
  assert.match(
    sink.stdout(),
    /\n--- session #1\n[^]*\n -> EHLO client\.test\n[^]*\n=== sink stopped: 0 message\(s\), 0 bytes, in 1 session\(s\)[^\n]*\n$/,
  );
});

test('smtpkit demo runs a probe and a send against its own sink', async () => {
  const r = await runCli(['demo'], { limitMs: 20_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^=== OK: localhost:\d+: \d+ passed/m);
  assert.match(r.stdout, /^=== message accepted by localhost:\d+ for 1 of 1 recipient\(s\), queue id [0-9A-F]{12}/m);
  // PLAIN carries the password itself: the transcript shows it redacted.
  assert.match(r.stdout, /^ ~> AUTH PLAIN <redacted>$/m);
  assert.ok(!r.stdout.includes('demo-password'));
  assert.ok(!r.stdout.includes(Buffer.from('\0demo\0demo-password').toString('base64')));
});

test('load mode over worker threads (SMTPKIT_LOAD_THREADS): one count shared, figures merged, a refusal reported once per message', async () => {
  const sink = await sinkProcess(['-q']);
  try {
    const r = await runCli(
      [
        'send',
        `127.0.0.1:${sink.port}`,
        '--from',
        'a@client.test',
        '--to',
        'b@example.test',
        '--count',
        '250',
        '--concurrency',
        '5',
        '--per-connection',
        '3',
        '--json',
      ],
      { env: { SMTPKIT_LOAD_THREADS: '3' }, limitMs: 30_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.settings.threads, 3);
    assert.deepEqual([doc.result.sent, doc.result.accepted, doc.result.failed], [250, 250, 0]);
    assert.equal(doc.result.latencyMs.message.count, 250);
    assert.equal(await sink.stop(), 0);
    assert.match(sink.stdout(), /^=== sink stopped: 250 message\(s\)/m);
  } finally {
    sink.child.kill('SIGKILL');
  }
  const failing = await sinkProcess(['-q', '--reject-rcpt', '^b@']);
  try {
    const r = await runCli(
      [
        'send',
        `127.0.0.1:${failing.port}`,
        '--from',
        'a@client.test',
        '--to',
        'b@example.test',
        '--count',
        '40',
        '--concurrency',
        '4',
        '--json',
      ],
      { env: { SMTPKIT_LOAD_THREADS: '2' } },
    );
    assert.equal(r.code, 8);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.settings.threads, 2);
    assert.deepEqual([doc.result.sent, doc.result.accepted, doc.result.failed], [40, 0, 40]);
    assert.deepEqual(
      doc.result.errors.map((e: { code: number; count: number }) => [e.code, e.count]),
      [[550, 40]],
    );
  } finally {
    failing.child.kill('SIGKILL');
  }
  const bad = await runCli(
    [
      'send',
      '127.0.0.1:1',
      '--from',
      'a@client.test',
      '--to',
      'b@example.test',
      '--count',
      '300',
      '--concurrency',
      '2',
    ],
    { env: { SMTPKIT_LOAD_THREADS: 'many' } },
  );
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /SMTPKIT_LOAD_THREADS takes a whole number/);
});

test('--idle-timeout and --max-sessions: 421 4.4.2 to the silent client, 421 4.7.0 to the one too many; counted in the summary', async () => {
  const sink = await sinkProcess(['--idle-timeout', '1s', '--max-sessions', '1']);
  try {
    const idle = await idleClient(sink.port);
    const extra = await rawClient(sink.port);
    await extra.closed;
    assert.match(extra.text(), /^421 4\.7\.0 /);
    await idle.closed;
    assert.match(idle.text(), /^421 4\.4\.2 sink\.localhost Error: timeout exceeded\r\n$/m);
    assert.equal(await sink.stop(), 0);
    assert.match(sink.stdout(), /^!!! idle for 1 s: hanging up$/m);
    assert.match(sink.stderr(), /^!!! 1 sessions open: refusing more with 421 4\.7\.0/m);
    assert.match(sink.stdout(), /in 1 session\(s\);.*; 1 session\(s\) refused \(--max-sessions\)$/m);
  } finally {
    sink.child.kill('SIGKILL');
  }
  for (const bad of [
    ['--idle-timeout', '0'],
    ['--idle-timeout', 'soon'],
    ['--max-sessions', '0'],
    ['--max-sessions', '2.5'],
    ['--max-size', '1e99'],
  ]) {
    const r = await runCli(['sink', '--port', '0', ...bad]);
    assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(bad[0]!));
  }
});

test('an early talker is refused with 554 and its commands never run', async () => {
  const sink = await sinkProcess(['--delay-greeting', '1s']);
  try {
    const c = await earlyTalker(sink.port);
    await c.closed;
    assert.match(c.text(), /^554 5\.5\.0 SMTP protocol error: data sent before the greeting\r\n$/);
    assert.equal(await sink.stop(), 0);
    assert.match(sink.stdout(), /^!!! the client talked before the greeting: refused, its input discarded$/m);
    assert.doesNotMatch(sink.stdout(), /-> EHLO/);
  } finally {
    sink.child.kill('SIGKILL');
  }
});

test('a save that fails answers 451 4.3.0 and the sink keeps serving: directory gone, file too big for the disk', async () => {
  const base = tempDir('smtpkit-savefail-');
  const attachment = join(base, 'big.bin');
  writeFileSync(attachment, Buffer.alloc(300_000, 0x61));
  const send = (port: number, extra: string[] = []) =>
    runCli(['send', `127.0.0.1:${port}`, '--from', 'a@client.test', '--to', 'b@example.test', '-q', ...extra]);
  // The directory disappears under a running sink (this crashed it once).
  const gone = join(base, 'gone');
  const a = await sinkProcess(['-q', '--save', gone]);
  try {
    rmSync(gone, { recursive: true });
    const r = await send(a.port);
    assert.equal(r.code, 8, r.stdout + r.stderr);
    assert.match(r.stderr, /451/);
    mkdirSync(gone);
    assert.equal((await send(a.port)).code, 0, 'the same sink goes on once the directory is back');
    assert.equal(readdirSync(gone).length, 1);
    assert.equal(await a.stop(), 0);
    assert.match(a.stderr(), /^!!! could not save a message, answered 451 4\.3\.0 \(shown once per reason\): ENOENT/m);
    assert.match(a.stdout(), /1 message\(s\).*; 1 not saved \(451\)/);
  } finally {
    a.child.kill('SIGKILL');
  }
  // A file size limit stands in for a full disk: writes fail with EFBIG past 100 kB.
  const full = join(base, 'full');
  const b = await sinkProcess(['--json', '--save', full], { wrap: ['prlimit', '--fsize=100000', '--'] });
  try {
    for (let i = 0; i < 2; i++) {
      const r = await send(b.port, ['--attach', attachment]);
      assert.equal(r.code, 8, r.stdout + r.stderr);
    }
    assert.equal((await send(b.port, ['--subject', 'small'])).code, 0);
    assert.equal(await b.stop(), 0);
    assert.equal(b.stderr().match(/could not save a message/g)?.length, 1, `logged once: ${b.stderr()}`);
    assert.match(b.stderr(), /EFBIG/);
    const lines = b
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 1, 'only the saved message is reported');
    assert.deepEqual(readdirSync(full), [lines[0].file.split('/').pop()], 'no partial or temporary file left');
  } finally {
    b.child.kill('SIGKILL');
    rmSync(base, { recursive: true, force: true });
  }
});

test('sink --json: each message line is written before its 250, so a script that saw the 250 finds it', async () => {
  const file = join(dir, 'lines.jsonl');
  // stdout to a file, as a CI job redirects it; the listening line is on stderr with --json.
  const sink = await sinkProcess(['--json'], { wrap: ['sh', '-c', `exec "$@" > '${file}'`, 'sh'] });
  try {
    const c = await rawClient(sink.port);
    await c.nextReply();
    await c.send('EHLO client.test\r\n');
    await c.nextReply();
    for (let i = 1; i <= 200; i++) {
      await c.send('MAIL FROM:<a@client.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n');
      for (let k = 0; k < 3; k++) await c.nextReply();
      await c.send(`Subject: ${i}\r\n\r\nbody\r\n.\r\n`);
      assert.match(await c.nextReply(), /^250 2\.0\.0 Ok: queued as /);
      const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
      assert.equal(lines.length, i, `lines written when the 250 of message ${i} came`);
    }
  } finally {
    sink.child.kill('SIGKILL');
  }
});

test('send --bdat into the sink: CHUNKING offered, the message saved byte for byte as DATA would', async () => {
  const saved = join(dir, 'bdat');
  const sink = await sinkProcess(['--json', '--save', saved]);
  try {
    const message = Buffer.from(
      `From: a@client.test\r\nTo: b@example.test\r\nSubject: chunks\r\n\r\none\r\n.two\r\n..three\r\n.\r\n${'x'.repeat(998)}\r\n`.repeat(
        3000,
      ),
    );
    const file = join(dir, 'bdat.eml');
    writeFileSync(file, message);
    for (const via of [['--bdat'], []]) {
      const r = await runCli(
        [
          'send',
          `127.0.0.1:${sink.port}`,
          '--from',
          'a@client.test',
          '--to',
          'b@example.test',
          '--data',
          file,
          '--json',
          ...via,
        ],
        { limitMs: 30_000 },
      );
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      const chunks = doc.events.filter(
        (e: { type: string; command: string }) => e.type === 'sent' && e.command === 'BDAT',
      ).length;
      assert.ok(via.length ? chunks > 1 : chunks === 0, `${chunks} BDAT chunk(s)`);
      const m = JSON.parse(sink.stdout().trim().split('\n').pop()!);
      assert.equal(m.size, message.length);
      assert.ok(readFileSync(m.file).equals(message), `${via.join('') || 'DATA'}: saved byte for byte`);
    }
  } finally {
    sink.child.kill('SIGKILL');
  }
});

test('AUTH with a tab, in any case, or answered after 334: none of it shows in the sink’s transcript', async () => {
  const sink = await sinkProcess(['--auth', 'tester:S3cret']);
  const b64 = Buffer.from('\0tester\0S3cret').toString('base64');
  try {
    for (const script of [`AUTH PLAIN\t${b64}\r\nQUIT\r\n`, `auth\tplain\t${b64}\r\nQUIT\r\n`, `AUTH PLAIN\r\n`]) {
      const c = await rawClient(sink.port);
      await c.waitFor(/^220 /m);
      await c.send(script);
      if (!script.includes('QUIT')) {
        await c.waitFor(/^334/m);
        await c.send(`${b64}\r\nQUIT\r\n`);
      }
      await c.closed;
      assert.match(c.text(), /^235 /m);
    }
    assert.equal(await sink.stop(), 0);
    assert.ok(!sink.stdout().includes(b64) && !sink.stdout().includes('S3cret'), sink.stdout());
    assert.equal(sink.stdout().match(/^ -> AUTH PLAIN <redacted>$/gm)?.length, 2);
    assert.match(sink.stdout(), /^ -> <redacted>$/m);
  } finally {
    sink.child.kill('SIGKILL');
  }
});

test('--reject-rcpt that backtracks on a client’s address: that RCPT gets 451 within the limit and the sink keeps serving', async () => {
  const sink = await sinkProcess(['-q', '--reject-rcpt', '^(a+)+$']);
  try {
    const c = await rawClient(sink.port);
    await c.waitFor(/^220 /m, 5000);
    await c.send('EHLO x\r\nMAIL FROM:<m@client.test>\r\n');
    await c.waitFor(/^250 2\.1\.0/m, 5000);
    await c.send(`RCPT TO:<${'a'.repeat(40)}!>\r\n`);
    assert.match(await c.waitFor(/^451 4\.3\.0 --reject-rcpt took over \d+ ms/m, 5000), /451/);
    await c.send('RCPT TO:<aaaa>\r\nRCPT TO:<b@example.test>\r\n');
    const text = await c.waitFor(/^250 2\.1\.5/m, 5000);
    assert.match(text, /^550 5\.1\.1 <aaaa>/m);
    c.socket.destroy();
  } finally {
    await sink.stop();
  }
});
