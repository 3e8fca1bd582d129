import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { runCli } from './helpers/cli.js';
import { MTA_STS_TLS, TLS } from './helpers/paths.js';
import { smtpPeer, type Peer } from './helpers/smtp-peer.js';

let plain: Peer;
let wrongName: Peer;
let implicit: Peer;

before(async () => {
  plain = await smtpPeer({ size: 5 * 1024 * 1024 });
  wrongName = await smtpPeer({ key: TLS.wrongNameKey(), cert: TLS.wrongNameCert() });
  implicit = await smtpPeer({ secure: true });
});
after(async () => {
  await Promise.all([plain.close(), wrongName.close(), implicit.close()]);
});

const at = (p: Peer) => `127.0.0.1:${p.port}`;

/**
 * Whether this Node names the key exchange of a TLS 1.3 handshake with itself: Node 22
 * answers {} for the post-quantum hybrid group its OpenSSL 3.5 picks; Node 20 and 24 name it.
 */
async function nodeNamesKeyExchange(): Promise<boolean> {
  const server = tls.createServer({ key: TLS.key(), cert: TLS.cert() }, (s) => s.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const socket = tls.connect({
      port: (server.address() as AddressInfo).port,
      host: '127.0.0.1',
      rejectUnauthorized: false,
    });
    await once(socket, 'secureConnect');
    const info = socket.getEphemeralKeyInfo();
    const named = !!info && 'name' in info;
    socket.destroy();
    return named;
  } finally {
    server.close();
  }
}

test('connect: greeting explained, QUIT answered, outcome line and timings', async () => {
  const r = await runCli(['connect', at(plain)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^=== Connecting to 127\.0\.0\.1:\d+$/m);
  assert.match(r.stdout, /^<-  220 mail\.test ESMTP\n    # Greeting: the server is ready for the session/m);
  assert.match(r.stdout, /^ -> QUIT\n<-  221 Bye\n    # The server says goodbye/m);
  assert.match(r.stdout, /^=== Timings: dns [\d.]+ ms, connect [\d.]+ ms, banner [\d.]+ ms, quit [\d.]+ ms$/m);
  assert.match(r.stdout, /^=== 127\.0\.0\.1:\d+ greets with 220 mail\.test ESMTP after [\d.]+ ms$/m);
  assert.equal(r.stderr, '');
});

test('ehlo --ehlo NAME is what the server sees; SIZE shown in MB', async () => {
  const r = await runCli(['ehlo', at(plain), '--ehlo', 'client.example']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ -> EHLO client\.example$/m);
  assert.match(r.stdout, /^<-  250 SIZE 5242880 +# messages up to 5242880 bytes \(5\.2 MB\)/m);
});

test('--json: one document with schema, outcome, explained replies, capabilities, timings', async () => {
  const r = await runCli(['ehlo', at(plain), '--json']);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, '');
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.schema, 'smtpkit/1');
  assert.equal(doc.command, 'ehlo');
  assert.deepEqual(doc.target, { host: '127.0.0.1', port: plain.port });
  assert.equal(doc.outcome.ok, true);
  assert.equal(doc.outcome.exitCode, 0);
  assert.equal(doc.greeting.code, 220);
  assert.ok('STARTTLS' in doc.capabilities.extensions);
  const types = doc.events.map((e: { type: string }) => e.type);
  assert.deepEqual(types.slice(0, 5), ['info', 'connected', 'reply', 'sent', 'reply']);
  const ehloReply = doc.events.find(
    (e: { type: string; command?: string }) => e.type === 'reply' && e.command === 'EHLO',
  );
  assert.match(ehloReply.explanation.summary, /accepted EHLO/);
  assert.equal(typeof ehloReply.t, 'number');
  assert.equal(ehloReply.tls, false);
  for (const phase of ['dns', 'connect', 'banner', 'ehlo', 'quit'])
    assert.equal(typeof doc.timings[phase], 'number', phase);
});

test('--json on failure: outcome carries the exit code, class and phase; nothing on stderr', async () => {
  const r = await runCli(['starttls', at(plain), '--json', '--tls-verify']);
  assert.equal(r.code, 6);
  assert.equal(r.stderr, '');
  const doc = JSON.parse(r.stdout);
  // The hint: trusting the test CA (--ca-file) would cure this failure.
  assert.deepEqual(
    { ...doc.outcome, message: undefined },
    { ok: false, exitCode: 6, errorClass: 'tls', phase: 'tls', hint: { kind: 'ca-file' }, message: undefined },
  );
  assert.match(doc.outcome.message, /not trusted/);
  assert.equal(doc.events.at(-1).type, 'error');
});

test('-q prints only the outcome line', async () => {
  const ok = await runCli(['ehlo', at(plain), '-q']);
  assert.equal(ok.stdout, `OK: ${at(plain)} answered EHLO with 6 extensions\n`);
  const bad = await runCli(['starttls', at(plain), '-q', '--tls-verify']);
  assert.equal(bad.code, 6);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /^FAILED \(exit 6, tls\): the certificate is not trusted/);
});

test('starttls: TLS facts, trusted with --ca-file, capabilities again after TLS', async () => {
  const r = await runCli(['starttls', at(plain), '--ca-file', TLS.ca, '--tls-verify']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ -> STARTTLS\n<-  220 Ready to start TLS\n/m);
  const kx = (await nodeNamesKeyExchange()) ? ', key exchange \\w+' : '';
  assert.match(r.stdout, new RegExp(`^=== TLS TLSv1\\.3, cipher TLS_\\w+${kx}, SNI \\(none sent\\)$`, 'm'));
  assert.match(r.stdout, /^=== Certificate 0: CN=mail\.test, issued by CN=smtpkit test CA; names DNS:mail\.test/m);
  assert.match(
    r.stdout,
    /^===   valid \d{4}-\d\d-\d\d to 2126-\d\d-\d\d \(\d+ days left\); RSA 2048; SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/m,
  );
  assert.match(r.stdout, /^=== Chain trusted yes; name 127\.0\.0\.1 matches yes$/m);
  assert.match(r.stdout, /^ ~> EHLO /m);
  assert.match(r.stdout, /^<~  250-mail\.test/m);
  assert.match(r.stdout, /^=== After TLS the server removed STARTTLS$/m);
});

test('starttls: SNI and the name checked follow --sni; --tls-max caps the version', async () => {
  const doc = JSON.parse(
    (await runCli(['starttls', at(plain), '--sni', 'mail.test', '--tls-max', '1.2', '--ca-file', TLS.ca, '--json']))
      .stdout,
  );
  assert.equal(doc.tls.sni, 'mail.test');
  assert.equal(doc.tls.nameChecked, 'mail.test');
  assert.equal(doc.tls.nameMatches, true);
  assert.equal(doc.tls.protocol, 'TLSv1.2');
  const none = JSON.parse(
    (await runCli(['starttls', `localhost:${plain.port}`, '-4', '--no-sni', '--ca-file', TLS.ca, '--json'])).stdout,
  );
  assert.equal(none.tls.sni, null);
});

test('starttls: an internationalized server name goes in SNI and is checked on the certificate by its A-labels', async () => {
  // The MTA-STS test certificate names mta-sts.xn--bcher-kva.test, as a certificate for bücher.test must.
  const idn = await smtpPeer({ key: MTA_STS_TLS.key(), cert: MTA_STS_TLS.cert() });
  try {
    const r = await runCli([
      'starttls',
      at(idn),
      '--sni',
      'mta-sts.bücher.test',
      '--ca-file',
      TLS.ca,
      '--tls-verify',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(
      [doc.tls.sni, doc.tls.nameChecked, doc.tls.nameMatches],
      ['mta-sts.xn--bcher-kva.test', 'mta-sts.xn--bcher-kva.test', true],
    );
  } finally {
    await idn.close();
  }
});

test('a certificate for another name: a warning, or exit 6 with --tls-verify', async () => {
  const warn = await runCli(['starttls', at(wrongName), '--ca-file', TLS.ca]);
  assert.equal(warn.code, 0);
  assert.match(
    warn.stdout,
    /^=== Chain trusted yes; name 127\.0\.0\.1 matches NO, the certificate is for DNS:other\.test, not 127\.0\.0\.1$/m,
  );
  assert.match(warn.stdout, /^!!! the certificate does not match 127\.0\.0\.1/m);
  const strict = await runCli(['starttls', at(wrongName), '--ca-file', TLS.ca, '--tls-verify']);
  assert.equal(strict.code, 6);
  assert.match(strict.stderr, /^\*\*\* the certificate does not match 127\.0\.0\.1/m);
});

test('implicit TLS: the handshake comes before the greeting', async () => {
  const r = await runCli(['connect', at(implicit), '--tls-on-connect', '--ca-file', TLS.ca, '--tls-verify']);
  assert.equal(r.code, 0, r.stderr);
  const tlsLine = r.stdout.indexOf('=== TLS TLSv1.3');
  const greeting = r.stdout.indexOf('<~  220 mail.test');
  assert.ok(tlsLine > 0 && greeting > tlsLine, r.stdout);
});

test('colour: on when forced, off with --no-color or NO_COLOR', async () => {
  const ESC = '\x1b[';
  const forced = await runCli(['connect', at(plain)], { env: { NO_COLOR: '', FORCE_COLOR: '1' } });
  assert.ok(forced.stdout.includes(ESC), 'colour when forced');
  const flag = await runCli(['connect', at(plain), '--no-color'], { env: { NO_COLOR: '', FORCE_COLOR: '1' } });
  assert.ok(!flag.stdout.includes(ESC) && !flag.stderr.includes(ESC));
  const envVar = await runCli(['connect', at(plain)], { env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
  assert.ok(!envVar.stdout.includes(ESC));
});
