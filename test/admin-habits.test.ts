import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { TLS } from './helpers/paths.js';
import { smtpPeer, type Peer } from './helpers/smtp-peer.js';

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
  const tls = JSON.parse((await runCli(['ehlo', `smtps://127.0.0.1:${implicit.port}`, '--ca-file', TLS.ca, '--json'])).stdout);
  assert.equal(tls.outcome.exitCode, 0, tls.outcome.message);
  assert.equal(tls.tls.protocol, 'TLSv1.3');
  assert.deepEqual(tls.target, { host: '127.0.0.1', port: implicit.port, scheme: 'smtps' });
  const probe = JSON.parse((await runCli(['probe', `smtps://127.0.0.1:${implicit.port}`, '--ca-file', TLS.ca, '--format', 'json'])).stdout);
  assert.match(probe.results[0].checks.find((c: { name: string }) => c.name === 'tls').message, /implicit TLS/);
  const smtp = await runCli(['connect', `smtp://127.0.0.1:${plain.port}`, '--json']);
  assert.equal(smtp.code, 0, smtp.stdout);
  assert.equal(JSON.parse(smtp.stdout).tls, null);
});

test('submission://host:port requires STARTTLS: send fails (exit 6) where it is not offered', async () => {
  const r = await runCli(['send', `submission://127.0.0.1:${noTls.port}`, '--from', 'a@example.test', '--to', 'b@example.test', '--json']);
  assert.equal(r.code, 6, r.stdout);
  assert.match(JSON.parse(r.stdout).outcome.message, /does not offer STARTTLS/);
  const ok = await runCli(['send', `submission://127.0.0.1:${plain.port}`, '--from', 'a@example.test', '--to', 'b@example.test', '--ca-file', TLS.ca, '--json']);
  assert.equal(ok.code, 0, ok.stdout);
  assert.equal(JSON.parse(ok.stdout).tls.trusted, true);
});
