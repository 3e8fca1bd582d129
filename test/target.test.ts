import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SmtpkitError } from '../src/errors.js';
import { parseTarget } from '../src/protocol/target.js';
import { durationMs as parseDuration } from '../src/util/duration.js';
import { rawServer } from './helpers/raw-server.js';
import { runCli } from './helpers/cli.js';

test('targets: names, ports, bracketed and bare IPv6', () => {
  assert.deepEqual(parseTarget('mail.test', 25), { host: 'mail.test', port: 25 });
  assert.deepEqual(parseTarget('mail.test:587', 25), { host: 'mail.test', port: 587 });
  assert.deepEqual(parseTarget('[::1]:2525', 25), { host: '::1', port: 2525 });
  assert.deepEqual(parseTarget('[::1]', 25), { host: '::1', port: 25 });
  assert.deepEqual(parseTarget('2001:db8::1', 25), { host: '2001:db8::1', port: 25 });
  for (const bad of ['', 'host:0', 'host:65536', 'host:x', '[mail.test]:25', 'a b', 'gg::1']) {
    assert.throws(
      () => parseTarget(bad, 25),
      (e: unknown) => e instanceof SmtpkitError && e.exitCode === 2,
      bad,
    );
  }
});

test('durations', () => {
  assert.equal(parseDuration('30s', 'x'), 30_000);
  assert.equal(parseDuration('250ms', 'x'), 250);
  assert.equal(parseDuration('2m', 'x'), 120_000);
  assert.equal(parseDuration('1.5', 'x'), 1500);
  for (const bad of ['0', '-1s', 'soon', '2h']) assert.throws(() => parseDuration(bad, '--timeout'), /--timeout/);
});

test('CR or LF in a value that goes on the wire is refused before connecting (exit 2)', async () => {
  const server = await rawServer((s) => s.write('220 hi\r\n'));
  try {
    for (const args of [
      ['ehlo', `127.0.0.1:${server.port}`, '--ehlo', 'x\r\nMAIL FROM:<a@b>'],
      ['ehlo', `127.0.0.1:${server.port}`, '--ehlo', 'two words'],
      ['starttls', `127.0.0.1:${server.port}`, '--sni', 'a\nb'],
      ['connect', `127.0.0.1:${server.port}\r\nQUIT`],
    ]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /line break|one word/);
      assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
    }
    assert.equal(server.received.length, 0, 'no connection was made');
  } finally {
    await server.close();
  }
});

test('usage errors exit 2 with a message; help and version exit 0', async () => {
  assert.equal((await runCli(['--version'])).code, 0);
  assert.equal((await runCli(['--help'])).code, 0);
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const missing = await runCli(['connect']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /give a server: host\[:port\], or -s host\[:port\]/);
  const noServer = await runCli(['ehlo']);
  assert.equal(noServer.code, 2);
  assert.match(noServer.stderr, /give a server \(host\[:port\]\) or --mx DOMAIN/);
  const both = await runCli(['ehlo', '127.0.0.1', '-4', '-6']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /-4 and -6/);
  const family = await runCli(['ehlo', '127.0.0.1', '-6']);
  assert.equal(family.code, 2);
  assert.match(family.stderr, /IPv4 address but -6/);
  const file = await runCli(['starttls', '127.0.0.1', '--ca-file', '/nonexistent/ca.pem']);
  assert.equal(file.code, 2);
  assert.match(file.stderr, /--ca-file: cannot read \/nonexistent\/ca.pem: ENOENT/);
});

test('targets as URLs: smtp://, smtps:// (465, implicit TLS), submission:// (587)', () => {
  assert.deepEqual(parseTarget('smtp://mail.test', 25), { host: 'mail.test', port: 25, scheme: 'smtp' });
  assert.deepEqual(parseTarget('smtp://mail.test:2525/', 25), { host: 'mail.test', port: 2525, scheme: 'smtp' });
  assert.deepEqual(parseTarget('smtps://mail.test', 25), { host: 'mail.test', port: 465, scheme: 'smtps' });
  assert.deepEqual(parseTarget('SMTPS://[::1]:4650', 25), { host: '::1', port: 4650, scheme: 'smtps' });
  assert.deepEqual(parseTarget('submission://mail.test', 25), { host: 'mail.test', port: 587, scheme: 'submission' });
  for (const bad of [
    'http://mail.test',
    'smtps://',
    'smtp://mail.test/x',
    'smtp://user@mail.test',
    'smtps://mail.test:0',
  ]) {
    assert.throws(
      () => parseTarget(bad, 25),
      (e: unknown) => e instanceof SmtpkitError && e.exitCode === 2,
      bad,
    );
  }
});
