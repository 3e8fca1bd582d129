import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { certificatePolicy } from '../src/probe/probe.js';
import { runCli } from './helpers/cli.js';
import { dnsServer, type DnsServer } from './helpers/dns-server.js';
import { MTA_STS_TLS, TLS } from './helpers/paths.js';
import { smtpPeer, type Peer } from './helpers/smtp-peer.js';

// DANE-EE (3), SPKI (1), SHA-256 (1) of the other-name certificate, and one that matches nothing.
const spki = createHash('sha256')
  .update(new X509Certificate(TLS.wrongNameCert()).publicKey.export({ type: 'spki', format: 'der' }))
  .digest();
const tlsa = (hash: Buffer) => Buffer.concat([Buffer.from([3, 1, 1]), hash]);

// An MX whose certificate is for another name (and from a CA not trusted without --ca-file).
const zone = {
  'dane.test': [{ type: 'MX' as const, exchange: 'mx.dane.test', priority: 10 }],
  'mx.dane.test': [{ type: 'A' as const, address: '127.0.0.1' }],
  '_25._tcp.mx.dane.test': [{ type: 'TLSA' as const, data: tlsa(spki) }],
  'baddane.test': [{ type: 'MX' as const, exchange: 'mx.baddane.test', priority: 10 }],
  'mx.baddane.test': [{ type: 'A' as const, address: '127.0.0.1' }],
  '_25._tcp.mx.baddane.test': [{ type: 'TLSA' as const, data: tlsa(Buffer.alloc(32, 7)) }],
  'good.test': [{ type: 'MX' as const, exchange: 'mx1.good.test', priority: 10 }],
  'mx1.good.test': [{ type: 'A' as const, address: '127.0.0.1' }],
  '_mta-sts.good.test': [{ type: 'TXT' as const, data: 'v=STSv1; id=20261128' }],
  'mta-sts.good.test': [{ type: 'A' as const, address: '127.0.0.1' }],
  'open.test': [{ type: 'MX' as const, exchange: 'mx.open.test', priority: 10 }],
  'mx.open.test': [{ type: 'A' as const, address: '127.0.0.1' }],
  // Hostile answers: an MX host and a policy host at "this host" addresses, where the peers listen.
  'zero.test': [{ type: 'MX' as const, exchange: 'mx.zero.test', priority: 10 }],
  'mx.zero.test': [{ type: 'A' as const, address: '0.0.0.0' }],
  'stszero.test': [{ type: 'MX' as const, exchange: 'mx1.good.test', priority: 10 }],
  '_mta-sts.stszero.test': [{ type: 'TXT' as const, data: 'v=STSv1; id=20261206' }],
  'mta-sts.stszero.test': [
    { type: 'A' as const, address: '0.0.0.0' },
    { type: 'AAAA' as const, address: '::' },
  ],
};

let dns: DnsServer;
let policy: https.Server;
let policyPort = 0;
let policyConnections = 0;
let wrongName: Peer;
let plain: Peer;

before(async () => {
  dns = await dnsServer(zone);
  policy = https.createServer({ key: MTA_STS_TLS.key(), cert: MTA_STS_TLS.cert() }, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('version: STSv1\r\nmode: enforce\r\nmx: mx1.good.test\r\nmax_age: 86400\r\n');
  });
  policy.on('connection', () => policyConnections++);
  await new Promise<void>((resolve) => policy.listen(0, '127.0.0.1', resolve));
  policyPort = (policy.address() as AddressInfo).port;
  wrongName = await smtpPeer({ key: TLS.wrongNameKey(), cert: TLS.wrongNameCert() });
  plain = await smtpPeer();
});
after(async () => {
  await Promise.all([dns.close(), new Promise((r) => policy.close(r)), wrongName.close(), plain.close()]);
});

const probeMx = (domain: string, ...args: string[]) =>
  runCli([
    'probe',
    '--mx',
    domain,
    '-p',
    String(wrongName.port),
    '--resolver',
    `127.0.0.1:${dns.port}`,
    '--dns-timeout',
    '1s',
    '--format',
    'json',
    ...args,
  ]);
const check = (
  doc: { results: Array<{ checks: Array<{ name: string; status: string; message: string }> }> },
  name: string,
) => doc.results[0]!.checks.find((c) => c.name === name)!;

test('the certificate rule: opportunistic on port 25 unless --tls-verify, --dane or MTA-STS enforce; elsewhere it must be valid', () => {
  assert.deepEqual(
    [certificatePolicy(25, { verify: false }).rule, certificatePolicy(25, { verify: false }).enforced],
    ['opportunistic', false],
  );
  assert.equal(certificatePolicy(2525, { verify: false, mx: true }).rule, 'opportunistic');
  assert.equal(certificatePolicy(25, { verify: true }).rule, 'tls-verify');
  assert.equal(certificatePolicy(25, { verify: false, dane: true }).rule, 'dane');
  assert.equal(
    certificatePolicy(25, { verify: true, dane: true }).rule,
    'dane',
    'validated TLSA records decide before PKIX',
  );
  assert.equal(certificatePolicy(25, { verify: false, mtaStsEnforce: true }).rule, 'mta-sts');
  const submission = certificatePolicy(587, { verify: false });
  assert.deepEqual([submission.rule, submission.enforced], ['authenticated', true]);
  assert.match(submission.why, /--ca-file/);
});

test('probe of an MX host: an untrusted, mismatched certificate warns (opportunistic TLS), and says so', async () => {
  const r = await probeMx('open.test');
  const doc = JSON.parse(r.stdout);
  assert.equal(r.code, 0, r.stdout);
  assert.deepEqual(doc.results[0].certificatePolicy, { rule: 'opportunistic', enforced: false });
  assert.equal(check(doc, 'certificate-trust').status, 'warn');
  assert.equal(check(doc, 'certificate-name').status, 'warn');
  assert.match(check(doc, 'certificate-name').message, /opportunistic TLS/);
});

test('probe of an MX host: MTA-STS in enforce mode or --tls-verify make the same certificate a failure', async () => {
  const sts = await probeMx('good.test', '--https-port', String(policyPort), '--ca-file', TLS.ca);
  const doc = JSON.parse(sts.stdout);
  assert.equal(sts.code, 1, sts.stdout);
  assert.deepEqual(doc.results[0].certificatePolicy, { rule: 'mta-sts', enforced: true });
  assert.equal(check(doc, 'certificate-name').status, 'fail');
  assert.match(check(doc, 'certificate-name').message, /MTA-STS policy is in enforce mode/);
  // --tls-verify stops the probe at the handshake, with the TLS exit code, as in every command.
  const verify = await probeMx('open.test', '--tls-verify');
  assert.equal(verify.code, 6, verify.stdout);
  const v = JSON.parse(verify.stdout).results[0];
  assert.deepEqual(v.certificatePolicy, { rule: 'tls-verify', enforced: true });
  assert.equal(v.error.errorClass, 'tls');
});

test('probe elsewhere: an untrusted certificate fails with a hint naming --ca-file; JSON certificate facts are numbers and ISO dates', async () => {
  const r = await runCli(['probe', `127.0.0.1:${plain.port}`, '--format', 'json']);
  const doc = JSON.parse(r.stdout);
  assert.equal(r.code, 1);
  assert.equal(check(doc, 'certificate-trust').status, 'fail');
  assert.match(check(doc, 'certificate-trust').message, /--ca-file/);
  const leaf = doc.results[0].tls.chain[0];
  assert.equal(typeof leaf.daysLeft, 'number');
  assert.equal(leaf.keyBits, 2048);
  assert.equal(leaf.keyType, 'RSA');
  for (const d of [leaf.validFrom, leaf.validTo]) assert.equal(new Date(d).toISOString(), d);
  const st = JSON.parse((await runCli(['starttls', `127.0.0.1:${plain.port}`, '--json'])).stdout);
  assert.equal(st.tls.chain[0].keyBits, 2048);
});

test('probe --dane: validated TLSA records decide; a match passes an otherwise untrusted, mismatched certificate, a mismatch stops the probe (exit 6)', async () => {
  dns.authenticated = true;
  try {
    const ok = await probeMx('dane.test', '--dane');
    const doc = JSON.parse(ok.stdout);
    assert.equal(ok.code, 0, ok.stdout);
    assert.deepEqual(doc.results[0].certificatePolicy, { rule: 'dane', enforced: true });
    assert.equal(doc.results[0].dane.status, 'authenticated');
    assert.equal(check(doc, 'certificate-trust').status, 'pass');
    assert.match(check(doc, 'certificate-trust').message, /authenticated by DANE-EE \(3\)/);
    assert.equal(check(doc, 'certificate-name').status, 'pass');
    const bad = await probeMx('baddane.test', '--dane');
    assert.equal(bad.code, 6, bad.stdout);
    const b = JSON.parse(bad.stdout).results[0];
    assert.deepEqual(b.certificatePolicy, { rule: 'dane', enforced: true });
    assert.match(b.error.message, /DANE: none of the 1 usable TLSA record/);
  } finally {
    dns.authenticated = false;
  }
  // Without DNSSEC the records are not used: opportunistic TLS again.
  const unsigned = JSON.parse((await probeMx('dane.test', '--dane')).stdout).results[0];
  assert.deepEqual(unsigned.certificatePolicy, { rule: 'opportunistic', enforced: false });
  assert.equal(unsigned.dane.status, 'not-validated');
});

test('probe --mx: an MX host at 0.0.0.0 ("this host") is not probed: exit 3 saying why, not this machine\'s server graded', async () => {
  const r = await probeMx('zero.test', '--https-port', String(policyPort));
  assert.equal(r.code, 3, r.stdout + r.stderr);
  const out = r.stdout + r.stderr;
  assert.match(out, /no usable address for any MX host of zero\.test \(mx\.zero\.test: 0\.0\.0\.0 names no host/);
  assert.doesNotMatch(out, /"results": *\[ *\{/, 'a target was probed');
});

test('MTA-STS: a policy host whose addresses mean "this host" is never fetched from; the check says why', async () => {
  const before = policyConnections;
  const r = await runCli([
    'mx-lookup',
    'stszero.test',
    '--checks',
    '--json',
    '--resolver',
    `127.0.0.1:${dns.port}`,
    '--https-port',
    String(policyPort),
  ]);
  const sts = JSON.parse(r.stdout).checks.find((c: { check: string }) => c.check === 'MTA-STS');
  assert.equal(sts.status, 'fail', JSON.stringify(sts));
  assert.match(
    JSON.stringify(sts),
    /mta-sts\.stszero\.test: 0\.0\.0\.0, :: name no host \(\\"this host\\": .*reach this machine, so the policy is not fetched/,
  );
  assert.equal(policyConnections, before, 'the policy server on this machine was asked');
});
