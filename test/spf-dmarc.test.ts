import assert from 'node:assert/strict';
import { Resolver as NodeResolver } from 'node:dns/promises';
import { after, before, test } from 'node:test';
import { dmarc as mailauthDmarc } from 'mailauth/lib/dmarc/index.js';
import { spf as mailauthSpf } from 'mailauth/lib/spf/index.js';
import { checkDmarc } from '../src/dns/checks/dmarc.js';
import { nextTarget, treeWalk } from '../src/dns/checks/dmarc-discovery.js';
import { checkSpf } from '../src/dns/checks/spf.js';
import { Resolver } from '../src/dns/resolver.js';
import { dnsServer, type DnsServer, type Zone } from './helpers/dns-server.js';

/**
 * SPF records judged by smtpkit and by mailauth (an independent implementation), record
 * by record, both asking the same DNS server on loopback. mailauth evaluates for an
 * address that matches nothing, so it walks every term: its permerror must be our fail.
 */
const SPF_CASES: Array<[string, string, boolean]> = [
  // [name, record, permerror?]
  ['plain', 'v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all', false],
  ['mx-a', 'v=spf1 mx a -all', false],
  ['include-ok', 'v=spf1 include:_spf.ok.test ~all', false],
  ['bad-ip4', 'v=spf1 ip4:192.0.2.300 -all', true],
  ['cidr-33', 'v=spf1 ip4:192.0.2.0/33 -all', true],
  ['cidr-129', 'v=spf1 ip6:2001:db8::/129 -all', true],
  ['ip6-in-ip4', 'v=spf1 ip4:2001:db8::1 -all', true],
  ['ip4-in-ip6', 'v=spf1 ip6:192.0.2.1 -all', true],
  ['glued-all', 'v=spf1 ip4:8.8.8.8~all', true],
  ['empty-include', 'v=spf1 include: -all', true],
  ['bad-macro', 'v=spf1 exists:%{?}.example.test -all', true],
  ['good-macros', 'v=spf1 exists:%{i}._spf.%{d} exists:%{l1r+-}.%{d2}.macros.test -all', false],
  ['exp-letter-outside-exp', 'v=spf1 exists:%{c}.x.test -all', true],
  ['include-loop', 'v=spf1 include:loop-b.test -all', true],
  ['include-no-spf', 'v=spf1 include:nospf.test -all', true],
  ['include-nxdomain', 'v=spf1 include:nowhere.test -all', true],
  ['redirect-ok', 'v=spf1 redirect=_spf.ok.test', false],
  ['redirect-no-spf', 'v=spf1 redirect=nospf.test', true],
  ['two-redirects', 'v=spf1 redirect=_spf.ok.test redirect=_spf.ok.test', true],
  ['three-voids', 'v=spf1 a:void1.test a:void2.test a:void3.test -all', true],
  ['two-voids', 'v=spf1 a:void1.test a:void2.test -all', false],
  ['eleven-lookups', `v=spf1 ${Array.from({ length: 11 }, (_, i) => `a:h${i}.hosts.test`).join(' ')} -all`, true],
  ['ten-lookups', `v=spf1 ${Array.from({ length: 10 }, (_, i) => `a:h${i}.hosts.test`).join(' ')} -all`, false],
  ['unknown-mechanism', 'v=spf1 ipv4:192.0.2.1 -all', true],
  ['unknown-modifier', 'v=spf1 foo=bar -all', false],
  ['ptr', 'v=spf1 ptr -all', false],
  ['all-arg', 'v=spf1 -all:x', true],
  ['bad-domain', 'v=spf1 a:-bad-.123 -all', true],
  ['dual-cidr', 'v=spf1 a/24//64 mx/28 -all', false],
  ['leading-space', ' v=spf1 +all', false],
  ['bad-dual-cidr', 'v=spf1 a//129 -all', true],
];

/**
 * checkdmarc's published SPF test cases (tests/test_spf.py), their records and verdicts:
 * error = a permerror, warn = valid with a warning, pass = valid and clean.
 */
const CHECKDMARC_CASES: Array<[string, string, 'error' | 'warn' | 'pass']> = [
  ['cd-uppercase', 'v=spf1 IP4:147.75.8.208 -ALL', 'pass'],
  ['cd-junk-after-all', 'v=spf1 ip4:213.5.39.110 -all MS=83859DAEBD1978F9A7A67D3', 'warn'],
  ['cd-include-missing', 'v=spf1 include:example.doesnotexist ~all', 'error'],
  [
    'cd-void',
    'v=spf1 a:13Mk4olS9VWhQqXRl90fKJrD.example.test mx:SfGiqBnQfRbOMapQJhozxo2B.example.test a:VAFeyU9N2KJX518aGsN3w6VS.example.test ~all',
    'error',
  ],
  ['cd-syntax', 'v=spf1 mx a:mail.cohaesio.test include: trustpilotservice.com ~all', 'error'],
  [
    'cd-ip4-name',
    'v=spf1 ip4:78.46.96.236 +a +mx +ip4:138.201.239.158 +ip4:78.46.224.83 +ip4:relay.mailchannels.net +ip4:138.201.60.20 ~all',
    'error',
  ],
  ['cd-ip6-in-ip4', 'v=spf1 ip4:1200:0000:AB00:1234:0000:2552:7777:1313 ~all', 'error'],
  ['cd-ip4-range', 'v=spf1 ip4:78.46.96.236/99 ~all', 'error'],
  ['cd-ip6-letter-o', 'v=spf1 ip6:1200:0000:AB00:1234:O000:2552:7777:1313 ~all', 'error'],
  ['cd-ip4-in-ip6', 'v=spf1 ip6:78.46.96.236 ~all', 'error'],
  ['cd-ip6-range', 'v=spf1 ip6:1200:0000:AB00:1234:0000:2552:7777:1313/130 ~all', 'error'],
  ['cd-missing-space', 'v=spf1 ip4:8.8.8.8~all', 'error'],
  ['cd-self-include', 'v=spf1 include:cd-self-include.spf.test', 'error'],
  ['cd-exists-macro', 'v=spf1 exists:exists:%{i}.spf.hc0000-xx.iphmx.test ~all', 'pass'],
  ['cd-include-macro', 'v=spf1 include:include:%{ir}.%{v}.%{d}.spf.has.pphosted.test ~all', 'pass'],
  ['cd-a-macro', 'v=spf1 a:%{l}.example.test -all', 'pass'],
  ['cd-a-bad-macro', 'v=spf1 a:%{?} -all', 'error'],
  ['cd-mx-macro', 'v=spf1 mx:%{d} -all', 'pass'],
  ['cd-mx-bad-macro', 'v=spf1 mx:%{?} -all', 'error'],
  ['cd-ptr-macro', 'v=spf1 ptr:%{d} -all', 'warn'],
  ['cd-ptr-bad-macro', 'v=spf1 ptr:%{?} -all', 'error'],
  ['cd-include-d-macro', 'v=spf1 include:%{d}._spf.example.test -all', 'pass'],
  ['cd-include-bad-macro', 'v=spf1 include:%{?}._spf.example.test -all', 'error'],
  ['cd-exists-i-macro', 'v=spf1 exists:%{i}._spf.example.test -all', 'pass'],
  ['cd-exists-bad-macro', 'v=spf1 exists:%{?}._spf.example.test -all', 'error'],
  ['cd-redirect-macro', 'v=spf1 redirect=%{d}._spf.example.test', 'pass'],
  ['cd-redirect-bad-macro', 'v=spf1 redirect=%{?}._spf.example.test', 'error'],
  ['cd-exp-macro', 'v=spf1 -all exp=%{d}', 'pass'],
  ['cd-exp-bad-macro', 'v=spf1 -all exp=%{?}', 'error'],
  ['cd-exp-upper', 'v=spf1 -all exp=%{S}.explain.example.test', 'pass'],
  ['cd-exp-z', 'v=spf1 -all exp=%{z}', 'error'],
  ['cd-ip6', 'v=spf1 ip6:2001:db8::1 -all', 'pass'],
  ['cd-neutral-all', 'v=spf1 ?all', 'warn'],
];

/**
 * Where mailauth 4.13 accepts what RFC 7208's grammar refuses: it reads ip4:/ip6: only for
 * a client of that family (§5.6 makes the wrong family a syntax error either way), and it
 * expands c, r and t outside exp= (§7.2 allows them only there).
 */
const MAILAUTH_LENIENT = new Set(['ip6-in-ip4', 'ip4-in-ip6', 'exp-letter-outside-exp']);

const zone: Zone = {
  '_spf.ok.test': [{ type: 'TXT', data: 'v=spf1 ip4:198.51.100.0/24 -all' }],
  'loop-b.test': [{ type: 'TXT', data: 'v=spf1 include:loop-c.test -all' }],
  'loop-c.test': [{ type: 'TXT', data: 'v=spf1 include:loop-b.test -all' }],
  'nospf.test': [{ type: 'TXT', data: 'google-site-verification=abc' }],
  ...Object.fromEntries(
    Array.from({ length: 11 }, (_, i) => [
      `h${i}.hosts.test`,
      [{ type: 'A' as const, address: `198.51.100.${i + 1}` }],
    ]),
  ),
};
for (const [name, record] of [...SPF_CASES, ...CHECKDMARC_CASES]) {
  zone[`${name}.spf.test`] = [
    { type: 'TXT', data: record },
    { type: 'A', address: '198.51.100.200' },
    { type: 'MX', exchange: `${name}.spf.test`, priority: 10 },
  ];
}

const DMARC_ZONE: Record<string, string | string[]> = {
  '_dmarc.example.test': 'v=DMARC1; p=reject; rua=mailto:agg@example.test',
  '_dmarc.dept.example.test': 'v=DMARC1; p=quarantine; rua=mailto:agg@example.test',
  '_dmarc.co.test': 'v=DMARC1; p=none; psd=y; rua=mailto:psd@co.test',
  '_dmarc.shop.co.test': 'v=DMARC1; p=reject; sp=quarantine; np=reject; rua=mailto:d@shop.co.test',
  '_dmarc.own.test': 'v=DMARC1; p=reject; psd=n; rua=mailto:d@own.test',
  '_dmarc.sub.own.test': 'v=DMARC1; p=none; rua=mailto:d@own.test',
  '_dmarc.lower.test': 'v=dmarc1; p=reject',
  '_dmarc.removed.test': 'v=DMARC1; p=reject; pct=50; rf=afrf; ri=3600; foo=bar; rua=mailto:d@removed.test',
  '_dmarc.uris.test': 'v=DMARC1; p=reject; rua=agg@uris.test, https://uris.test/r; ruf=mailto:f@uris.test!10m',
  '_dmarc.newtags.test': 'v=DMARC1; p=quarantine; np=reject; psd=n; t=y; rua=mailto:a@newtags.test',
  '_dmarc.badvals.test': 'v=DMARC1; p=reject; np=maybe; psd=x; t=perhaps; adkim=q; rua=mailto:a@badvals.test',
  '_dmarc.twice.test': ['v=DMARC1; p=reject', 'v=DMARC1; p=none'],
  '_dmarc.deep.test': 'v=DMARC1; p=reject; rua=mailto:d@deep.test',
  '_dmarc.parent.test': 'v=DMARC1; p=reject; rua=mailto:d@parent.test',
  '_dmarc.psdself.parent.test': 'v=DMARC1; p=none; psd=y; rua=mailto:d@parent.test',
  // A PSD of four labels: from seven labels the walk jumps to it, past the organisational domain below it.
  '_dmarc.pvt.k12.ma.test': 'v=DMARC1; p=none; psd=y; rua=mailto:psd@k12.ma.test',
  '_dmarc.school.pvt.k12.ma.test': 'v=DMARC1; p=reject; rua=mailto:d@school.pvt.k12.ma.test',
};
// The top label fails, as behind a resolver configured for local zones only: the walk ends there, not in an
// error; with a record found below, that record decides; with none, the policy is unknown (not absent).
zone['_dmarc.test'] = 'SERVFAIL';
zone['_dmarc.fails.test'] = 'SERVFAIL';
for (const [name, data] of Object.entries(DMARC_ZONE))
  zone[name] = (Array.isArray(data) ? data : [data]).map((d) => ({ type: 'TXT' as const, data: d }));

let dns: DnsServer;
let ours: Resolver;
let theirs: NodeResolver;
before(async () => {
  dns = await dnsServer(zone);
  ours = new Resolver({
    servers: [{ address: '127.0.0.1', port: dns.port }],
    tcp: false,
    doh: undefined,
    timeoutMs: 2000,
    ca: undefined,
  });
  theirs = new NodeResolver({ timeout: 2000, tries: 1 });
  theirs.setServers([`127.0.0.1:${dns.port}`]);
});
after(() => dns.close());

test('SPF: each record judged as mailauth judges it (permerror or not)', async () => {
  const disagreements: string[] = [];
  for (const [name, record, expected] of SPF_CASES) {
    const domain = `${name}.spf.test`;
    const finding = await checkSpf(ours, domain);
    const mine = (finding.issues ?? []).some((i) => i.severity === 'error');
    const result = await mailauthSpf({
      sender: `someone@${domain}`,
      ip: '192.0.2.99',
      helo: 'client.test',
      mta: 'mx.test',
      resolver: (n: string, t: string) => theirs.resolve(n, t as 'A'),
    });
    const theirsPerm = result.status.result === 'permerror';
    if (MAILAUTH_LENIENT.has(name) && theirsPerm === expected)
      disagreements.push(`${name}: mailauth now agrees; drop it from MAILAUTH_LENIENT`);
    if (mine !== expected)
      disagreements.push(
        `${name}: smtpkit ${mine ? 'permerror' : 'ok'} (expected ${expected ? 'permerror' : 'ok'}): ${finding.summary}`,
      );
    if (theirsPerm !== expected && !MAILAUTH_LENIENT.has(name))
      disagreements.push(
        `${name}: mailauth says ${result.status.result} (${result.status.comment ?? ''}), expected ${expected ? 'permerror' : 'not permerror'}`,
      );
  }
  assert.deepEqual(disagreements, []);
});

test("SPF: checkdmarc's published cases get the same verdict", async () => {
  const wrong: string[] = [];
  for (const [name, record, expected] of CHECKDMARC_CASES) {
    const f = await checkSpf(ours, `${name}.spf.test`);
    const got = (f.issues ?? []).some((i) => i.severity === 'error')
      ? 'error'
      : f.status === 'warn'
        ? 'warn'
        : f.status === 'pass'
          ? 'pass'
          : f.status;
    if (got !== expected) wrong.push(`${name} (${record}): ${got}, expected ${expected}: ${f.summary}`);
  }
  assert.deepEqual(wrong, []);
});

test('SPF findings name the RFC section; a record with leading space is not SPF (RFC 7208 §4.5)', async () => {
  const f = await checkSpf(ours, 'cidr-33.spf.test');
  assert.deepEqual(
    f.issues?.map((i) => i.ref),
    ['RFC 7208 §5.6'],
  );
  assert.match(f.summary, /\/33 is not a prefix length from 0 to 32.*\(RFC 7208 §5\.6\)/);
  const loop = await checkSpf(ours, 'include-loop.spf.test');
  assert.match(
    loop.summary,
    /loops back to loop-b\.test \(include-loop\.spf\.test → loop-b\.test → loop-c\.test → loop-b\.test\)/,
  );
  assert.equal((await checkSpf(ours, 'leading-space.spf.test')).status, 'absent');
});

test('DMARC: the DNS Tree Walk finds the policy and the organisational domain (RFC 9989 §4.10)', async () => {
  assert.equal(nextTarget('a.b.c.d.e.deep.test'), 'd.e.deep.test', 'five labels or more jump to the last four');
  assert.equal(nextTarget('c.d.test'), 'd.test');
  assert.equal(nextTarget('test'), undefined);
  const cases: Array<[string, string | undefined, string]> = [
    // [From domain, where the policy is found, organisational domain]
    ['example.test', 'example.test', 'example.test'],
    ['mail.example.test', 'example.test', 'example.test'],
    // RFC 9989 §4.10.2: the policy is the domain's, its organisational domain's or its PSD's,
    // never a record in between (dept.example.test is none of the three).
    ['a.b.dept.example.test', 'example.test', 'example.test'],
    ['dept.example.test', 'dept.example.test', 'example.test'],
    ['x.shop.co.test', 'shop.co.test', 'shop.co.test'],
    ['shop.co.test', 'shop.co.test', 'shop.co.test'],
    ['a.sub.own.test', 'own.test', 'own.test'],
    ['sub.own.test', 'sub.own.test', 'own.test'],
    // A PSD's own record with psd=y does not stop the walk (§4.10.1 step 2); with nothing above
    // it, the PSD is its own organisational domain and its record its policy.
    ['co.test', 'co.test', 'co.test'],
    ['psdself.parent.test', 'psdself.parent.test', 'parent.test'],
    // Nothing at the name or its organisational domain: the PSD's policy applies.
    ['nobody.co.test', 'co.test', 'nobody.co.test'],
    ['a.b.c.d.e.deep.test', 'deep.test', 'deep.test'],
    // The organisational domain the jump from 7 to 4 labels skipped is asked for its record.
    ['a.b.school.pvt.k12.ma.test', 'school.pvt.k12.ma.test', 'school.pvt.k12.ma.test'],
    ['a.b.other.pvt.k12.ma.test', 'pvt.k12.ma.test', 'other.pvt.k12.ma.test'],
    ['nothing.here.test', undefined, 'nothing.here.test'],
    ['lower.test', undefined, 'lower.test'],
  ];
  for (const [from, policyAt, org] of cases) {
    const w = await treeWalk(ours, from);
    assert.deepEqual({ policyAt: w.policy?.domain, org: w.orgDomain }, { policyAt, org }, from);
  }
  const stopped = await treeWalk(ours, 'mail.example.test');
  assert.equal(stopped.stoppedAt?.domain, 'test', 'a failure above the domain ends the walk with what was found');
  await assert.rejects(
    treeWalk(ours, 'fails.test'),
    /SERVFAIL/,
    'the domain\'s own failure is a temperror, never "no policy"',
  );
  assert.deepEqual(
    (await treeWalk(ours, 'a.b.c.d.e.deep.test')).queried,
    ['a.b.c.d.e.deep.test', 'd.e.deep.test', 'e.deep.test', 'deep.test', 'test'],
    'the walk goes on past the policy, up to the top label, to find the organisational domain',
  );
});

test('DMARC tags judged per RFC 9989: removed, unknown, new tags, URIs, case-sensitive version', async () => {
  const removed = await checkDmarc(ours, 'removed.test');
  assert.equal(removed.status, 'warn');
  assert.deepEqual(
    removed.issues?.map((i) => i.text.split(':')[0]),
    ['pct=50', 'rf=afrf', 'ri=3600', 'unknown tag foo= is ignored'],
  );
  assert.ok(removed.issues?.every((i) => i.ref === 'RFC 9989 §4.7'));
  const uris = await checkDmarc(ours, 'uris.test');
  assert.equal(uris.status, 'fail');
  assert.match(uris.summary, /rua=agg@uris\.test is not a URI: write mailto:agg@uris\.test/);
  assert.deepEqual(
    uris.issues?.map((i) => i.severity),
    ['error', 'warning'],
  );
  const fresh = await checkDmarc(ours, 'newtags.test');
  assert.equal(fresh.status, 'warn', fresh.summary);
  assert.deepEqual(
    fresh.issues?.map((i) => i.text.slice(0, 4)),
    ['t=y:'],
  );
  const bad = await checkDmarc(ours, 'badvals.test');
  assert.deepEqual(
    bad.issues?.map((i) => i.text.split(' ')[0]),
    ['np=maybe', 'adkim=q', 'psd=x', 't=perhaps'],
  );
  // v=dmarc1 is not v=DMARC1: the walk goes past it, as receivers do, to _dmarc.test, whose failure
  // leaves the policy unknown; the discarded record is named first, an error, never "no record".
  const lower = await checkDmarc(ours, 'lower.test');
  assert.deepEqual(
    { status: lower.status, records: lower.records, failed: lower.dnsError?.name },
    { status: 'fail', records: ['v=dmarc1; p=reject'], failed: '_dmarc.test' },
    'v=dmarc1 is not v=DMARC1',
  );
  assert.deepEqual(
    lower.issues?.map((i) => `${i.severity} ${i.ref}`),
    ['error RFC 9989 §4.7'],
  );
  assert.match(
    lower.summary,
    /^_dmarc\.lower\.test holds a record beginning "v=dmarc1", which receivers ignore.*; the policy could not be determined: the tree walk stopped at _dmarc\.test/,
  );
  const sub = await checkDmarc(ours, 'a.b.dept.example.test');
  assert.equal(sub.status, 'pass');
  assert.match(
    sub.details.join('\n'),
    /no record at _dmarc\.a\.b\.dept\.example\.test: the policy of example\.test applies/,
  );
  assert.equal((await checkDmarc(ours, 'twice.test')).status, 'fail');
});

test('DMARC: a look-up that fails before the walk finds any record leaves the policy unknown (a temperror), not absent', async () => {
  // _dmarc.nothing.here.test and _dmarc.here.test do not exist; _dmarc.test answers SERVFAIL.
  const f = await checkDmarc(ours, 'nothing.here.test');
  assert.equal(f.status, 'fail', f.summary);
  assert.deepEqual({ name: f.dnsError?.name, rcode: f.dnsError?.rcode }, { name: '_dmarc.test', rcode: 'SERVFAIL' });
  assert.match(
    f.summary,
    /^the policy could not be determined: the tree walk stopped at _dmarc\.test: the DNS look-up failed \(SERVFAIL\): a temporary error \(temperror\), not a missing record$/,
  );
  assert.doesNotMatch(f.summary + f.details.join('\n'), /no DMARC record|records below it decide/);
  // With a record found first, the same failure only ends the walk: the domain's own policy stands.
  const own = await checkDmarc(ours, 'example.test');
  assert.deepEqual({ status: own.status, dnsError: own.dnsError }, { status: 'pass', dnsError: undefined });
  assert.match(own.details.join('\n'), /the walk stopped at _dmarc\.test: .*SERVFAIL.*; the records below it decide/);
});

/**
 * mailauth 4.13 still follows RFC 7489: the From domain, then the Public Suffix List's
 * organisational domain. Where that and the tree walk agree, the same policy must be found;
 * where they differ the difference is listed and must stay exactly that.
 */
test('DMARC policy discovery compared with mailauth', async () => {
  const cases: Array<[string, boolean]> = [
    ['example.test', true],
    ['mail.example.test', true],
    ['shop.co.test', true],
    ['removed.test', true],
    ['nothing.here.test', true],
    // The record in between (dept.example.test) is not the policy in either: both use example.test's.
    ['a.b.dept.example.test', true],
    // v=DMARC1 is case-sensitive in RFC 9989; mailauth accepts v=dmarc1.
    ['lower.test', false],
  ];
  const differences: string[] = [];
  for (const [from, agree] of cases) {
    const w = await treeWalk(ours, from);
    const mine = w.policy?.tags.get('p') ?? 'none-found';
    const r = await mailauthDmarc({
      headerFrom: `a@${from}`,
      spfDomains: [],
      dkimDomains: [],
      resolver: (n: string, t: string) => theirs.resolve(n, t as 'TXT'),
    });
    const theirsP = r === false ? 'none-found' : (r.p ?? (r.status.result === 'none' ? 'none-found' : r.status.result));
    if ((mine === theirsP) !== agree)
      differences.push(`${from}: smtpkit ${mine}, mailauth ${theirsP}, expected them to ${agree ? 'agree' : 'differ'}`);
  }
  assert.deepEqual(differences, []);
});
