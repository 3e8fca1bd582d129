import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { capturePeer, type CapturePeer } from './helpers/capture-peer.js';
import { dnsServer, type DnsServer } from './helpers/dns-server.js';
import { EXPIRED_TLS, TLS } from './helpers/paths.js';
import { rawServer, type RawServer } from './helpers/raw-server.js';
import { smtpPeer, type Peer } from './helpers/smtp-peer.js';
import { tempDir } from './helpers/process-group.js';

let good: CapturePeer; // STARTTLS, AUTH PLAIN/LOGIN offered before TLS, accepts any recipient
let strictPeer: Peer; // refuses outside recipients
let expired: Peer;
let wrongName: Peer;
let slow: RawServer;
let silent: RawServer;
let refusedPort = 0;

before(async () => {
  good = await capturePeer();
  strictPeer = await smtpPeer({
    disabledCommands: ['AUTH'],
    // Only plain addresses in its own domain: no %-hack, bang path, quoting or IP literal gets through.
    onRcptTo(address, _s, cb) {
      cb(
        /^[^%!@"]+@example\.test$/.test(address.address)
          ? undefined
          : Object.assign(new Error(`<${address.address}>: Relay access denied`), { responseCode: 554 }),
      );
    },
  });
  expired = await smtpPeer({ key: EXPIRED_TLS.key(), cert: EXPIRED_TLS.cert() });
  wrongName = await smtpPeer({ key: TLS.wrongNameKey(), cert: TLS.wrongNameCert() });
  slow = await rawServer((s) => {
    setTimeout(() => s.write('220 slow.test ESMTP\r\n'), 1200);
    s.on('data', (d) => {
      for (const line of d.toString().split('\r\n').filter(Boolean))
        s.write(/^QUIT/i.test(line) ? '221 bye\r\n' : /^EHLO/i.test(line) ? '250 slow.test\r\n' : '250 ok\r\n');
    });
  });
  silent = await rawServer(() => {});
  const closed = await rawServer(() => {});
  refusedPort = closed.port;
  await closed.close();
});
after(() =>
  Promise.all([good.close(), strictPeer.close(), expired.close(), wrongName.close(), slow.close(), silent.close()]),
);

const at = (p: { port: number }) => `127.0.0.1:${p.port}`;

test('a healthy server: every check passes, exit 0, one verdict line', async () => {
  const r = await runCli([
    'probe',
    at(strictPeer),
    '--ca-file',
    TLS.ca,
    '--relay-test',
    '--from',
    'a@client.test',
    '--rcpt',
    'b@example.test',
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  for (const name of [
    'connect',
    'greeting',
    'ehlo',
    'tls',
    'tls-version',
    'certificate-trust',
    'certificate-name',
    'certificate-expiry',
    'auth-before-tls',
    'envelope',
    'open-relay',
    'response-time',
  ]) {
    assert.match(r.stdout, new RegExp(`^  ✔ ${name} `, 'm'), name);
  }
  assert.match(r.stdout, /^  ✔ open-relay +relaying refused: 554 /m);
  assert.match(r.stdout, /^=== OK: 127\.0\.0\.1:\d+: 12 passed, 0 warnings, 0 failed$/m);
  assert.match(r.stdout, /^  timings \(ms\): dns [\d.]+, connect/m);
});

test('certificate problems fail their checks (exit 1), or stop the probe with --tls-verify (exit 6)', async () => {
  const exp = await runCli(['probe', at(expired), '--ca-file', TLS.ca]);
  assert.equal(exp.code, 1);
  assert.match(exp.stdout, /^  ✖ certificate-expiry +EXPIRED \d+ days ago$/m);
  assert.match(exp.stdout, /^  ✖ certificate-trust +not trusted: a certificate in the chain has expired/m);
  const name = await runCli(['probe', at(wrongName), '--ca-file', TLS.ca]);
  assert.equal(name.code, 1);
  assert.match(name.stdout, /^  ✖ certificate-name +the certificate is for DNS:other\.test, not 127\.0\.0\.1$/m);
  const untrusted = await runCli(['probe', at(strictPeer)]);
  assert.match(untrusted.stdout, /^  ✖ certificate-trust +not trusted/m);
  const verify = await runCli(['probe', at(wrongName), '--ca-file', TLS.ca, '--tls-verify']);
  assert.equal(verify.code, 6);
  assert.match(verify.stdout, /stopped: the certificate does not match/);
});

test('expiry thresholds: --warn-days warns (exit 0, or 1 with --strict), --crit-days fails', async () => {
  const warn = await runCli(['probe', at(strictPeer), '--ca-file', TLS.ca, '--warn-days', '40000']);
  assert.equal(warn.code, 0);
  assert.match(warn.stdout, /^  ⚠ certificate-expiry +\d+ days left \(below 40000\)$/m);
  assert.match(warn.stdout, /OK with warnings/);
  assert.equal(
    (await runCli(['probe', at(strictPeer), '--ca-file', TLS.ca, '--warn-days', '40000', '--strict'])).code,
    1,
  );
  const crit = await runCli(['probe', at(strictPeer), '--ca-file', TLS.ca, '--crit-days', '40000']);
  assert.equal(crit.code, 1);
  assert.match(crit.stdout, /^  ✖ certificate-expiry /m);
});

test('AUTH before TLS warns; an open relay fails; --expect-banner mismatch fails', async () => {
  const r = await runCli(['probe', at(good), '--ca-file', TLS.ca, '--relay-test', '--expect-banner', '^220 other']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^  ⚠ auth-before-tls +AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2 is offered before TLS/m);
  assert.match(
    r.stdout,
    /^  ✖ open-relay +OPEN RELAY: the server accepted a recipient in an outside domain without AUTH/m,
  );
  assert.match(r.stdout, /^  ✖ greeting +"220 mail\.test ESMTP" does not match \/\^220 other\//m);
  assert.equal(good.messages.length, 0, 'the relay test sends no message');
});

test('slow greeting: thresholds warn or fail; --timeout bounds the whole probe (exit 4)', async () => {
  const warn = await runCli(['probe', at(slow), '--warn-ms', 'banner=500', '--starttls', 'never']);
  assert.match(warn.stdout, /^  ⚠ response-time +banner 1\d{3}(\.\d)? ms > 500 ms$/m);
  const crit = await runCli(['probe', at(slow), '--crit-ms', '1000']);
  assert.equal(crit.code, 1);
  assert.match(crit.stdout, /^  ✖ response-time +total \d+(\.\d)? ms > 1000 ms$/m);
  const quick = await runCli(['probe', at(slow), '--timeout', '400ms']);
  assert.equal(quick.code, 4);
  assert.ok(quick.ms < 3000, `took ${quick.ms}`);
});

test('--format nagios: the monitoring-plugins line with perfdata and exit codes', async () => {
  const ok = await runCli([
    'probe',
    at(strictPeer),
    '--ca-file',
    TLS.ca,
    '--format',
    'nagios',
    '--warn-ms',
    '5000',
    '--crit-ms',
    '9000',
  ]);
  assert.equal(ok.code, 0);
  assert.match(
    ok.stdout,
    /^SMTP OK - 127\.0\.0\.1:\d+: 220 mail\.test ESMTP after [\d.]+ ms, \d+\.\d{3}s response time\|time=\d+\.\d{3}s;5\.000;9\.000;0 dns=\d+\.\d{3}s;;;0 connect=\d+\.\d{3}s;;;0 banner=\d+\.\d{3}s;;;0 ehlo=\d+\.\d{3}s;;;0 starttls=\d+\.\d{3}s;;;0 tls=\d+\.\d{3}s;;;0 ehlo-tls=\d+\.\d{3}s;;;0 quit=\d+\.\d{3}s;;;0\n$/,
  );
  const warn = await runCli(['probe', at(good), '--ca-file', TLS.ca, '--format', 'nagios']);
  assert.equal(warn.code, 1);
  assert.match(warn.stdout, /^SMTP WARNING - .*auth-before-tls: AUTH PLAIN LOGIN/);
  const crit = await runCli(['probe', `127.0.0.1:${refusedPort}`, '--format', 'nagios']);
  assert.equal(crit.code, 2);
  assert.match(crit.stdout, /^SMTP CRITICAL - 127\.0\.0\.1:\d+: cannot connect to .*connection refused/);
  const unknown = await runCli(['probe', 'bad host', '--format', 'nagios']);
  assert.equal(unknown.code, 3);
  assert.match(unknown.stdout, /^SMTP UNKNOWN - /);
});

/** Enough of an XML reader to prove the document is well formed and to count elements. */
function parseXml(text: string) {
  const stack: string[] = [];
  const counts: Record<string, number> = {};
  const body = text.replace(/^<\?xml[^?]*\?>\s*/, '');
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w-]*)((?:\s+[\w-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/g)) {
    if (m[5] !== undefined) {
      assert.doesNotMatch(m[5], /&(?!(amp|lt|gt|quot|apos);)/, 'stray &');
      continue;
    }
    const [, close, name, , selfClose] = m;
    if (close) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else {
      counts[name!] = (counts[name!] ?? 0) + 1;
      if (!selfClose) stack.push(name!);
    }
  }
  assert.equal(stack.length, 0, 'every element is closed');
  assert.equal(
    body.replace(/<(\/?)([A-Za-z][\w-]*)((?:\s+[\w-]+="[^"<]*")*)\s*(\/?)>|[^<]+/g, ''),
    '',
    'nothing but elements and text',
  );
  return counts;
}

test('--format junit: well-formed XML, a test case per check, failures carry the message', async () => {
  const r = await runCli([
    'probe',
    at(wrongName),
    at(silent),
    '--ca-file',
    TLS.ca,
    '--format',
    'junit',
    '--timeout',
    '500ms',
  ]);
  assert.equal(r.code, 4);
  const counts = parseXml(r.stdout);
  assert.equal(counts.testsuites, 1);
  assert.equal(counts.testsuite, 2);
  assert.ok((counts.testcase ?? 0) >= 11);
  assert.match(
    r.stdout,
    /<testcase classname="smtpkit\.probe\.127\.0\.0\.1:\d+" name="certificate-name"><failure message="the certificate is for DNS:other\.test, not 127\.0\.0\.1" type="certificate-name">/,
  );
  assert.match(
    r.stdout,
    /<testcase [^>]*name="banner"><error message="the probe did not finish within 500ms \(--timeout\): no greeting" type="connect">/,
  );
});

test('a batch of 60 targets (good, refusing, silent) finishes within its budget and reports every one in order', async () => {
  const dir = tempDir('smtpkit-probe-');
  const file = join(dir, 'targets');
  const specs = Array.from({ length: 60 }, (_, i) =>
    i % 3 === 0 ? at(strictPeer) : i % 3 === 1 ? `127.0.0.1:${refusedPort}` : at(silent),
  );
  writeFileSync(file, `# mixed targets\n${specs.slice(30).join('\n')}\n\n`);
  const r = await runCli(
    [
      'probe',
      ...specs.slice(0, 30),
      '--targets',
      file,
      '--timeout',
      '1s',
      '--ca-file',
      TLS.ca,
      '--json',
      '--concurrency',
      '20',
    ],
    { limitMs: 30_000 },
  );
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.results.length, 60);
  assert.deepEqual(
    doc.results.map((x: { target: string }) => x.target),
    specs,
  );
  assert.deepEqual(
    doc.results.slice(0, 3).map((x: { exitCode: number }) => x.exitCode),
    [0, 4, 4],
  );
  assert.deepEqual(doc.summary, { targets: 60, ok: 20, failed: 40 });
  assert.equal(r.code, 4, 'the worst result is the exit code');
  assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
});

test('--mx probes every address of every MX host; -q prints only the verdict', async () => {
  const dns: DnsServer = await dnsServer({
    'probe.test': [{ type: 'MX', exchange: 'mx.probe.test', priority: 10 }],
    'mx.probe.test': [{ type: 'A', address: '127.0.0.1' }],
  });
  try {
    const r = await runCli([
      'probe',
      '--mx',
      'probe.test',
      '--resolver',
      `127.0.0.1:${dns.port}`,
      '--port',
      String(strictPeer.port),
      '--ca-file',
      TLS.ca,
      '-q',
    ]);
    // The certificate is not for mx.probe.test: between MTAs that is opportunistic TLS, a warning (issue #14).
    assert.equal(r.code, 0, r.stdout);
    assert.equal(
      r.stdout,
      r.stdout.match(/^OK: mx\.probe\.test \(127\.0\.0\.1\): \d+ passed, 1 warning, 0 failed\n$/)?.[0],
      'one OK line (the contract of -q)',
    );
  } finally {
    await dns.close();
  }
});

test('--ptr: a failed reverse look-up is said as a failure, not as "no reverse DNS name"', async () => {
  const dns: DnsServer = await dnsServer({ '1.0.0.127.in-addr.arpa': 'SERVFAIL' });
  try {
    const r = await runCli([
      'probe',
      `127.0.0.1:${strictPeer.port}`,
      '--ptr',
      '--resolver',
      `127.0.0.1:${dns.port}`,
      '--dns-timeout',
      '1s',
      '--ca-file',
      TLS.ca,
      '--json',
    ]);
    const text = r.stdout;
    assert.match(
      text,
      /127\.0\.0\.1: the reverse DNS \(PTR\) look-up failed \(SERVFAIL\), so whether it has a name is unknown/,
    );
    assert.doesNotMatch(text, /has no reverse DNS name/);
  } finally {
    await dns.close();
  }
});

test('--expect-banner that backtracks on a hostile banner: the check fails within its limit instead of freezing the probe past --timeout', async () => {
  const server = await rawServer((socket) => {
    socket.write(`220 ${'a'.repeat(40)}!\r\n`);
    socket.on('data', (d) => socket.write(/^QUIT/i.test(d.toString()) ? '221 bye\r\n' : '250 ok\r\n'));
  });
  try {
    const r = await runCli(
      ['probe', `127.0.0.1:${server.port}`, '--expect-banner', '^220 (a+)+$', '--timeout', '2s', '--json'],
      { limitMs: 10_000 },
    );
    assert.equal(r.code, 1, r.stderr);
    const greeting = JSON.parse(r.stdout).results[0].checks.find((c: { name: string }) => c.name === 'greeting');
    assert.equal(greeting.status, 'fail');
    assert.match(greeting.message, /took over \d+ ms/);
  } finally {
    await server.close();
  }
});
