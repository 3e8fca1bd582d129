import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { dnsServer, type DnsServer, type Zone } from './helpers/dns-server.js';
import { MTA_STS_TLS, TLS } from './helpers/paths.js';

const tlsa = (usage: number, selector: number, matching: number, hex: string) =>
  Buffer.concat([Buffer.from([usage, selector, matching]), Buffer.from(hex, 'hex')]);

const zone: Zone = {
  'good.test': [
    { type: 'MX', exchange: 'mx2.good.test', priority: 20 },
    { type: 'MX', exchange: 'mx1.good.test', priority: 10 },
    { type: 'MX', exchange: 'mx1b.good.test', priority: 10 },
    { type: 'TXT', data: 'v=spf1 mx include:_spf.good.test -all' },
    { type: 'TXT', data: 'unrelated=1' },
  ],
  'mx1.good.test': [
    { type: 'A', address: '127.0.0.1' },
    { type: 'AAAA', address: '::1' },
  ],
  'mx1b.good.test': [{ type: 'A', address: '127.0.0.3' }],
  'mx2.good.test': [{ type: 'A', address: '127.0.0.2' }],
  '_spf.good.test': [{ type: 'TXT', data: 'v=spf1 ip4:127.0.0.0/8 -all' }],
  '_dmarc.good.test': [{ type: 'TXT', data: 'v=DMARC1; p=reject; rua=mailto:dmarc@good.test' }],
  '_mta-sts.good.test': [{ type: 'TXT', data: 'v=STSv1; id=20261128' }],
  'mta-sts.good.test': [{ type: 'A', address: '127.0.0.1' }],
  '_smtp._tls.good.test': [{ type: 'TXT', data: 'v=TLSRPTv1; rua=mailto:tlsrpt@good.test' }],
  '_25._tcp.mx1.good.test': [{ type: 'TLSA', data: tlsa(3, 1, 1, 'ab'.repeat(32)) }],
  '_25._tcp.mx2.good.test': [{ type: 'TLSA', data: tlsa(1, 0, 1, 'cd'.repeat(32)) }],
  '1.0.0.127.in-addr.arpa': [{ type: 'PTR', domain: 'mx1.good.test' }],
  '2.0.0.127.in-addr.arpa': [{ type: 'PTR', domain: 'elsewhere.good.test' }],
  'elsewhere.good.test': [{ type: 'A', address: '127.0.0.9' }],
  // A PTR holding mx.ü.test as raw UTF-8 octets (C3 BC; dns2 writes each character of the
  // string as one octet). Read as latin1 it is "Ã¼", whose IDNA form xn--14-ria7423a ("ã1⁄4")
  // even resolves back here: a name that must be shown escaped and never checked forward.
  'rawptr.test': [{ type: 'MX', exchange: 'mx.rawptr.test', priority: 10 }],
  'mx.rawptr.test': [{ type: 'A', address: '127.0.0.4' }],
  '4.0.0.127.in-addr.arpa': [{ type: 'PTR', domain: 'mx.\u00c3\u00bc.test' }],
  'mx.xn--14-ria7423a.test': [{ type: 'A', address: '127.0.0.4' }],
  'nullmx.test': [{ type: 'MX', exchange: '', priority: 0 }],
  'implicit.test': [{ type: 'A', address: '127.0.0.1' }],
  'nomail.test': [{ type: 'TXT', data: 'nothing' }],
  'cname.test': [{ type: 'MX', exchange: 'alias.cname.test', priority: 10 }],
  'alias.cname.test': [{ type: 'CNAME', domain: 'real.cname.test' }],
  'real.cname.test': [{ type: 'A', address: '127.0.0.1' }],
  'iplit.test': [{ type: 'MX', exchange: '127.0.0.1', priority: 10 }],
  'servfail.test': 'SERVFAIL',
  'silent.test': 'SILENT',
  // Over the 1232 bytes of our EDNS payload even with name compression: each name distinct.
  'big.test': [
    ...Array.from({ length: 30 }, (_, i) => ({
      type: 'MX' as const,
      exchange: `mx${i}-${'x'.repeat(50)}.big.test`,
      priority: i,
    })),
  ],
  'bad.test': [
    { type: 'MX', exchange: 'mx1.good.test', priority: 10 },
    { type: 'TXT', data: 'v=spf1 +all' },
    { type: 'TXT', data: 'v=spf1 -all' },
  ],
  '_dmarc.bad.test': [{ type: 'TXT', data: 'v=DMARC1; p=maybe' }],
  '_mta-sts.bad.test': [{ type: 'TXT', data: 'v=STSv1; id=1' }],
  'mta-sts.bad.test': [{ type: 'A', address: '127.0.0.1' }],
  '_smtp._tls.bad.test': [{ type: 'TXT', data: 'v=TLSRPTv1; rua=ftp://x' }],
  'rua.test': [{ type: 'MX', exchange: 'mx1.good.test', priority: 10 }],
  '_smtp._tls.rua.test': [
    { type: 'TXT', data: 'v=TLSRPTv1; rua=mailto:tls@rua.test , https://reports.rua.test/v1/tlsrpt' },
  ],
  'badrua.test': [{ type: 'MX', exchange: 'mx1.good.test', priority: 10 }],
  '_smtp._tls.badrua.test': [
    {
      type: 'TXT',
      data: 'v=TLSRPTv1; rua=mailto:,,tls@badrua.test,mailto:tls@badrua.test!10m,https:reports.badrua.test,https://reports.badrua.test/a b,mailto:%zz@badrua.test,ftp://x',
    },
  ],
  '_dmarc.badrua.test': [{ type: 'TXT', data: 'v=DMARC1; p=reject; rua=mailto:%zz@badrua.test' }],
  // bücher.test as its zone holds it: A-labels.
  'xn--bcher-kva.test': [{ type: 'MX', exchange: 'mx1.good.test', priority: 10 }],
  '_dmarc.xn--bcher-kva.test': [{ type: 'TXT', data: 'v=DMARC1; p=reject; rua=mailto:d@xn--bcher-kva.test' }],
  '_mta-sts.xn--bcher-kva.test': [{ type: 'TXT', data: 'v=STSv1; id=1' }],
  'mta-sts.xn--bcher-kva.test': [{ type: 'A', address: '127.0.0.1' }],
  // A record naming something too long for DNS (a 70-octet label): that record's problem, not an internal error.
  'longspf.test': [
    { type: 'MX', exchange: 'mx1.good.test', priority: 10 },
    { type: 'TXT', data: `v=spf1 include:${'x'.repeat(70)}.test -all` },
  ],
  // A record naming something IDNA refuses: that record's problem, not a usage error.
  'idnspf.test': [
    { type: 'MX', exchange: 'mx1.good.test', priority: 10 },
    { type: 'TXT', data: 'v=spf1 include:xn--ü.test -all' },
  ],
  // The DMARC tree walk from sub.walkfail.test: nothing at _dmarc.sub.walkfail.test, then _dmarc.walkfail.test fails.
  'sub.walkfail.test': [{ type: 'MX', exchange: 'mx1.good.test', priority: 10 }],
  '_dmarc.walkfail.test': 'SERVFAIL',
  // A domain that only sends: no MX, no address, but every mail-authentication record.
  'sendonly.test': [{ type: 'TXT', data: 'v=spf1 ip4:192.0.2.0/24 -all' }],
  '_dmarc.sendonly.test': [{ type: 'TXT', data: 'v=DMARC1; p=reject; rua=mailto:d@sendonly.test' }],
  '_smtp._tls.sendonly.test': [{ type: 'TXT', data: 'v=TLSRPTv1; rua=mailto:tls@sendonly.test' }],
  // Its MX question fails (SERVFAIL), its TXT records answer.
  'mxfail.test': [
    { type: 'FAIL', of: 'MX', rcode: 'SERVFAIL' },
    { type: 'TXT', data: 'v=spf1 -all' },
  ],
  '_dmarc.mxfail.test': [{ type: 'TXT', data: 'v=DMARC1; p=reject; rua=mailto:d@mxfail.test' }],
  // Versions in the wrong case: receivers and senders discard these records.
  'lowercase.test': [{ type: 'MX', exchange: 'mx1.good.test', priority: 10 }],
  '_dmarc.lowercase.test': [{ type: 'TXT', data: 'v=dmarc1; p=reject; rua=mailto:d@lowercase.test' }],
  '_mta-sts.lowercase.test': [{ type: 'TXT', data: 'v=stsv1; id=20261128' }],
  '_smtp._tls.lowercase.test': [{ type: 'TXT', data: 'v=tlsrptv1; rua=mailto:tls@lowercase.test' }],
  'fieldcase.test': [{ type: 'MX', exchange: 'mx1.good.test', priority: 10 }],
  '_mta-sts.fieldcase.test': [{ type: 'TXT', data: 'v=STSv1; ID=20261128' }],
  '_smtp._tls.fieldcase.test': [{ type: 'TXT', data: 'v=TLSRPTv1; RUA=mailto:tls@fieldcase.test' }],
  // TLSA no sender can use: a 31-byte SHA-256, a 65-byte SHA-512, unknown usage, selector, matching type.
  'oddtlsa.test': [
    { type: 'MX', exchange: 'mx1.oddtlsa.test', priority: 10 },
    { type: 'MX', exchange: 'mx2.oddtlsa.test', priority: 20 },
  ],
  'mx1.oddtlsa.test': [{ type: 'A', address: '127.0.0.1' }],
  'mx2.oddtlsa.test': [{ type: 'A', address: '127.0.0.1' }],
  '_25._tcp.mx1.oddtlsa.test': [
    { type: 'TLSA', data: tlsa(3, 1, 1, 'ab'.repeat(31)) },
    { type: 'TLSA', data: tlsa(3, 1, 2, 'ab'.repeat(65)) },
    { type: 'TLSA', data: tlsa(4, 1, 1, 'ab'.repeat(32)) },
    { type: 'TLSA', data: tlsa(3, 2, 1, 'ab'.repeat(32)) },
    { type: 'TLSA', data: tlsa(3, 1, 3, 'ab'.repeat(32)) },
  ],
  // One unusable record beside a usable one: DANE stands for this host.
  '_25._tcp.mx2.oddtlsa.test': [
    { type: 'TLSA', data: tlsa(3, 1, 1, 'ab'.repeat(31)) },
    { type: 'TLSA', data: tlsa(3, 1, 1, 'ab'.repeat(32)) },
  ],
  'loops.test': [
    { type: 'MX', exchange: 'mx1.good.test', priority: 10 },
    { type: 'TXT', data: `v=spf1 ${Array.from({ length: 11 }, (_, i) => `a:h${i}.loops.test`).join(' ')} -all` },
  ],
};

let dns: DnsServer;
let policy: https.Server;
let policyPort = 0;
before(async () => {
  dns = await dnsServer(zone);
  policy = https.createServer({ key: MTA_STS_TLS.key(), cert: MTA_STS_TLS.cert() }, (req, res) => {
    // bücher.test's policy host by its A-labels, as its certificate names it.
    if (req.headers.host === 'mta-sts.xn--bcher-kva.test' && req.url === '/.well-known/mta-sts.txt') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('version: STSv1\r\nmode: enforce\r\nmx: mx1.good.test\r\nmax_age: 86400\r\n');
    } else if (req.headers.host === 'mta-sts.good.test' && req.url === '/.well-known/mta-sts.txt') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('version: STSv1\r\nmode: enforce\r\nmx: mx1.good.test\r\nmx: *.good.test\r\nmax_age: 86400\r\n');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => policy.listen(0, '127.0.0.1', resolve));
  policyPort = (policy.address() as AddressInfo).port;
});
after(async () => {
  await dns.close();
  await new Promise((r) => policy.close(r));
});

const lookup = (...args: string[]) =>
  runCli(['mx-lookup', ...args, '--resolver', `127.0.0.1:${dns.port}`, '--dns-timeout', '1s']);

test('MX records sorted by preference, equal preferences said so, each host with its addresses and TTLs', async () => {
  const r = await lookup('good.test');
  assert.equal(r.code, 0, r.stderr);
  const hosts = [...r.stdout.matchAll(/^\s+(\d+)\s+(\S+)\s+TTL 300/gm)].map((m) => `${m[1]} ${m[2]}`);
  assert.deepEqual(hosts, ['10 mx1.good.test', '10 mx1b.good.test', '20 mx2.good.test']);
  assert.match(r.stdout, /mx1b\.good\.test  TTL 300  \(same preference/);
  assert.match(r.stdout, /^\s+A\s+127\.0\.0\.1  TTL 300$/m);
  assert.match(r.stdout, /^\s+AAAA\s+::1  TTL 300$/m);
  assert.match(r.stdout, /^=== good\.test: 3 mail hosts$/m);
  const doc = JSON.parse((await lookup('good.test', '--json')).stdout);
  assert.equal(doc.mx.kind, 'mx');
  assert.deepEqual(
    doc.mx.hosts.map((h: { exchange: string }) => h.exchange),
    ['mx1.good.test', 'mx1b.good.test', 'mx2.good.test'],
  );
});

test('null MX, implicit MX, no mail at all', async () => {
  const nul = await lookup('nullmx.test');
  assert.equal(nul.code, 0);
  assert.match(nul.stdout, /null MX \(RFC 7505\): it accepts no mail/);
  const implicit = await lookup('implicit.test');
  assert.equal(implicit.code, 0);
  assert.match(implicit.stdout, /no MX: the domain itself, as RFC 5321 §5\.1 says/);
  const none = await lookup('nomail.test');
  assert.equal(none.code, 3);
  assert.match(none.stderr, /no MX records and no address \(NODATA\)/);
});

test('an MX that is a CNAME or an IP literal is flagged (exit 1)', async () => {
  const cname = await lookup('cname.test');
  assert.equal(cname.code, 1);
  assert.match(cname.stdout, /alias\.cname\.test: the MX host is an alias \(CNAME to real\.cname\.test\)/);
  const ip = await lookup('iplit.test');
  assert.equal(ip.code, 1);
  assert.match(ip.stdout, /the MX names an IP address, not a host name/);
});

test('NXDOMAIN, SERVFAIL and a silent server are told apart (exit 3), within the timeout', async () => {
  const nx = await lookup('missing.test');
  assert.equal(nx.code, 3);
  assert.match(nx.stderr, /missing\.test does not exist \(NXDOMAIN\)/);
  const sf = await lookup('servfail.test');
  assert.equal(sf.code, 3);
  assert.match(sf.stderr, /answered SERVFAIL/);
  const silent = await lookup('silent.test');
  assert.equal(silent.code, 3);
  assert.match(silent.stderr, /no DNS server answered MX silent\.test: 127\.0\.0\.1:\d+: no answer within 1s/);
  assert.ok(silent.ms < 5000);
});

test('resolvers are tried in turn; a truncated UDP answer is retried over TCP; --tcp asks over TCP', async () => {
  const first = await runCli([
    'mx-lookup',
    'good.test',
    '--resolver',
    '127.0.0.1:1',
    '--resolver',
    `127.0.0.1:${dns.port}`,
    '--dns-timeout',
    '500ms',
    '-q',
  ]);
  assert.equal(first.code, 0, first.stderr);
  const tcpBefore = dns.asked.tcp;
  const big = await lookup('big.test', '--json');
  assert.equal(JSON.parse(big.stdout).mx.hosts.length, 30);
  assert.ok(dns.asked.tcp > tcpBefore, 'the truncated answer was asked again over TCP');
  const tcp = await lookup('good.test', '--tcp', '-q');
  assert.equal(tcp.code, 0);
});

test('--ptr: reverse names and whether they are forward-confirmed', async () => {
  const r = await lookup('good.test', '--ptr');
  assert.match(r.stdout, /A\s+127\.0\.0\.1  TTL 300  PTR mx1\.good\.test \(forward-confirmed\)/);
  assert.match(r.stdout, /127\.0\.0\.2: the reverse name elsewhere\.good\.test does not resolve back to it/);
  assert.match(r.stdout, /127\.0\.0\.3 has no reverse DNS/);
});

test('--ptr: a reverse name with raw 8-bit octets is shown escaped as dig shows it, and is not a host name to check forward', async () => {
  const r = await lookup('rawptr.test', '--ptr');
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /A\s+127\.0\.0\.4  TTL 300  PTR mx\.\\195\\188\.test$/m);
  assert.match(
    r.stdout,
    /127\.0\.0\.4: the reverse name mx\.\\195\\188\.test holds octets no host name has .*not a valid host name, not checked forward/,
  );
  assert.doesNotMatch(r.stdout, /forward-confirmed|xn--14|Ã|does not resolve back/);
  const doc = JSON.parse((await lookup('rawptr.test', '--ptr', '--json')).stdout);
  const a = doc.mx.hosts[0].addresses[0];
  assert.deepEqual({ ptr: a.ptr, fcrdns: a.fcrdns }, { ptr: ['mx.\\195\\188.test'], fcrdns: false });
});

test('--checks on a good domain: SPF, DMARC, MTA-STS (policy over HTTPS), TLS-RPT and DANE', async () => {
  dns.authenticated = true;
  try {
    const r = await lookup('good.test', '--checks', '--ca-file', TLS.ca, '--https-port', String(policyPort));
    assert.match(r.stdout, /^✔ SPF +one valid SPF record$/m);
    assert.match(r.stdout, /# 2 of 10 DNS look-ups used/);
    assert.match(r.stdout, /^✔ DMARC +policy reject$/m);
    assert.match(r.stdout, /^✔ MTA-STS +enforced for 3 MX host\(s\)$/m);
    assert.match(r.stdout, /^✔ TLS-RPT +reports go to mailto:tlsrpt@good\.test$/m);
    assert.match(r.stdout, /^⚠ DANE +mx2\.good\.test has a PKIX-EE \(1\) record: RFC 7672 §3\.1\.3/m);
    assert.match(r.stdout, /mx1\.good\.test: DANE-EE \(3\), public key \(1\), SHA-256 \(1\): abab/);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    dns.authenticated = false;
  }
  const unvalidated = JSON.parse(
    (await lookup('good.test', '--checks', '--ca-file', TLS.ca, '--https-port', String(policyPort), '--json')).stdout,
  );
  const dane = unvalidated.checks.find((f: { check: string }) => f.check === 'DANE');
  assert.match(dane.summary, /did not vouch for the TLSA records with DNSSEC \(no AD bit\)/);
});

test('--checks on a broken domain: each problem named, exit 1', async () => {
  const r = await lookup('bad.test', '--checks', '--ca-file', TLS.ca, '--https-port', String(policyPort));
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^✖ SPF +2 SPF records: RFC 7208 §4\.5/m);
  assert.match(r.stdout, /^✖ DMARC +the p= tag is "maybe"/m);
  assert.match(r.stdout, /^✖ MTA-STS +the policy could not be fetched .*(not valid for mta-sts\.bad\.test|HTTP 404)/m);
  assert.match(r.stdout, /^✖ TLS-RPT +rua= must hold mailto: or https:/m);
  const loops = await lookup('loops.test', '--checks', '--https-port', String(policyPort));
  assert.match(loops.stdout, /^✖ SPF +11 DNS-querying terms, over the limit of 10/m);
  const absent = await lookup('implicit.test', '--checks', '--https-port', String(policyPort));
  assert.match(absent.stdout, /^– SPF +no SPF record/m);
  assert.match(absent.stdout, /^– DMARC +no DMARC record/m);
});

test('a DMARC tree walk whose look-up fails before any record is found: policy unknown (exit 1, dnsError), never "no DMARC record"', async () => {
  const r = await lookup('sub.walkfail.test', '--checks', '--https-port', String(policyPort));
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /^✖ DMARC +the policy could not be determined: the tree walk stopped at _dmarc\.walkfail\.test: the DNS look-up failed \(SERVFAIL\): a temporary error \(temperror\)/m,
  );
  assert.doesNotMatch(r.stdout, /no DMARC record/);
  assert.match(r.stderr, /sub\.walkfail\.test: 1 mail host, 1 problem/);
  const doc = JSON.parse(
    (await lookup('sub.walkfail.test', '--checks', '--https-port', String(policyPort), '--json')).stdout,
  );
  const dmarc = doc.checks.find((c: { check: string }) => c.check === 'DMARC');
  assert.equal(dmarc.status, 'fail');
  assert.deepEqual(
    { name: dmarc.dnsError.name, rcode: dmarc.dnsError.rcode },
    { name: '_dmarc.walkfail.test', rcode: 'SERVFAIL' },
  );
  assert.equal(doc.outcome.exitCode, 1);
});

test('a name too long for DNS is exit 2 when typed (a label over 63 octets, also once a U-label grows to its A-label; over 253 in all; an empty label) and a failed check when a record names it, never an internal error', async () => {
  const label = 'abcdefghij'.repeat(6);
  for (const name of [
    `${'x'.repeat(70)}.test`,
    `${'x'.repeat(60)}ü.test`,
    `${label}.${label}.${label}.${label}.${label}.test`,
    'a..b.test',
  ]) {
    const r = await lookup(name, '--json');
    assert.equal(r.code, 2, `${name}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, /is not a domain name/);
  }
  const spf = await lookup('longspf.test', '--checks', '--json');
  assert.equal(spf.code, 1, spf.stdout + spf.stderr);
  const check = JSON.parse(spf.stdout).checks.find((c: { check: string }) => c.check === 'SPF');
  assert.equal(check.status, 'fail', JSON.stringify(check));
});

test('an internationalized domain is looked up by its A-labels (bücher.test as xn--bcher-kva.test)', async () => {
  const r = await lookup('bücher.test', '--checks', '--ca-file', TLS.ca, '--https-port', String(policyPort), '--json');
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(
    doc.mx.hosts.map((h: { exchange: string }) => h.exchange),
    ['mx1.good.test'],
    r.stdout + r.stderr,
  );
  assert.equal(doc.checks.find((c: { check: string }) => c.check === 'DMARC')?.status, 'pass');
  // The policy is fetched from mta-sts.xn--bcher-kva.test (SNI, Host, certificate), not the UTF-8 name.
  const sts = doc.checks.find((c: { check: string }) => c.check === 'MTA-STS');
  assert.equal(sts?.status, 'pass', JSON.stringify(sts));
  const spf = await lookup('idnspf.test', '--checks', '--json');
  assert.notEqual(spf.code, 2, spf.stderr);
  const check = JSON.parse(spf.stdout).checks.find((c: { check: string }) => c.check === 'SPF');
  assert.equal(check.status, 'fail');
  // A '%' would be percent-decoded by URL host parsing: bü%41.test is not büa.test.
  for (const name of ['xn--ü.test', 'ü/x.test', 'bü%41.test']) {
    const bad = await lookup(name);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /is not a valid internationalized domain name \(IDNA\)/);
  }
});

test('bad input: an address instead of a domain, a bad resolver (exit 2)', async () => {
  assert.equal((await runCli(['mx-lookup', 'user@good.test'])).code, 2);
  const bad = await runCli(['mx-lookup', 'good.test', '--resolver', 'dns.example']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--resolver "dns\.example": give an IP address/);
});

test('TLS-RPT rua= is judged URI by URI (RFC 8460 §3): mailto: and https: pass, anything else or a malformed one is named', async () => {
  const good = JSON.parse((await lookup('rua.test', '--checks', '--https-port', String(policyPort), '--json')).stdout);
  const ok = good.checks.find((f: { check: string }) => f.check === 'TLS-RPT');
  assert.equal(ok.status, 'pass', ok.summary);
  const r = await lookup('badrua.test', '--checks', '--https-port', String(policyPort), '--json');
  assert.equal(r.code, 1, r.stderr);
  const bad = JSON.parse(r.stdout).checks.find((f: { check: string }) => f.check === 'TLS-RPT');
  assert.equal(bad.status, 'fail');
  assert.deepEqual(
    bad.issues.map((i: { text: string; ref: string }) => `${i.text} [${i.ref}]`),
    [
      'rua=mailto:: "" is not an e-mail address',
      'rua= has an empty entry',
      'rua=tls@badrua.test is not a URI: write mailto:tls@badrua.test',
      'rua=mailto:tls@badrua.test!10m: "!" must be percent-encoded (TLS-RPT has no DMARC-style size limit)',
      'rua=https:reports.badrua.test names no host (https://host/path)',
      'rua=https://reports.badrua.test/a b holds characters a URI cannot (a space, a quote, non-ASCII): percent-encode them',
      'rua=mailto:%zz@badrua.test: a "%" not followed by two hex digits',
      'rua= must hold mailto: or https: URIs, not ftp://x',
    ].map((t) => `${t} [RFC 8460 §3]`),
  );
  const text = await lookup('badrua.test', '--checks', '--https-port', String(policyPort));
  assert.match(
    text.stdout,
    /^✖ TLS-RPT +rua=mailto:: "" is not an e-mail address \(RFC 8460 §3\); rua= has an empty entry \(RFC 8460 §3\); rua=tls@badrua\.test is not a URI/m,
  );
});

test('a DMARC rua= with a broken percent-encoding is a finding, not an internal error', async () => {
  const r = await lookup('badrua.test', '--checks', '--https-port', String(policyPort), '--json');
  assert.equal(r.code, 1, r.stderr);
  const dmarc = JSON.parse(r.stdout).checks.find((f: { check: string }) => f.check === 'DMARC');
  assert.equal(dmarc.status, 'fail');
  assert.deepEqual(
    dmarc.issues.map((i: { text: string }) => i.text),
    ['rua=mailto:%zz@badrua.test: a "%" not followed by two hex digits'],
  );
});

test('--checks on a domain with no MX and no address (it only sends), or whose MX look-up fails: the records are judged, the MX failure stands (exit 3)', async () => {
  const r = await lookup('sendonly.test', '--checks', '--https-port', String(policyPort));
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /sendonly\.test has no MX records and no address \(NODATA\)/);
  assert.match(r.stdout, /^✔ SPF +one valid SPF record$/m);
  assert.match(r.stdout, /^✔ DMARC +policy reject$/m);
  assert.match(r.stdout, /^– MTA-STS +no MTA-STS record/m);
  assert.match(r.stdout, /^✔ TLS-RPT +reports go to mailto:tls@sendonly\.test$/m);
  assert.match(r.stdout, /^– DKIM /m);
  const doc = JSON.parse(
    (await lookup('sendonly.test', '--checks', '--https-port', String(policyPort), '--json')).stdout,
  );
  assert.deepEqual(
    { exit: doc.outcome.exitCode, errorClass: doc.outcome.errorClass, mx: doc.mx },
    { exit: 3, errorClass: 'dns', mx: null },
  );
  assert.deepEqual(
    doc.checks.map((c: { check: string; status: string }) => `${c.check} ${c.status}`),
    ['SPF pass', 'DMARC pass', 'MTA-STS absent', 'TLS-RPT pass', 'DKIM absent'],
    'no DANE: there is no MX host to ask TLSA of',
  );
  const failed = JSON.parse(
    (await lookup('mxfail.test', '--checks', '--https-port', String(policyPort), '--json')).stdout,
  );
  assert.equal(failed.outcome.exitCode, 3);
  assert.match(failed.outcome.message, /MX mxfail\.test: the resolver .* answered SERVFAIL/);
  assert.equal(failed.outcome.dnsError.rcode, 'SERVFAIL');
  assert.deepEqual(
    failed.checks.map((c: { check: string; status: string }) => `${c.check} ${c.status}`),
    ['SPF pass', 'DMARC pass', 'MTA-STS absent', 'TLS-RPT absent', 'DKIM absent'],
  );
  // A name that does not exist has nothing below it either (RFC 8020): nothing to judge.
  const nx = JSON.parse((await lookup('missing.test', '--checks', '--json')).stdout);
  assert.deepEqual({ exit: nx.outcome.exitCode, checks: nx.checks }, { exit: 3, checks: [] });
});

test('a DMARC, MTA-STS or TLS-RPT record whose version is in the wrong case is present and discarded: a failure, never "no record"', async () => {
  const r = await lookup('lowercase.test', '--checks', '--https-port', String(policyPort), '--json');
  assert.equal(r.code, 1, r.stderr);
  const checks = JSON.parse(r.stdout).checks as Array<{
    check: string;
    status: string;
    summary: string;
    records: string[];
    issues?: Array<{ ref: string }>;
  }>;
  const dmarc = checks.find((c) => c.check === 'DMARC')!;
  assert.equal(dmarc.status, 'fail');
  assert.match(
    dmarc.summary,
    /^_dmarc\.lowercase\.test holds a record beginning "v=dmarc1", which receivers ignore: a DMARC record must begin with v=DMARC1, exactly \(case-sensitive\) \(RFC 9989 §4\.7\); so receivers find no DMARC policy/,
  );
  assert.doesNotMatch(dmarc.summary, /no DMARC record/);
  assert.deepEqual(dmarc.records, ['v=dmarc1; p=reject; rua=mailto:d@lowercase.test']);
  const sts = checks.find((c) => c.check === 'MTA-STS')!;
  assert.equal(sts.status, 'fail');
  assert.match(
    sts.summary,
    /^the _mta-sts record begins "v=stsv1", not exactly "v=STSv1" \(case-sensitive, no spaces\): senders discard the record .*\(RFC 8461 §3\.1\)$/,
  );
  const rpt = checks.find((c) => c.check === 'TLS-RPT')!;
  assert.equal(rpt.status, 'fail');
  assert.match(
    rpt.summary,
    /^the _smtp\._tls record begins "v=tlsrptv1", not exactly "v=TLSRPTv1" \(case-sensitive, no spaces\): senders discard the record and send no reports \(RFC 8460 §3\)$/,
  );
  const text = await lookup('lowercase.test', '--checks', '--https-port', String(policyPort));
  assert.match(text.stdout, /^✖ DMARC +_dmarc\.lowercase\.test holds a record beginning "v=dmarc1"/m);
  assert.match(text.stdout, /^✖ MTA-STS +the _mta-sts record begins "v=stsv1"/m);
  assert.match(text.stdout, /^✖ TLS-RPT +the _smtp\._tls record begins "v=tlsrptv1"/m);
  // Field names too: ID= is not id=, RUA= is not rua= (RFC 8461 §3.1, RFC 8460 §3 ABNF %s"...").
  const fields = JSON.parse(
    (await lookup('fieldcase.test', '--checks', '--https-port', String(policyPort), '--json')).stdout,
  ).checks as typeof checks;
  assert.match(
    fields.find((c) => c.check === 'MTA-STS')!.summary,
    /^"ID=" is not "id=": field names are case-sensitive, so the record has no id \(RFC 8461 §3\.1\)$/,
  );
  assert.match(
    fields.find((c) => c.check === 'TLS-RPT')!.summary,
    /^"RUA=" is not "rua=": field names are case-sensitive/,
  );
});

/** A policy server for good.test's MTA-STS host on a port of its own, serving `body` as `type`. */
async function policyAt(body: string, type: string | undefined): Promise<{ port: number; close: () => Promise<void> }> {
  const server = https.createServer({ key: MTA_STS_TLS.key(), cert: MTA_STS_TLS.cert() }, (_req, res) => {
    res.writeHead(200, type ? { 'content-type': type } : {});
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

test('MTA-STS policy: field names are case-sensitive (Mode: is no mode:); a media type other than text/plain is a warning (RFC 8461 §3.2)', async () => {
  const policyLines = (mode: string) =>
    `version: STSv1\r\n${mode}: enforce\r\nmx: mx1.good.test\r\nmx: *.good.test\r\nmax_age: 86400\r\n`;
  const sts = async (body: string, type: string | undefined) => {
    const server = await policyAt(body, type);
    try {
      const doc = JSON.parse(
        (await lookup('good.test', '--checks', '--ca-file', TLS.ca, '--https-port', String(server.port), '--json'))
          .stdout,
      );
      return doc.checks.find((c: { check: string }) => c.check === 'MTA-STS') as { status: string; summary: string };
    } finally {
      await server.close();
    }
  };
  const miscased = await sts(policyLines('Mode'), 'text/plain');
  assert.equal(miscased.status, 'fail');
  assert.match(
    miscased.summary,
    /the policy field "Mode:" is not "mode:": field names are case-sensitive \(RFC 8461 §3\.2\), so senders ignore it; .*mode is missing/,
  );
  const html = await sts(policyLines('mode'), 'text/html; charset=utf-8');
  assert.equal(html.status, 'warn');
  assert.match(
    html.summary,
    /^the policy is served as "text\/html", not text\/plain: senders that check it \(RFC 8461 §3\.2\) ignore the policy$/,
  );
  const none = await sts(policyLines('mode'), undefined);
  assert.equal(none.status, 'warn');
  assert.match(none.summary, /served as no media type, not text\/plain/);
  const plain = await sts(policyLines('mode'), 'Text/Plain; charset=us-ascii');
  assert.deepEqual(
    plain,
    { ...plain, status: 'pass', summary: 'enforced for 3 MX host(s)' },
    'media types are case-insensitive; parameters are ignored',
  );
});

test('DANE: TLSA records with an unknown usage, selector or matching type, or a digest of the wrong length, are unusable and said so; a host with none usable has no DANE in effect', async () => {
  dns.authenticated = true;
  let doc;
  try {
    doc = JSON.parse((await lookup('oddtlsa.test', '--checks', '--https-port', String(policyPort), '--json')).stdout);
  } finally {
    dns.authenticated = false;
  }
  const dane = doc.checks.find((c: { check: string }) => c.check === 'DANE') as {
    status: string;
    summary: string;
    details: string[];
  };
  assert.equal(dane.status, 'warn', dane.summary);
  const problems = dane.summary.split('; mx').map((p, i) => (i ? `mx${p}` : p));
  assert.deepEqual(problems, [
    'mx1.oddtlsa.test has an unusable TLSA record (3 1 1): 31 bytes of SHA-256 (1) data, where the digest is 32 bytes; senders discard it (RFC 6698 §4.1)',
    'mx1.oddtlsa.test has an unusable TLSA record (3 1 2): 65 bytes of SHA-512 (2) data, where the digest is 64 bytes; senders discard it (RFC 6698 §4.1)',
    'mx1.oddtlsa.test has an unusable TLSA record (4 1 1): usage 4 is unknown (0 to 3 are defined); senders discard it (RFC 6698 §4.1)',
    'mx1.oddtlsa.test has an unusable TLSA record (3 2 1): selector 2 is unknown (0 and 1 are defined); senders discard it (RFC 6698 §4.1)',
    'mx1.oddtlsa.test has an unusable TLSA record (3 1 3): matching type 3 is unknown (0 to 2 are defined); senders discard it (RFC 6698 §4.1)',
    'mx1.oddtlsa.test: no usable TLSA record, so DANE is not in effect for this host: senders must use TLS but cannot authenticate its certificate (RFC 7672 §2.2)',
    'mx2.oddtlsa.test has an unusable TLSA record (3 1 1): 31 bytes of SHA-256 (1) data, where the digest is 32 bytes; senders discard it (RFC 6698 §4.1)',
  ]);
  assert.ok(
    dane.details.some((d) =>
      /^mx1\.oddtlsa\.test: DANE-EE \(3\), public key \(1\), SHA-256 \(1\): (ab){31} \(unusable: 31 bytes/.test(d),
    ),
    dane.details.join('\n'),
  );
});

test('a domain literal or an IP address is no domain to look up: a usage error (exit 2), in JSON too', async () => {
  for (const arg of ['[1.2.3.5]', '[IPv6:2001:db8::1]', '1.2.3.5', '2001:db8::1']) {
    const r = await lookup(arg);
    assert.equal(r.code, 2, `${arg}: ${r.stdout}${r.stderr}`);
    assert.match(
      r.stderr,
      arg.startsWith('[')
        ? /is a domain literal \(an address in brackets, RFC 5321 §4\.1\.3\), not a domain name/
        : /is an IP address, not a domain name/,
    );
    assert.equal(
      dns.edns.filter((q) => q?.name.includes(arg.replace(/[[\]]/g, '').toLowerCase())).length,
      0,
      'nothing was asked',
    );
  }
  const doc = JSON.parse((await lookup('[1.2.3.5]', '--checks', '--json')).stdout);
  assert.deepEqual(
    { exit: doc.outcome.exitCode, errorClass: doc.outcome.errorClass, command: doc.command },
    { exit: 2, errorClass: 'usage', command: 'mx-lookup' },
  );
  assert.match(doc.outcome.message, /"\[1\.2\.3\.5\]" is a domain literal/);
});
