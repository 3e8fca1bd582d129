import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { runAudit } from '../src/audit/audit.js';
import { compareBaseline } from '../src/audit/baseline.js';
import type { AuditOptions } from '../src/audit/check.js';
import type { AuditFinding, AuditReport, AuditStatus } from '../src/audit/result.js';
import { AUDIT_CHECKS } from '../src/audit/table.js';
import { Resolver } from '../src/dns/resolver.js';
import { dnsServer, type DnsServer, type Zone } from './helpers/dns-server.js';
import { MTA_STS_TLS, readFixture, TLS } from './helpers/paths.js';
import { lineServer, rawServer, type RawServer } from './helpers/raw-server.js';
import { smtpPeer, type Peer } from './helpers/smtp-peer.js';

/** The whole audit engine on loopback: a test DNS server, smtp-server as a well-kept MX, a raw server as a careless one. */

const spki = (pem: string) =>
  createHash('sha256')
    .update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }))
    .digest();
const tlsa = (usage: number, selector: number, matching: number, data: Buffer) =>
  Buffer.concat([Buffer.from([usage, selector, matching]), data]);

const zone: Zone = {
  'good.test': [
    { type: 'MX', exchange: 'mail.test', priority: 10 },
    { type: 'TXT', data: 'v=spf1 ip4:127.0.0.1 -all' },
  ],
  '_dmarc.good.test': [{ type: 'TXT', data: 'v=DMARC1; p=reject; rua=mailto:dmarc@good.test,mailto:d@reports.test' }],
  'good.test._report._dmarc.reports.test': [{ type: 'TXT', data: 'v=DMARC1' }],
  '_domainkey.good.test': [],
  '_mta-sts.good.test': [{ type: 'TXT', data: 'v=STSv1; id=20261206' }],
  'mta-sts.good.test': [{ type: 'A', address: '127.0.0.1' }],
  '_smtp._tls.good.test': [{ type: 'TXT', data: 'v=TLSRPTv1; rua=mailto:tls@good.test' }],
  'mail.test': [{ type: 'A', address: '127.0.0.1' }],
  '1.0.0.127.in-addr.arpa': [{ type: 'PTR', domain: 'mail.test' }],
  '_25._tcp.mail.test': [
    { type: 'TLSA', data: tlsa(3, 1, 1, spki(TLS.cert())) },
    { type: 'TLSA', data: tlsa(3, 1, 1, spki(TLS.wrongNameCert())) },
  ],
  // Careless: MX through an alias, no SPF/DMARC/_domainkey, a server with no STARTTLS that relays.
  'bad.test': [{ type: 'MX', exchange: 'alias.bad.test', priority: 10 }],
  'alias.bad.test': [{ type: 'CNAME', domain: 'host.bad.test' }],
  'host.bad.test': [{ type: 'A', address: '127.0.0.1' }],
  '_dmarc.bad.test': [{ type: 'TXT', data: 'v=DMARC1; p=none; rua=mailto:x@elsewhere.test' }],
  'nothing.test': [{ type: 'TXT', data: 'hello' }],
  'nullmx.test': [{ type: 'MX', exchange: '.', priority: 0 }],
  // A validating resolver's answer to a record altered after signing.
  'bogus.test': [
    { type: 'FAIL', of: 'MX', rcode: 'SERVFAIL', ede: { code: 6, text: 'signature invalid' } },
    { type: 'FAIL', of: 'TXT', rcode: 'SERVFAIL', ede: { code: 6, text: 'signature invalid' } },
  ],
};

let dns: DnsServer;
let good: Peer;
let bad: RawServer;
let policy: https.Server;
let policyPort: number;

before(async () => {
  dns = await dnsServer(zone);
  good = await smtpPeer({
    // Port 25 between MTAs: no AUTH; TLS 1.2+ with forward-secret AEAD suites only, in the server's order.
    disabledCommands: ['AUTH'],
    minVersion: 'TLSv1.2',
    ciphers: 'ECDHE+AESGCM:ECDHE+CHACHA20',
    honorCipherOrder: true,
    onRcptTo(address, _s, cb) {
      // Only its own domain: no relay; every local part accepted, so nobody is told apart.
      cb(
        /@good\.test$/i.test(address.address)
          ? undefined
          : Object.assign(new Error('Relay access denied'), { responseCode: 554 }),
      );
    },
  });
  bad = await rawServer((socket) => {
    socket.write('220 host.bad.test ESMTP Postfix 3.4.1\r\n');
    lineServer(socket, (line) => {
      if (/^QUIT/i.test(line)) return null;
      if (/^EHLO/i.test(line)) return '250-host.bad.test\r\n250-AUTH PLAIN LOGIN\r\n250 PIPELINING\r\n';
      if (/^VRFY smtpkit-nobody/i.test(line)) return '550 5.1.1 no such user\r\n';
      if (/^VRFY/i.test(line)) return '250 2.0.0 <postmaster@bad.test>\r\n';
      if (/^EXPN/i.test(line)) return '502 5.5.1 EXPN not available\r\n';
      return '250 2.0.0 Ok\r\n';
    });
  });
  policy = https.createServer({ key: MTA_STS_TLS.key(), cert: MTA_STS_TLS.cert() }, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('version: STSv1\r\nmode: enforce\r\nmx: mail.test\r\nmax_age: 86400\r\n');
  });
  await new Promise<void>((resolve) => policy.listen(0, '127.0.0.1', resolve));
  policyPort = (policy.address() as AddressInfo).port;
});

after(async () => {
  await Promise.all([dns.close(), good.close(), bad.close(), new Promise((r) => policy.close(r))]);
});

function options(domain: string, port: number, extra: Partial<AuditOptions> = {}): AuditOptions {
  return {
    domain,
    resolver: new Resolver({
      servers: [{ address: '127.0.0.1', port: dns.port }],
      tcp: false,
      doh: undefined,
      timeoutMs: 2000,
      ca: undefined,
    }),
    port,
    timeoutMs: 30_000,
    waitMs: 5000,
    ehloName: 'audit.test',
    ca: readFixture('tls/ca.pem'),
    httpsPort: policyPort,
    dkimSelectors: [],
    dnsbl: [],
    scanConcurrency: 4,
    maxMx: 10,
    ...extra,
  };
}

const status = (r: AuditReport, check: string): AuditStatus[] =>
  r.findings.filter((f) => f.check === check).map((f) => f.status);
const one = (r: AuditReport, check: string): AuditFinding => {
  const list = r.findings.filter((f) => f.check === check);
  assert.equal(list.length, 1, `${check}: ${JSON.stringify(list)}`);
  return list[0]!;
};

let goodReport: AuditReport;

test('a well-kept domain: every check built passes, items not built say so, scores add up', async () => {
  dns.authenticated = true;
  try {
    goodReport = await runAudit(options('good.test', good.port));
  } finally {
    dns.authenticated = false;
  }
  const r = goodReport;
  const failing = r.findings.filter((f) => f.status === 'fail' || f.status === 'warn');
  // IPv4 only (no AAAA for mail.test in this zone) is the one warning; nothing fails.
  assert.deepEqual(
    failing.map((f) => `${f.check}: ${f.summary}`),
    ['mx-addresses: IPv4 only: no AAAA record, so IPv6-only senders cannot reach it'],
  );
  for (const check of [
    'mx',
    'reachability',
    'fcrdns',
    'greeting-ptr',
    'dnssec-domain',
    'dnssec-mx',
    'spf',
    'dmarc',
    'dmarc-policy',
    'dmarc-rua',
    'dkim',
    'mta-sts',
    'tls-rpt',
    'starttls',
    'tls-version',
    'tls-protocols',
    'tls-ciphers',
    'certificate-trust',
    'certificate-name',
    'certificate-expiry',
    'dane',
    'open-relay',
    'auth-before-tls',
    'version-disclosure',
    'greeting',
  ])
    assert.deepEqual(
      status(r, check),
      ['pass'],
      `${check}: ${JSON.stringify(r.findings.filter((f) => f.check === check))}`,
    );
  // Every check of the table appears, the ones not built as not tested with that reason.
  for (const c of AUDIT_CHECKS)
    assert.ok(
      r.findings.some((f) => f.check === c.name && f.group === c.group),
      c.name,
    );
  for (const name of [
    'caa',
    'ns-ipv6',
    'tls-compression',
    'extended-master-secret',
    'submission',
    'mailbox-access',
    'rpki',
  ])
    assert.match(one(r, name).summary, /^not built in this version/);
  assert.equal(one(r, 'smuggling').status, 'not-tested');
  assert.match(one(r, 'dnsbl').summary, /--dnsbl/);
  assert.match(
    one(r, 'dmarc-rua').evidence.join('\n'),
    /good\.test\._report\._dmarc\.reports\.test: v=DMARC1 \(authorised\)/,
  );
  assert.match(one(r, 'dane').summary, /2 usable TLSA records/);
  // Scores: pass 1, warn 0.5, fail 0 over the tested findings.
  const dnsGroup = r.groups.find((g) => g.group === 'dns')!;
  assert.equal(dnsGroup.warn, 1);
  assert.equal(dnsGroup.score, Math.round((100 * (dnsGroup.pass + 0.5)) / (dnsGroup.pass + 1)));
  assert.equal(r.deadlineExceeded, false);
  assert.equal(r.dnsError, null);
  assert.ok(r.score! > 90 && r.score! < 100, String(r.score));
  assert.ok(r.findings.every((f) => (f.status === 'pass' || f.status === 'not-tested' ? f.fix === null : !!f.fix)));
});

test('a careless domain: CNAME MX, no SPF/DMARC policy/DKIM, no STARTTLS, open relay, VRFY tells users apart, AUTH in clear, version in the banner', async () => {
  const r = await runAudit(options('bad.test', bad.port));
  assert.deepEqual(status(r, 'mx'), ['warn']);
  assert.match(one(r, 'mx').summary, /CNAME to host\.bad\.test/);
  assert.deepEqual(status(r, 'spf'), ['fail']);
  assert.deepEqual(status(r, 'dmarc-policy'), ['fail']);
  assert.match(one(r, 'dmarc-policy').summary, /p=none/);
  assert.deepEqual(status(r, 'dmarc-rua'), ['fail']);
  assert.match(one(r, 'dmarc-rua').summary, /elsewhere\.test, which does not authorise them/);
  assert.deepEqual(status(r, 'dkim'), ['fail']);
  assert.match(one(r, 'dkim').summary, /_domainkey\.bad\.test does not exist \(NXDOMAIN\)/);
  assert.deepEqual(status(r, 'dnssec-domain'), ['fail']);
  // 127.0.0.1's PTR is mail.test (forward-confirmed), not the name this server greets with.
  assert.deepEqual(status(r, 'fcrdns'), ['pass']);
  assert.deepEqual(status(r, 'greeting-ptr'), ['warn']);
  assert.deepEqual(status(r, 'starttls'), ['fail']);
  assert.match(one(r, 'starttls').summary, /STARTTLS is not offered/);
  assert.deepEqual(status(r, 'open-relay'), ['fail']);
  assert.equal(one(r, 'open-relay').evidence.length, 16);
  assert.deepEqual(status(r, 'vrfy'), ['warn']);
  assert.deepEqual(status(r, 'auth-before-tls'), ['fail']);
  assert.deepEqual(status(r, 'version-disclosure'), ['warn']);
  assert.match(one(r, 'version-disclosure').summary, /Postfix 3\.4\.1/);
  // No TLS: the TLS checks say why they were not judged, never pass.
  for (const check of ['tls-version', 'certificate-trust'])
    assert.ok(
      status(r, check).every((s) => s === 'not-tested'),
      check,
    );
  assert.deepEqual(status(r, 'dane'), ['fail']);
  // Worst first is the renderers' job; the fix is the check's.
  assert.match(one(r, 'open-relay').fix!, /reject_unauth_destination/);
});

test('no MX host at all, a null MX, a bogus signature: the domain-level verdicts, and the MX checks not tested with the reason', async () => {
  const none = await runAudit(options('nothing.test', 1));
  assert.deepEqual(status(none, 'mx'), ['fail']);
  assert.match(one(none, 'mx').summary, /no MX records and no address/);
  assert.equal(one(none, 'starttls').status, 'not-tested');
  assert.match(one(none, 'starttls').summary, /no mail host known/);
  const nul = await runAudit(options('nullmx.test', 1));
  assert.deepEqual(status(nul, 'mx'), ['pass']);
  assert.match(one(nul, 'open-relay').summary, /null MX/);
  const bogus = await runAudit(options('bogus.test', 1));
  assert.deepEqual(status(bogus, 'dnssec-domain'), ['fail']);
  assert.match(
    one(bogus, 'dnssec-domain').summary,
    /DNSSEC validation failed \(bogus\): SERVFAIL, Extended DNS Error 6 \(DNSSEC Bogus\): signature invalid/,
  );
  assert.match(bogus.dnsError ?? '', /SERVFAIL/);
});

test('the whole-audit deadline: a server that never greets leaves the checks behind it not tested, said why', async () => {
  const silent = await rawServer(() => {});
  try {
    const started = Date.now();
    const r = await runAudit(options('good.test', silent.port, { timeoutMs: 1500, waitMs: 10_000 }));
    assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`);
    assert.equal(r.deadlineExceeded, true);
    assert.match(
      one(r, 'open-relay').summary,
      /time limit \(2 s, --timeout\) ran out|the probe stopped before this check/,
    );
  } finally {
    await silent.close();
  }
});

test('--baseline: a check that got worse is flagged, one that got better is not', () => {
  const worse = {
    ...goodReport,
    findings: goodReport.findings.map((f) =>
      f.check === 'spf'
        ? { ...f, status: 'fail' as const }
        : f.check === 'mx-addresses'
          ? { ...f, status: 'pass' as const }
          : f,
    ),
  };
  const changes = compareBaseline(goodReport, worse);
  assert.deepEqual(
    changes.map((c) => [c.key, c.before, c.after, c.worse]),
    [
      ['dns/mx-addresses/mail.test', 'warn', 'pass', false],
      ['authenticity/spf', 'pass', 'fail', true],
    ],
  );
});
