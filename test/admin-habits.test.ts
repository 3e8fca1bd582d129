import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { rawServer } from './helpers/raw-server.js';
import { runCli } from './helpers/cli.js';
import { TLS } from './helpers/paths.js';
import { smtpPeer, type Peer } from './helpers/smtp-peer.js';
import { tempDir } from './helpers/process-group.js';

let plain: Peer;
let implicit: Peer;
let noTls: Peer;

before(async () => {
  plain = await smtpPeer();
  implicit = await smtpPeer({ secure: true });
  noTls = await smtpPeer({ hideSTARTTLS: true });
});
after(async () => {
  await Promise.all([plain.close(), implicit.close(), noTls.close()]);
});

test('smtps://host:port is implicit TLS, smtp://host:port plain, wherever a server is given', async () => {
  const tls = JSON.parse(
    (await runCli(['ehlo', `smtps://127.0.0.1:${implicit.port}`, '--ca-file', TLS.ca, '--json'])).stdout,
  );
  assert.equal(tls.outcome.exitCode, 0, tls.outcome.message);
  assert.equal(tls.tls.protocol, 'TLSv1.3');
  assert.deepEqual(tls.target, { host: '127.0.0.1', port: implicit.port, scheme: 'smtps' });
  const probe = JSON.parse(
    (await runCli(['probe', `smtps://127.0.0.1:${implicit.port}`, '--ca-file', TLS.ca, '--format', 'json'])).stdout,
  );
  assert.match(probe.results[0].checks.find((c: { name: string }) => c.name === 'tls').message, /implicit TLS/);
  const smtp = await runCli(['connect', `smtp://127.0.0.1:${plain.port}`, '--json']);
  assert.equal(smtp.code, 0, smtp.stdout);
  assert.equal(JSON.parse(smtp.stdout).tls, null);
});

test('submission://host:port requires STARTTLS: send fails (exit 6) where it is not offered', async () => {
  const r = await runCli([
    'send',
    `submission://127.0.0.1:${noTls.port}`,
    '--from',
    'a@example.test',
    '--to',
    'b@example.test',
    '--json',
  ]);
  assert.equal(r.code, 6, r.stdout);
  assert.match(JSON.parse(r.stdout).outcome.message, /does not offer STARTTLS/);
  const ok = await runCli([
    'send',
    `submission://127.0.0.1:${plain.port}`,
    '--from',
    'a@example.test',
    '--to',
    'b@example.test',
    '--ca-file',
    TLS.ca,
    '--json',
  ]);
  assert.equal(ok.code, 0, ok.stdout);
  assert.equal(JSON.parse(ok.stdout).tls.trusted, true);
});

test('a quoted display name with a comma is one address; comma lists still split', async () => {
  const r = await runCli([
    'send',
    '--dry-run',
    '--json',
    '--from',
    'a@example.test',
    '--to',
    '"Bob, Jr." <bob@example.test>, c@example.test',
    '--to',
    '"Smith, \\"Jo\\"" <jo@example.test>',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(
    doc.envelope.recipients.map((x: { address: string }) => x.address),
    ['bob@example.test', 'c@example.test', 'jo@example.test'],
  );
  assert.match(
    doc.message,
    /^To: "Bob, Jr\." <bob@example\.test>, c@example\.test, "Smith, \\"Jo\\"" <jo@example\.test>\r$/m,
  );
  // Without a server, the one recipient domain is still found through the quotes.
  const mx = await runCli([
    'send',
    '--from',
    'a@example.test',
    '--to',
    '"Bob, Jr." <bob@example.test>',
    '--to',
    'x@other.test',
  ]);
  assert.equal(mx.code, 2);
  assert.match(mx.stderr, /all recipients must be in one domain/);
});

test('--dry-run prints the envelope (on stderr): MAIL FROM with its parameters and every RCPT, Bcc included', async () => {
  const r = await runCli([
    'send',
    '--dry-run',
    '--from',
    'a@example.test',
    '--to',
    'b@example.test',
    '--bcc',
    'hidden@example.test',
    '--dsn-notify',
    'failure',
    '--dsn-ret',
    'hdrs',
    '--requiretls',
    '--body',
    'hi',
  ]);
  assert.equal(r.code, 0, r.stderr);
  // The envelope goes to standard error, so standard output is the message alone.
  const envelope = r.stderr;
  const message = r.stdout;
  assert.match(envelope, /^=== Message \(\d+ bytes\)$/m);
  assert.match(envelope, /^ -> MAIL FROM:<a@example\.test> SIZE=\d+ REQUIRETLS RET=HDRS$/m);
  assert.match(envelope, /^ -> RCPT TO:<b@example\.test> NOTIFY=FAILURE ORCPT=rfc822;b@example\.test$/m);
  assert.match(
    envelope,
    /^ -> RCPT TO:<hidden@example\.test> NOTIFY=FAILURE ORCPT=rfc822;hidden@example\.test {3}\(Bcc: in the envelope only\)$/m,
  );
  assert.doesNotMatch(message, /hidden@example\.test/, 'Bcc stays out of the message');
  const size = Number(/SIZE=(\d+)/.exec(envelope)?.[1]);
  assert.equal(Buffer.byteLength(message), size, 'SIZE declares the exact message size');
});

test('--data FILE: the transcript does not claim headers were shown when none were', async () => {
  const { writeFileSync } = await import('node:fs');
  const dir = tempDir('smtpkit-data-');
  writeFileSync(`${dir}/m.eml`, 'Subject: from a file\r\n\r\nbody\r\n');
  const r = await runCli([
    'send',
    `127.0.0.1:${plain.port}`,
    '--from',
    'a@example.test',
    '--to',
    'b@example.test',
    '--data',
    `${dir}/m.eml`,
    '--starttls',
    'never',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /headers shown above/);
  assert.match(r.stdout, /^ -> \. {2}\[message: \d+ bytes, from .*m\.eml\]$/m);
});

test('--save-cert FILE writes the presented chain as PEM, leaf first (starttls, ehlo, connect, probe)', async () => {
  const { readFileSync } = await import('node:fs');
  const { X509Certificate } = await import('node:crypto');
  const dir = tempDir('smtpkit-cert-');
  const leaf = new X509Certificate(TLS.cert());
  const blocks = (file: string) =>
    readFileSync(file, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];
  const st = await runCli(['starttls', `127.0.0.1:${plain.port}`, '--save-cert', `${dir}/st.pem`]);
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, /Saved the certificate chain \(1 certificate, leaf first\)/);
  assert.equal(new X509Certificate(blocks(`${dir}/st.pem`)[0]!).fingerprint256, leaf.fingerprint256);
  const eh = await runCli(['ehlo', `smtps://127.0.0.1:${implicit.port}`, '--save-cert', `${dir}/eh.pem`]);
  assert.equal(eh.code, 0, eh.stderr);
  assert.equal(new X509Certificate(blocks(`${dir}/eh.pem`)[0]!).fingerprint256, leaf.fingerprint256);
  const co = await runCli([
    'connect',
    `127.0.0.1:${implicit.port}`,
    '--tls-on-connect',
    '--save-cert',
    `${dir}/co.pem`,
  ]);
  assert.equal(co.code, 0, co.stderr);
  assert.equal(blocks(`${dir}/co.pem`).length, 1);
  const pr = await runCli([
    'probe',
    `127.0.0.1:${plain.port}`,
    `127.0.0.1:${implicit.port}`,
    '--tls-on-connect',
    '--save-cert',
    `${dir}/pr.pem`,
    '--format',
    'json',
  ]);
  assert.equal(blocks(`${dir}/pr.pem`).length, 1, pr.stdout);
  const both = await runCli([
    'probe',
    `127.0.0.1:${plain.port}`,
    `smtps://127.0.0.1:${implicit.port}`,
    '--save-cert',
    `${dir}/both.pem`,
    '--format',
    'json',
  ]);
  assert.equal(JSON.parse(both.stdout).results.length, 2);
  assert.equal(blocks(`${dir}/both.pem`).length, 2);
  assert.match(readFileSync(`${dir}/both.pem`, 'utf8'), /^# smtps:\/\/127\.0\.0\.1:\d+$/m);
  const none = await runCli(['connect', `127.0.0.1:${plain.port}`, '--save-cert', `${dir}/none.pem`]);
  assert.equal(none.code, 0);
  assert.match(none.stderr + none.stdout, /no certificate to save/);
  const bad = await runCli(['starttls', `127.0.0.1:${plain.port}`, '--save-cert', '/nonexistent-dir/x.pem']);
  assert.equal(bad.code, 2);
});

test('a port that stays silent because it speaks implicit TLS is detected: the session goes on over TLS and says so', async () => {
  const server = tls.createServer({ key: TLS.key(), cert: TLS.cert() }, (s) => {
    s.on('error', () => {});
    s.write('220 tls.test ESMTP\r\n');
    s.on('data', (d) => s.write(/^QUIT/i.test(d.toString()) ? '221 bye\r\n' : '250 tls.test\r\n'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const r = await runCli(['ehlo', `127.0.0.1:${port}`, '--json']);
    assert.equal(r.code, 0, r.stdout);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.tls.protocol, 'TLSv1.3');
    assert.ok(
      doc.events.some(
        (e: { type: string; message?: string; hint?: { kind: string } }) =>
          e.type === 'warning' &&
          /answers TLS: it expects implicit TLS/.test(e.message ?? '') &&
          e.hint?.kind === 'implicit-tls-found',
      ),
    );
    const text = await runCli(['ehlo', `127.0.0.1:${port}`]);
    assert.match(
      text.stdout,
      /^!!! no greeting after 2s, but port \d+ answers TLS: it expects implicit TLS; continuing over TLS on a new connection \(say so with --tls-on-connect or smtps:\/\/host:port\)$/m,
    );
    // With a greeting timeout too short to look, the failure names the way out instead of only the timeout.
    const short = await runCli(['ehlo', `127.0.0.1:${port}`, '--greeting-timeout', '1s']);
    assert.equal(short.code, 4);
    assert.match(short.stderr, /no greeting within 1s .*use --tls-on-connect or smtps:\/\/host:port/);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('the implicit-TLS check sends the same SNI as the handshake: A-labels for an internationalized name, none for an IP literal', async () => {
  // Each ClientHello's SNI as it arrived (the check's own, then the session's), and how many
  // connections came: the check hangs up before the handshake completes on the server's side.
  const seen: string[] = [];
  let connections = 0;
  const context = tls.createSecureContext({ key: TLS.key(), cert: TLS.cert() });
  const server = tls.createServer(
    { key: TLS.key(), cert: TLS.cert(), SNICallback: (name, cb) => (seen.push(name), cb(null, context)) },
    (s) => {
      s.on('error', () => {});
      s.write('220 tls.test ESMTP\r\n');
      s.on('data', (d) => s.write(/^QUIT/i.test(d.toString()) ? '221 bye\r\n' : '250 tls.test\r\n'));
    },
  );
  server.on('connection', () => connections++);
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const idn = await runCli(['ehlo', `127.0.0.1:${port}`, '--sni', 'mx.bücher.test', '--json']);
    assert.equal(idn.code, 0, idn.stdout + idn.stderr);
    assert.equal(JSON.parse(idn.stdout).tls.sni, 'mx.xn--bcher-kva.test');
    assert.deepEqual(
      { connections, seen },
      { connections: 3, seen: ['mx.xn--bcher-kva.test', 'mx.xn--bcher-kva.test'] },
      'the plain one, the check and the session',
    );
    seen.length = 0;
    connections = 0;
    const ip = await runCli(['ehlo', `127.0.0.1:${port}`, '--json']);
    assert.equal(ip.code, 0, ip.stdout + ip.stderr);
    assert.deepEqual({ connections, seen }, { connections: 3, seen: [] }, 'no SNI for an IP literal');
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('a silent plain server is not disturbed by the TLS check: nothing is sent on its connection, and the error says it is not TLS either', async () => {
  const server = await rawServer(() => {});
  try {
    const r = await runCli(['connect', `127.0.0.1:${server.port}`, '--greeting-timeout', '4s']);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /no greeting within 4s .*it does not answer TLS either/);
    assert.equal(server.received[0], '', 'nothing is sent before the greeting on the SMTP connection');
  } finally {
    await server.close();
  }
});
