import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { smtpPeer, type Peer } from './helpers/smtp-peer.js';
import { TLS } from './helpers/paths.js';

/**
 * Against the real DNS stack that test/interop/dns.sh starts: BIND 9 serving signed,
 * tampered, expired and unsigned zones, and Unbound validating them. Under CI these must
 * run; elsewhere they skip, saying why, when the stack is not up.
 */
const ENV_FILE = process.env.SMTPKIT_DNS_ENV ?? '/tmp/smtpkit-dns/env.json';
interface DnsEnv {
  named: number;
  unbound: number;
  ca: string;
  mx2Cert: string;
  mx2Key: string;
}
const env: DnsEnv | undefined = existsSync(ENV_FILE) ? JSON.parse(readFileSync(ENV_FILE, 'utf8')) : undefined;
const skip = env ? false : `no DNS stack is up (${ENV_FILE} is missing; run test/interop/dns.sh start)`;
if (!env && process.env.CI)
  throw new Error(
    `CI must run the DNS interop tests, but ${ENV_FILE} is missing: did .ci/run start test/interop/dns.sh?`,
  );
if (skip) console.log(`# DNS interop tests skipped: ${skip}`);

const validating = () => ['--resolver', `127.0.0.1:${env!.unbound}`, '--dns-timeout', '2s'];
const lookup = (...args: string[]) => runCli(['mx-lookup', ...args, ...validating()]);
const json = (r: { stdout: string }) => JSON.parse(r.stdout);
type Check = {
  check: string;
  status: string;
  summary: string;
  hosts?: Array<Record<string, unknown>>;
  dnsError?: { rcode: string; ede: Array<{ code: number; text: string }> };
};
const check = (doc: { checks: Check[] }, name: string) => doc.checks.find((c) => c.check === name)!;

// SMTP servers with TLS for DANE: the fixture certificate (names mail.test, localhost:
// never an MX name here), the same with its CA in the chain, and a leaf for mx2.sec.test.
let plain: Peer;
let withCa: Peer;
let mx2: Peer;
before(async () => {
  if (!env) return;
  const caPem = readFileSync(TLS.ca, 'utf8');
  plain = await smtpPeer();
  withCa = await smtpPeer({ cert: TLS.cert() + caPem });
  mx2 = await smtpPeer({ key: readFileSync(env.mx2Key, 'utf8'), cert: readFileSync(env.mx2Cert, 'utf8') + caPem });
});
after(async () => {
  await Promise.all([plain, withCa, mx2].filter(Boolean).map((p) => p.close()));
});
const starttls = (peer: Peer, domain: string, ...args: string[]) =>
  runCli(['starttls', '--mx', domain, '--port', String(peer.port), '--timeout', '3s', ...validating(), ...args]);

test('the stack: named serves the tampered MX, Unbound refuses it with EDE 6 (DNSSEC Bogus)', { skip }, async () => {
  const direct = json(await runCli(['mx-lookup', 'bogus.test', '--resolver', `127.0.0.1:${env!.named}`, '--json']));
  assert.equal(direct.mx.hosts[0].exchange, 'evil.tampered.test');
  assert.match(direct.mx.hosts[0].problems[0], /the address look-up failed \(REFUSED\)/);
  const r = await lookup('bogus.test');
  assert.equal(r.code, 3);
  assert.match(
    r.stderr,
    /MX bogus\.test: the resolver 127\.0\.0\.1:\d+ answered SERVFAIL \(Extended DNS Error 6 \(DNSSEC Bogus\): .*validation failure/,
  );
});

test(
  'two resolvers: the validating one’s SERVFAIL is final, the second one’s forged answer is never used',
  { skip },
  async () => {
    const r = await runCli([
      'mx-lookup',
      'bogus.test',
      '--checks',
      '--json',
      '--resolver',
      `127.0.0.1:${env!.unbound}`,
      '--resolver',
      `127.0.0.1:${env!.named}`,
      '--dns-timeout',
      '2s',
    ]);
    assert.equal(r.code, 3, r.stdout);
    const doc = json(r);
    assert.doesNotMatch(r.stdout, /evil\.tampered\.test/);
    assert.equal(doc.mx, null);
    assert.equal(doc.outcome.errorClass, 'dns');
    assert.equal(doc.outcome.dnsError.rcode, 'SERVFAIL');
    assert.deepEqual(
      doc.outcome.dnsError.ede.map((e: { code: number; text: string }) => [e.code, e.text]),
      [[6, 'DNSSEC Bogus']],
    );
    // A resolver that does not answer at all is passed over.
    const silent = await runCli([
      'mx-lookup',
      'sec.test',
      '-q',
      '--resolver',
      '127.0.0.1:9',
      '--resolver',
      `127.0.0.1:${env!.unbound}`,
      '--dns-timeout',
      '500ms',
    ]);
    assert.equal(silent.code, 0, silent.stderr);
  },
);

test('Extended DNS Errors are reported by code and name: Signature Expired', { skip }, async () => {
  const r = await lookup('expired.test', '--json');
  assert.equal(r.code, 3);
  const doc = json(r);
  assert.equal(doc.outcome.dnsError.ede[0].code, 7);
  assert.equal(doc.outcome.dnsError.ede[0].text, 'Signature Expired');
  assert.match(doc.outcome.message, /Extended DNS Error 7 \(Signature Expired\)/);
  assert.doesNotMatch(doc.outcome.message, /often broken DNSSEC/, 'no guessing when the resolver says why');
});

test('an SPF include: that SERVFAILs is a temperror, not "no SPF record: permerror"', { skip }, async () => {
  const r = await lookup('spf.sec.test', '--checks', '--https-port', '9');
  const spf = check(json(await lookup('spf.sec.test', '--checks', '--https-port', '9', '--json')), 'SPF');
  assert.equal(spf.status, 'fail');
  assert.match(
    spf.summary,
    /include:_spf\.bogus\.test: the DNS look-up failed \(SERVFAIL, EDE 6 DNSSEC Bogus\): that is a temperror/,
  );
  assert.doesNotMatch(spf.summary, /permerror|no SPF record/);
  assert.match(r.stdout, /^✖ SPF +include:_spf\.bogus\.test: the DNS look-up failed/m);
});

test('a SERVFAIL on TLSA is a DANE failure for that host; the other findings stay', { skip }, async () => {
  const r = await lookup('tlsa.sec.test', '--checks', '--https-port', '9', '--json');
  assert.equal(r.code, 1, r.stderr);
  const doc = json(r);
  assert.equal(doc.checks.length, 6, 'SPF, DMARC, MTA-STS, TLS-RPT, DANE and DKIM keys');
  assert.equal(check(doc, 'SPF').status, 'pass');
  assert.equal(check(doc, 'DMARC').status, 'pass', 'from the organisational domain sec.test');
  const dane = check(doc, 'DANE');
  assert.equal(dane.status, 'fail');
  assert.match(
    dane.summary,
    /mx\.bogus\.test: the TLSA look-up failed \(SERVFAIL, EDE 6 DNSSEC Bogus\): a DANE sender defers mail to this host/,
  );
  assert.equal(dane.hosts![0]!.host, 'mx.bogus.test');
  assert.equal((dane.hosts![0]!.error as { rcode: string }).rcode, 'SERVFAIL');
  // When connecting with --dane the same failure stops the session: the sender defers.
  const s = await starttls(plain, 'tlsa.sec.test', '--dane', '--json');
  assert.equal(s.code, 3, s.stdout);
  assert.match(
    json(s).outcome.message,
    /DANE: the TLSA look-up failed, so a DANE sender defers mail to mx\.bogus\.test/,
  );
  assert.equal(json(s).result.dane.status, 'lookup-failed');
});

test(
  'DANE-EE with DNSSEC: the certificate is authenticated, name and CA not checked, with or without --tls-verify',
  { skip },
  async () => {
    const r = await starttls(plain, 'sec.test', '--dane');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /DANE-EE authenticates it: neither its name nor its CA is checked \(RFC 7672 §3\.1\.1\)/);
    assert.match(r.stdout, /certificate authenticated by DANE-EE \(3\) \(name and CA not checked\)/);
    assert.doesNotMatch(r.stdout, /--tls-verify makes this an error/);
    const strict = await starttls(plain, 'sec.test', '--dane', '--tls-verify', '--json');
    assert.equal(strict.code, 0, strict.stdout);
    const dane = json(strict).result.dane;
    assert.equal(dane.host, 'mx1.sec.test');
    assert.equal(dane.status, 'authenticated');
    assert.equal(dane.authenticated, true);
    assert.deepEqual([dane.match.usage, dane.match.selector, dane.match.matchingType], [3, 1, 1]);
    assert.deepEqual(dane.tlsa, [dane.match]);
    // Without --dane the same server fails --tls-verify: the test CA is not trusted here.
    assert.equal((await starttls(plain, 'sec.test', '--tls-verify')).code, 6);
    // A validated record that matches nothing: exit 6.
    const wrong = await starttls(plain, 'wrong.sec.test', '--dane');
    assert.equal(wrong.code, 6);
    assert.match(wrong.stderr, /DANE: none of the 1 usable TLSA record\(s\) of mx4\.sec\.test matches/);
  },
);

test('TLSA in an unsigned zone is not used (said so); --tls-verify then means PKIX', { skip }, async () => {
  const r = await starttls(plain, 'plain.test', '--dane', '--tls-verify', '--json');
  assert.equal(r.code, 6);
  const doc = json(r);
  assert.equal(doc.result.dane.status, 'not-validated');
  assert.ok(
    doc.events.some(
      (e: { type: string; message?: string }) =>
        e.type === 'warning' &&
        /TLSA records at _25\._tcp\.mx1\.plain\.test are not DNSSEC-validated .* not used/.test(e.message ?? ''),
    ),
  );
  assert.match(doc.outcome.message, /the certificate is not trusted/);
  const withCaFile = await starttls(plain, 'plain.test', '--dane', '--tls-verify', '--ca-file', env!.ca);
  assert.equal(withCaFile.code, 6, 'PKIX trust is there, but the name (mail.test, localhost) is not mx1.plain.test');
  assert.match(withCaFile.stderr, /does not match mx1\.plain\.test/);
});

test('DANE-TA: trust from the TLSA record, the name still checked against the MX host', { skip }, async () => {
  const ok = await starttls(mx2, 'ta.sec.test', '--dane', '--tls-verify');
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(
    ok.stdout,
    /DANE-TA makes that certificate the trust anchor, and the name is still checked against mx2\.sec\.test/,
  );
  assert.match(ok.stdout, /certificate trusted through DANE-TA \(2\), name matches/);
  const wrongName = await starttls(withCa, 'ta.sec.test', '--dane', '--tls-verify');
  assert.equal(wrongName.code, 6);
  assert.match(wrongName.stderr, /the certificate does not match mx2\.sec\.test/);
  assert.doesNotMatch(wrongName.stderr, /not trusted/);
  // 2 0 1 needs the trust anchor in the chain the server sends (RFC 7672 §3.1.2); this one sends only its leaf.
  const noAnchor = await starttls(plain, 'ta.sec.test', '--dane');
  assert.equal(noAnchor.code, 6);
  assert.match(noAnchor.stderr, /none of the 1 usable TLSA record\(s\) of mx2\.sec\.test matches/);
});

test('DANE when only some MX hosts have TLSA: a warning that names the hosts without', { skip }, async () => {
  const doc = json(await lookup('partial.sec.test', '--checks', '--https-port', '9', '--json'));
  const dane = check(doc, 'DANE');
  assert.equal(dane.status, 'warn');
  assert.match(dane.summary, /only some MX hosts have TLSA records: mx3\.sec\.test has none/);
  assert.deepEqual(
    dane.hosts!.map((h) => [h.host, (h.tlsa as unknown[]).length]),
    [
      ['mx1.sec.test', 1],
      ['mx3.sec.test', 0],
    ],
  );
});

test('structured DANE in mx-lookup JSON: per host its TLSA records, DNSSEC status and match', { skip }, async () => {
  const r = await lookup('sec.test', '--checks', '--https-port', '9', '--json');
  const doc = json(r);
  assert.equal(doc.mx.authenticated, true);
  assert.equal(doc.mx.adCaveat, undefined, 'a loopback resolver: no caveat about the path');
  const dane = check(doc, 'DANE');
  assert.equal(dane.status, 'pass');
  assert.equal(dane.hosts!.length, 1);
  const [host] = dane.hosts!;
  assert.equal(host!.host, 'mx1.sec.test');
  assert.equal(host!.authenticated, true);
  assert.equal(host!.match, null);
  const [t] = host!.tlsa as Array<{ usage: number; selector: number; matchingType: number; data: string }>;
  assert.deepEqual([t!.usage, t!.selector, t!.matchingType], [3, 1, 1]);
  assert.match(t!.data, /^[0-9a-f]{64}$/);
  assert.equal(doc.outcome.ok, true);
  const failed = json(await lookup('no-such-name.sec.test', '--json'));
  assert.equal(failed.outcome.errorClass, 'dns');
});
