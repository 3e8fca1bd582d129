import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { dnsServer } from './helpers/dns-server.js';
import { faults, implicitTlsOnlyServer, scripted } from './helpers/fault-server.js';
import { TLS } from './helpers/paths.js';
import { rawServer, type RawServer } from './helpers/raw-server.js';
import { smtpPeer, type Peer } from './helpers/smtp-peer.js';

// What scripts and monitors rely on (issue 24): where the one -q line goes, usage errors in
// the chosen machine format, check_smtp's options, server time only in the response time,
// and an enumeration test that says when it could not tell.

let good: Peer; // STARTTLS with the test CA's certificate, no AUTH
let noTls: Peer; // no STARTTLS at all
let gateway: RawServer; // refuses every recipient, VRFY and EXPN alike
let tlsOnly: { port: number; close(): Promise<void> };
let refusedPort = 0;

before(async () => {
  good = await smtpPeer({ disabledCommands: ['AUTH'] });
  noTls = await smtpPeer({ disabledCommands: ['AUTH'], hideSTARTTLS: true });
  gateway = await rawServer(
    scripted({
      greeting: '220 mx.enum.test ESMTP\r\n',
      extensions: ['PIPELINING', '8BITMIME'],
      ...faults.refusesEveryoneAlike(),
    }),
  );
  tlsOnly = await implicitTlsOnlyServer();
  const closed = await rawServer(() => {});
  refusedPort = closed.port;
  await closed.close();
});
after(() => Promise.all([good.close(), noTls.close(), gateway.close(), tlsOnly.close()]));

const at = (p: { port: number }) => `127.0.0.1:${p.port}`;
const lines = (s: string) => s.split('\n').filter(Boolean);

test('probe -q: exactly one line, OK on stdout or FAILED (exit N, class) on stderr, however many targets', async () => {
  const ok = await runCli(['probe', at(good), '--ca-file', TLS.ca, '-q']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.equal(ok.stderr, '');
  assert.equal(lines(ok.stdout).length, 1, ok.stdout);
  assert.match(ok.stdout, /^OK: 127\.0\.0\.1:\d+: \d+ passed, 0 warnings, 0 failed\n$/);

  const warned = await runCli(['probe', at(noTls), '-q']);
  assert.equal(warned.code, 0);
  assert.match(warned.stdout, /^OK: 127\.0\.0\.1:\d+: \d+ passed, 1 warning, 0 failed\n$/);

  const refused = await runCli(['probe', `127.0.0.1:${refusedPort}`, '-q']);
  assert.equal(refused.code, 4);
  assert.equal(refused.stdout, '', 'nothing on stdout when it failed');
  assert.equal(lines(refused.stderr).length, 1, refused.stderr);
  assert.match(refused.stderr, /^FAILED \(exit 4, connect\): 127\.0\.0\.1:\d+: .*cannot connect/);

  const failedCheck = await runCli(['probe', at(good), '--ca-file', TLS.ca, '--expect-banner', '^220 other', '-q']);
  assert.equal(failedCheck.code, 1);
  assert.equal(failedCheck.stdout, '');
  assert.match(failedCheck.stderr, /^FAILED \(exit 1, checkFailed\): 127\.0\.0\.1:\d+: .*1 failed \(greeting\)\n$/);

  const mixed = await runCli(['probe', at(good), `127.0.0.1:${refusedPort}`, at(noTls), '--ca-file', TLS.ca, '-q']);
  assert.equal(mixed.code, 4);
  assert.equal(mixed.stdout, '');
  assert.equal(lines(mixed.stderr).length, 1, mixed.stderr);
  assert.match(mixed.stderr, /^FAILED \(exit 4, connect\): 1 of 3 targets failed; 127\.0\.0\.1:\d+: .*cannot connect/);

  const allOk = await runCli(['probe', at(good), at(noTls), '--ca-file', TLS.ca, '-q']);
  assert.equal(allOk.code, 0);
  assert.equal(allOk.stderr, '');
  assert.match(allOk.stdout, /^OK: 2 targets ok \(1 with warnings\)\n$/);
});

test('probe --json: a usage error (unknown option, bad value, swaks name, bad choice) is a JSON document with errorClass "usage", exit 2', async () => {
  for (const args of [
    ['--bogus'],
    ['--timeout', 'soon'],
    ['--tls-optional'],
    ['--mech', 'NOPE'],
    ['--concurrency', '0'],
  ]) {
    const r = await runCli(['probe', at(good), '--json', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr, '', `${args.join(' ')}: the document is the whole answer`);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.command, 'probe');
    assert.equal(doc.outcome.ok, false);
    assert.equal(doc.outcome.exitCode, 2);
    assert.equal(doc.outcome.errorClass, 'usage', args.join(' '));
    assert.deepEqual(doc.results, []);
  }
  // --format json says the same thing as --json; the option may come before the command.
  const r = await runCli(['--format', 'json', 'probe', at(good), '--bogus']);
  assert.equal(JSON.parse(r.stdout).outcome.message, "unknown option '--bogus'");
});

test('probe --format nagios: every failure of smtpkit itself is SMTP UNKNOWN, exit 3', async () => {
  for (const args of [
    ['--bogus'],
    ['--timeout', 'soon'],
    ['--tls-optional'],
    ['--mech', 'NOPE'],
    ['--warning', 'x'],
    ['-D', '30,abc'],
  ]) {
    const r = await runCli(['probe', at(good), '--format', 'nagios', ...args]);
    assert.equal(r.code, 3, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(lines(r.stdout).length, 1, r.stdout);
    assert.match(r.stdout, /^SMTP UNKNOWN - /, args.join(' '));
    assert.equal(r.stderr, '');
  }
  const typo = await runCli(['probe', at(good), '--format=NAGIOS', '--bogus']);
  assert.equal(typo.code, 3);
  assert.match(typo.stdout, /^SMTP UNKNOWN - unknown option '--bogus'\n$/);
});

test("check_smtp's options work in probe with their check_smtp meaning: -H -p -w -c -t -e -S -D", async () => {
  const base = [
    'probe',
    '-H',
    '127.0.0.1',
    '-p',
    String(good.port),
    '--ca-file',
    TLS.ca,
    '--format',
    'nagios',
    '-t',
    '10',
  ];
  const ok = await runCli([...base, '-w', '5', '-c', '9.5', '-e', '220 mail.test', '-S', '-D', '30,14']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^SMTP OK - 127\.0\.0\.1: .*\|time=\d+\.\d{3}s;5\.000;9\.500;0 /);
  // -e: the greeting must contain the text.
  const expect = await runCli([...base, '-e', '220 other.test']);
  assert.equal(expect.code, 2, expect.stdout);
  assert.match(expect.stdout, /^SMTP CRITICAL - .*greeting: "220 mail\.test/);
  // -D warn,crit: certificate days.
  const days = await runCli([...base, '-D', '40000']);
  assert.equal(days.code, 1, days.stdout);
  assert.match(days.stdout, /^SMTP WARNING - .*certificate-expiry: \d+ days left \(below 40000\)/);
  const crit = await runCli([...base, '-D', '40000,39999']);
  assert.equal(crit.code, 2, crit.stdout);
  // -c: seconds of response time.
  const slow = await runCli([...base, '-c', '0.0001']);
  assert.equal(slow.code, 2, slow.stdout);
  assert.match(slow.stdout, /^SMTP CRITICAL - .*response-time: total [\d.]+ ms > 0\.1 ms/);
  // -S: STARTTLS is required; a server without it is critical, not a warning.
  const noStarttls = await runCli(['probe', '-H', '127.0.0.1', '-p', String(noTls.port), '--format', 'nagios']);
  assert.equal(noStarttls.code, 1, noStarttls.stdout);
  const required = await runCli(['probe', '-H', '127.0.0.1', '-p', String(noTls.port), '--format', 'nagios', '-S']);
  assert.equal(required.code, 2, required.stdout);
  assert.match(required.stdout, /^SMTP CRITICAL - .*tls: STARTTLS is not offered/);
});

test('the implicit-TLS detection wait is its own phase: not banner time, not in the response-time check', async () => {
  const r = await runCli([
    'probe',
    at(tlsOnly),
    '--ca-file',
    TLS.ca,
    '--json',
    '--crit-ms',
    '1500',
    '--crit-ms',
    'banner=1000',
  ]);
  const doc = JSON.parse(r.stdout);
  const result = doc.results[0];
  assert.equal(r.code, 0, JSON.stringify(result.checks));
  assert.ok(result.timings['implicit-tls-detect'] >= 2000, JSON.stringify(result.timings));
  assert.ok(result.timings.banner < 1000, JSON.stringify(result.timings));
  assert.ok(result.totalMs >= 2000, 'the wall time still shows it');
  assert.ok(
    result.responseMs < 1500 && result.responseMs <= result.totalMs - result.timings['implicit-tls-detect'] + 1,
    `responseMs ${result.responseMs}`,
  );
  assert.equal(result.checks.find((c: { name: string }) => c.name === 'response-time').status, 'pass');
  const nagios = await runCli(['probe', at(tlsOnly), '--ca-file', TLS.ca, '--format', 'nagios', '-c', '1.5']);
  assert.equal(nagios.code, 0, nagios.stdout);
  assert.match(
    nagios.stdout,
    /, 0\.\d{3}s response time\|time=0\.\d{3}s;;1\.500;0 .*implicit-tls-detect=2\.\d{3}s;;;0/,
  );
});

test('--enum-test: the same refusal for a real and a random address is inconclusive, not a pass; the known address is postmaster at the greeting’s domain', async () => {
  const r = await runCli(['probe', at(gateway), '--enum-test', '--json']);
  const doc = JSON.parse(r.stdout);
  const checks = doc.results[0].checks as Array<{ name: string; status: string; message: string }>;
  const rcpt = checks.find((c) => c.name === 'rcpt-enumeration')!;
  assert.equal(rcpt.status, 'inconclusive', rcpt.message);
  assert.match(
    rcpt.message,
    /^inconclusive: both got 554 Relay access denied, a refusal that says nothing about the user/,
  );
  assert.equal(checks.find((c) => c.name === 'vrfy')!.status, 'inconclusive');
  assert.ok(
    gateway.received.some((t) => t.includes('RCPT TO:<postmaster@mx.enum.test>')),
    'postmaster at the greeting’s domain',
  );
  assert.equal(r.code, 0, 'inconclusive is no failure');
  const text = await runCli(['probe', at(gateway), '--enum-test']);
  assert.match(text.stdout, /^ {2}\? rcpt-enumeration +inconclusive: /m);
  assert.doesNotMatch(text.stdout, /✔ (vrfy|expn|rcpt-enumeration) /);
  assert.match(text.stdout, /\d+ passed, 1 warning, 0 failed, 3 inconclusive$/m);
});

test('--enum-test with --mx: the known address is postmaster at that domain', async () => {
  const dns = await dnsServer({
    'enum.test': [{ type: 'MX', exchange: 'mx.other.test', priority: 10 }],
    'mx.other.test': [{ type: 'A', address: '127.0.0.1' }],
  });
  try {
    gateway.received.length = 0;
    const r = await runCli([
      'probe',
      '--mx',
      'enum.test',
      '--resolver',
      `127.0.0.1:${dns.port}`,
      '--port',
      String(gateway.port),
      '--enum-test',
      '--json',
    ]);
    assert.ok(JSON.parse(r.stdout).results.length === 1, r.stdout + r.stderr);
    assert.ok(
      gateway.received.some((t) => t.includes('RCPT TO:<postmaster@enum.test>')),
      gateway.received.join('\n'),
    );
  } finally {
    await dns.close();
  }
});

test('--format jsonl: a JSON line per target as it finishes, in input order, then the summary and the outcome', async () => {
  const r = await runCli([
    'probe',
    at(good),
    `127.0.0.1:${refusedPort}`,
    at(noTls),
    '--ca-file',
    TLS.ca,
    '--format',
    'jsonl',
  ]);
  assert.equal(r.code, 4);
  const records = lines(r.stdout).map((l) => JSON.parse(l));
  assert.equal(records.length, 4);
  assert.deepEqual(
    records.slice(0, 3).map((x) => [x.target, x.exitCode]),
    [
      [at(good), 0],
      [`127.0.0.1:${refusedPort}`, 4],
      [at(noTls), 0],
    ],
  );
  assert.deepEqual(records[3].summary, { targets: 3, ok: 2, failed: 1 });
  assert.equal(records[3].outcome.exitCode, 4);
  assert.equal(records[3].command, 'probe');
});
