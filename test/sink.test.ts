import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LOCALHOST_CERT } from '../src/sink/localhost-cert.js';
import { runCli } from './helpers/cli.js';
import { sinkProcess } from './helpers/sink-process.js';

const dir = mkdtempSync(join(tmpdir(), 'smtpkit-sink-'));
const ca = join(dir, 'localhost.pem');
writeFileSync(ca, LOCALHOST_CERT);

test('the client suite against smtpkit sink: ehlo, starttls with the built-in certificate, every AUTH mechanism, send', async () => {
  const saved = join(dir, 'saved');
  const sink = await sinkProcess(['--tls', '--auth', 'tester:S3cret', '--save', saved]);
  try {
    const at = `localhost:${sink.port}`;
    const ehlo = await runCli(['ehlo', at, '-4', '--json']);
    assert.deepEqual(Object.keys(JSON.parse(ehlo.stdout).capabilities.extensions), ['PIPELINING', 'SIZE', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'CHUNKING', 'STARTTLS']);
    const tls = await runCli(['starttls', at, '-4', '--ca-file', ca, '--tls-verify', '-q']);
    assert.equal(tls.code, 0, tls.stderr);
    for (const mech of ['PLAIN', 'LOGIN', 'CRAM-MD5']) {
      const r = await runCli(['auth', at, '-4', '--ca-file', ca, '--user', 'tester', '--mech', mech, '-q'], { env: { SMTPKIT_PASSWORD: 'S3cret' } });
      assert.equal(r.code, 0, `${mech}: ${r.stderr}`);
    }
    const wrong = await runCli(['auth', at, '-4', '--user', 'tester', '--mech', 'PLAIN'], { env: { SMTPKIT_PASSWORD: 'nope' } });
    assert.equal(wrong.code, 7);
    const send = await runCli(['send', at, '-4', '--ca-file', ca, '--user', 'tester', '--from', 'a@client.test', '--to', 'b@example.test', '--subject', 'To the sink', '--body', 'one\n.two\nthree'], { env: { SMTPKIT_PASSWORD: 'S3cret' } });
    assert.equal(send.code, 0, send.stdout + send.stderr);
    const noAuth = await runCli(['send', at, '-4', '--ca-file', ca, '--from', 'a@client.test', '--to', 'b@example.test']);
    assert.equal(noAuth.code, 8, 'the sink requires AUTH when --auth is set');
    assert.equal(await sink.stop(), 0);
    const files = readdirSync(saved);
    assert.equal(files.length, 1);
    const eml = readFileSync(join(saved, files[0]!), 'utf8');
    assert.match(eml, /^Date: .*\r\nFrom: a@client\.test\r\nTo: b@example\.test\r\nSubject: To the sink\r\n/);
    assert.ok(eml.endsWith('\r\n\r\none\r\n.two\r\nthree\r\n'), 'dots unstuffed, as sent');
    assert.match(sink.stdout(), /^=== #\d+ message [0-9A-F]{12}: from <a@client\.test> to <b@example\.test>, \d+ bytes, subject "To the sink", over TLS, as tester$/m);
    assert.match(sink.stdout(), /^--- session #\d+$/m);
    assert.match(sink.stdout(), /^ ~> AUTH PLAIN <redacted>$/m);
    assert.ok(!sink.stdout().includes(Buffer.from('\0tester\0S3cret').toString('base64')), 'the sink redacts secrets too');
    assert.match(sink.stdout(), /^=== sink stopped: 1 message\(s\), \d+ bytes, in \d+ session\(s\)/m);
  } finally {
    sink.child.kill('SIGKILL');
  }
});

test('--json: one line per message on stdout with envelope, size and headers', async () => {
  const sink = await sinkProcess(['--json', '--count', '2']);
  for (let i = 0; i < 2; i++) await runCli(['send', `127.0.0.1:${sink.port}`, '--from', 'a@client.test', '--to', `b${i}@example.test`, '--subject', `n${i}`]);
  assert.equal(await sink.exited, 0, '--count 2 stops it');
  const lines = sink.stdout().trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.deepEqual(lines.map((m) => [m.from, m.to, m.headers.find((h: [string, string]) => h[0] === 'Subject')[1]]), [['a@client.test', ['b0@example.test'], 'n0'], ['a@client.test', ['b1@example.test'], 'n1']]);
  assert.ok(lines.every((m) => m.size > 100 && m.data === undefined));
  assert.match(sink.stderr(), /listening on/);
});

test('fault injection: each flag, and what the client sees', async () => {
  const cases: Array<[string[], string[], number, RegExp]> = [
    [['--reject-rcpt', '^bad'], ['--to', 'bad@example.test'], 8, /accepted none of the 1 recipient\(s\): bad@example\.test \(550\)/],
    [['--tempfail-rate', '1'], ['--to', 'b@example.test'], 8, /refused the sender: 451 Temporary failure/],
    [['--delay-greeting', '2s'], ['--to', 'b@example.test', '--greeting-timeout', '300ms'], 4, /sent no greeting within 300ms/],
    [['--delay-data', '2s'], ['--to', 'b@example.test', '--command-timeout', '300ms'], 5, /no reply to \. within 300ms/],
    [['--drop-after', 'rcpt'], ['--to', 'b@example.test', '--no-pipelining'], 5, /closed the connection while we waited for the reply to RCPT/],
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
    const r = await runCli(['send', `127.0.0.1:${sink.port}`, '--from', 'a@client.test', '--to', 'b@example.test', '--count', '300', '--concurrency', '7', '--per-connection', '11', '--json'], { limitMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.result.sent, 300);
    assert.equal(doc.result.accepted, 300);
    assert.ok(doc.result.messagesPerSecond > 0);
    assert.deepEqual(Object.keys(doc.result.latencyMs), ['connect', 'envelope', 'data', 'message']);
    // Up to 11 per connection; at the end up to 7 connections may each hold a partial batch.
    assert.ok(doc.result.latencyMs.connect.count >= Math.ceil(300 / 11) && doc.result.latencyMs.connect.count <= Math.ceil(300 / 11) + 6, String(doc.result.latencyMs.connect.count));
    assert.equal(await sink.stop(), 0);
    assert.match(sink.stdout(), /^=== sink stopped: 300 message\(s\)/m);
    assert.equal(sink.stdout().match(/^=== #\d+ message /gm)?.length, 300);
  } finally {
    sink.child.kill('SIGKILL');
  }
  const failing = await sinkProcess(['-q', '--reject-rcpt', '^b@']);
  try {
    const r = await runCli(['send', `127.0.0.1:${failing.port}`, '--from', 'a@client.test', '--to', 'b@example.test', '--count', '20', '--concurrency', '3']);
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
  const code = await sink.stop();
  assert.equal(code, 0, `exit ${code}, signal ${sink.child.signalCode}: ${sink.stdout()}${sink.stderr()}`);
  assert.match(sink.stdout(), /=== sink stopped: 0 message\(s\)/);
});

test('smtpkit demo runs a probe and a send against its own sink', async () => {
  const r = await runCli(['demo'], { limitMs: 20_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^=== OK: localhost:\d+: \d+ passed/m);
  assert.match(r.stdout, /^=== message accepted by localhost:\d+ for 1 of 1 recipient\(s\), queue id [0-9A-F]{12}/m);
  assert.match(r.stdout, /^ ~> AUTH CRAM-MD5$/m);
  assert.ok(!r.stdout.includes('demo-password'));
});
