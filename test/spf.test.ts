import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { checkSpf } from '../src/dns/checks/spf.js';
import { parseSpf } from '../src/dns/checks/spf-syntax.js';
import { Resolver } from '../src/dns/resolver.js';
import { checkHost, spfIdentity } from '../src/spf/check-host.js';
import { resolverPort } from '../src/spf/dns-port.js';
import { runCli } from './helpers/cli.js';
import { ROOT } from './helpers/paths.js';
import { dnsServer, type DnsServer, type Zone } from './helpers/dns-server.js';

/** `smtpkit spf` and check_host() on zones of our own; the OpenSPF suite is spf-suite.test.ts. */

const nibbles = (hex32: string) => [...hex32].reverse().join('.');
const MX11 = Array.from({ length: 11 }, (_, i) => ({ type: 'MX' as const, exchange: `mx${i}.many.test`, priority: i }));
const PTR11 = Array.from({ length: 11 }, (_, i) => ({ type: 'PTR' as const, domain: `h${i}.ptr.test` }));

const zone: Zone = {
  // Two character-strings: joined with nothing between them (RFC 7208 §3.3).
  'example.test': [
    {
      type: 'TXT',
      data: [
        'v=spf1 ip4:192.0.2.0/24 ip6:2001:db8:1::/48 a:v6.example.test ',
        'include:_spf.example.test -all exp=why.example.test',
      ],
    },
  ],
  '_spf.example.test': [{ type: 'TXT', data: 'v=spf1 ip4:198.51.100.7 ?all' }],
  'v6.example.test': [{ type: 'AAAA', address: '2001:db8:2::25' }],
  'why.example.test': [{ type: 'TXT', data: '%{i} may not send for %{d} (HELO %{h}, sender %{S})' }],
  // %{i} of an IPv6 client is its 32 nibbles; reversed, a DNSBL-style name.
  'nibble.test': [{ type: 'TXT', data: 'v=spf1 exists:%{ir}.%{v}.allow.nibble.test -all' }],
  [`${nibbles('20010db8000300000000000000000001')}.ip6.allow.nibble.test`]: [{ type: 'A', address: '127.0.0.2' }],
  'helo.test': [{ type: 'TXT', data: 'v=spf1 exists:%{l}.%{d}.seen.test -all' }],
  'postmaster.helo.test.seen.test': [{ type: 'A', address: '127.0.0.2' }],
  'many.test': [{ type: 'TXT', data: 'v=spf1 mx -all' }, ...MX11],
  ...Object.fromEntries(MX11.map((m) => [m.exchange, [{ type: 'A' as const, address: '192.0.2.99' }]])),
  'ptr.test': [{ type: 'TXT', data: 'v=spf1 ptr -all' }],
  '10.2.0.192.in-addr.arpa': PTR11,
  ...Object.fromEntries(
    PTR11.map((p, i) => [p.domain, [{ type: 'A' as const, address: i === 10 ? '192.0.2.10' : '192.0.2.200' }]]),
  ),
  'broken.test': 'SERVFAIL',
  // Terminal control in a record: shown escaped, never acted on.
  'hostile.test': [{ type: 'TXT', data: 'v=spf1 a:\x1b]0;pwned\x07.hostile.test \x1b[2J-all' }],
  // A chain of includes, each answered slowly: the evaluation's own time limit ends it.
  'slow.test': [{ type: 'TXT', data: 'v=spf1 include:s1.slow.test -all' }],
  's1.slow.test': [{ type: 'TXT', data: 'v=spf1 include:s2.slow.test' }],
  's2.slow.test': [{ type: 'TXT', data: 'v=spf1 include:s3.slow.test' }],
  's3.slow.test': [{ type: 'TXT', data: 'v=spf1 include:s4.slow.test' }],
  's4.slow.test': [{ type: 'TXT', data: 'v=spf1 ip4:192.0.2.1' }],
  'inc-broken.test': [{ type: 'TXT', data: 'v=spf1 include:broken.test -all' }],
};

let dns: DnsServer;
before(async () => {
  dns = await dnsServer(zone);
});
after(async () => {
  await dns.close();
});

const port = () =>
  resolverPort(
    new Resolver({
      servers: [{ address: '127.0.0.1', port: dns.port }],
      tcp: false,
      doh: undefined,
      timeoutMs: 2000,
      ca: undefined,
    }),
  );
const spf = (...args: string[]) =>
  runCli(['spf', ...args, '--resolver', `127.0.0.1:${dns.port}`, '--dns-timeout', '1s']);

test('spf: a pass is traced term by term, exit 0', async () => {
  const r = await spf('example.test', '--ip', '198.51.100.7', '--helo', 'mail.example.test');
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /=== SPF check_host\(\) for example\.test: client 198\.51\.100\.7, sender postmaster@example\.test, HELO mail\.example\.test/,
  );
  assert.match(r.stdout, /· ip4:192\.0\.2\.0\/24 +no match/);
  assert.match(r.stdout, /\n {6}A v6\.example\.test: nothing\n/);
  assert.match(r.stdout, /✔ include:_spf\.example\.test +matched: pass/);
  assert.match(r.stdout, /=== SPF result: pass \(include:_spf\.example\.test in example\.test matched\)/);
});

test('spf --json: a fail carries result, trace and the exp= explanation (macros expanded, %{S} URL-escaped); exit 0', async () => {
  const r = await spf(
    'example.test',
    '--ip',
    '203.0.113.9',
    '--sender',
    'a&b@example.test',
    '--helo',
    'bad.example',
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.command, 'spf');
  assert.equal(doc.result.spf.result, 'fail');
  assert.equal(
    doc.result.spf.explanation,
    '203.0.113.9 may not send for example.test (HELO bad.example, sender a%26b%40example.test)',
  );
  const terms = doc.result.spf.trace.map((s: { term: string; match: boolean | undefined }) => `${s.term}=${s.match}`);
  assert.deepEqual(terms.slice(0, 4), [
    'record=undefined',
    'ip4:192.0.2.0/24=false',
    'ip6:2001:db8:1::/48=false',
    'a:v6.example.test=false',
  ]);
  assert.ok(terms.includes('-all=true'));
  const a = doc.result.spf.trace.find((s: { term: string }) => s.term === 'a:v6.example.test');
  assert.deepEqual(a.lookups, ['A v6.example.test: nothing'], 'an IPv4 client: the a mechanism asks for A only');
});

test('spf: IPv6 clients match ip6 and AAAA; an IPv4-mapped address is evaluated as IPv4', async () => {
  const v6 = JSON.parse((await spf('example.test', '--ip', '2001:db8:2::25', '--json')).stdout);
  assert.equal(v6.result.spf.result, 'pass');
  assert.ok(
    v6.result.spf.trace.some((s: { term: string; match: boolean }) => s.term === 'a:v6.example.test' && s.match),
  );
  const net6 = JSON.parse((await spf('example.test', '--ip', '2001:db8:1:ffff::1', '--json')).stdout);
  assert.equal(net6.result.spf.result, 'pass');
  const mapped = await spf('example.test', '--ip', '::ffff:192.0.2.44', '--json');
  assert.equal(mapped.code, 0);
  const doc = JSON.parse(mapped.stdout);
  assert.equal(doc.result.spf.result, 'pass');
  assert.equal(doc.result.spf.ip, '192.0.2.44');
  assert.equal(doc.result.spf.mappedFrom, '::ffff:192.0.2.44');
  assert.ok(
    doc.result.spf.trace.some((s: { term: string; match: boolean }) => s.term === 'ip4:192.0.2.0/24' && s.match),
  );
  const text = await spf('example.test', '--ip', '::FFFF:c000:22c');
  assert.match(text.stdout, /client 192\.0\.2\.44 \(given as ::FFFF:c000:22c: IPv4-mapped, evaluated as IPv4\)/);
});

test('check_host: %{i} of an IPv6 client is its nibbles, %{v} is ip6', async () => {
  const v = await checkHost(port(), { ip: '2001:db8:3::1', domain: 'nibble.test', sender: 'x@nibble.test' });
  assert.equal(v.result, 'pass', v.reason);
  const other = await checkHost(port(), { ip: '2001:db8:3::2', domain: 'nibble.test', sender: 'x@nibble.test' });
  assert.equal(other.result, 'fail');
});

test('spf: the null sender checks the HELO identity, postmaster@helo (RFC 7208 §2.4)', async () => {
  const id = spfIdentity('<>', 'helo.test');
  assert.deepEqual(id, { identity: 'helo', domain: 'helo.test', sender: 'postmaster@helo.test' });
  assert.equal((await checkHost(port(), { ip: '192.0.2.1', ...id })).result, 'pass');
  const r = JSON.parse((await spf('helo.test', '--ip', '192.0.2.1', '--sender', '<>', '--json')).stdout);
  assert.equal(r.result.spf.identity, 'helo');
  assert.equal(r.result.spf.sender, 'postmaster@helo.test');
  assert.equal(r.result.spf.result, 'pass');
  // A sender with no local part is postmaster too (§4.3).
  assert.equal(
    JSON.parse((await spf('helo.test', '--ip', '192.0.2.1', '--sender', '@helo.test', '--json')).stdout).result.spf
      .result,
    'pass',
  );
  assert.equal(
    JSON.parse((await spf('helo.test', '--ip', '192.0.2.1', '--sender', 'someone@helo.test', '--json')).stdout).result
      .spf.result,
    'fail',
  );
});

test('check_host: an mx with more than 10 MX names is a permerror; ptr looks at the first 10 names only (§4.6.4)', async () => {
  const mx = await checkHost(port(), { ip: '192.0.2.99', domain: 'many.test', sender: 'a@many.test' });
  assert.equal(mx.result, 'permerror');
  assert.match(mx.reason, /11 MX records, over the 10/);
  // The 11th PTR name is the one that resolves back to the client: never looked at.
  const ptr = await checkHost(port(), { ip: '192.0.2.10', domain: 'ptr.test', sender: 'a@ptr.test' });
  assert.equal(ptr.result, 'fail');
  const step = ptr.trace.find((s) => s.term === 'ptr')!;
  assert.equal(step.lookups.filter((l) => /^A h\d+\.ptr\.test/.test(l)).length, 10);
  assert.ok(!step.lookups.some((l) => l.startsWith('A h10.ptr.test')));
});

test('spf: a DNS failure is a temperror (exit 0, the result is data); no DNS server answering is exit 3', async () => {
  const r = JSON.parse((await spf('inc-broken.test', '--ip', '192.0.2.1', '--json')).stdout);
  assert.equal(r.result.spf.result, 'temperror');
  assert.equal(r.outcome.exitCode, 0);
  const silent = await runCli([
    'spf',
    'example.test',
    '--ip',
    '192.0.2.1',
    '--resolver',
    '127.0.0.1:1',
    '--dns-timeout',
    '300ms',
    '--json',
  ]);
  assert.equal(silent.code, 3, silent.stderr);
  const doc = JSON.parse(silent.stdout);
  assert.equal(doc.result.spf.result, 'temperror');
  assert.equal(doc.outcome.errorClass, 'dns');
});

test('check_host: the whole evaluation has a time limit (RFC 7208 §4.6.4); over it, temperror', async () => {
  dns.delayMs = 150;
  try {
    const quick = await checkHost(port(), { ip: '192.0.2.1', domain: 'slow.test', sender: 'a@slow.test' });
    assert.equal(quick.result, 'pass', 'within the default 20 s the chain is evaluated');
    const started = Date.now();
    const v = await checkHost(port(), { ip: '192.0.2.1', domain: 'slow.test', sender: 'a@slow.test', limitMs: 400 });
    assert.equal(v.result, 'temperror');
    assert.match(v.reason, /time limit/);
    assert.ok(Date.now() - started < 1500);
  } finally {
    dns.delayMs = 0;
  }
});

test('spf: a record holding terminal control sequences is a permerror, shown escaped', async () => {
  const r = await spf('hostile.test', '--ip', '192.0.2.1');
  assert.equal(r.code, 0);
  assert.ok(!r.stdout.includes('\x1b'), JSON.stringify(r.stdout));
  assert.match(r.stdout, /=== SPF result: permerror/);
  assert.match(r.stdout, /\\x1b\]0;pwned/);
});

test('spf: bad input is a usage error (exit 2), not a crash', async () => {
  const none = await spf('example.test');
  assert.equal(none.code, 2);
  assert.match(none.stderr, /--ip/);
  assert.equal((await spf('example.test', '--ip', '192.0.2.300')).code, 2);
  assert.equal((await spf('example.test', '--ip', '192.0.2.1', '--sender', 'no-at-sign')).code, 2);
  const json = await spf('example.test', '--ip', 'nope', '--json');
  assert.equal(json.code, 2);
  assert.equal(JSON.parse(json.stdout).outcome.errorClass, 'usage');
});

test('SPF syntax: a domain-spec may hold ":" and "/" (RFC 7208 §7.1); c, r, t only in the explanation text (§7.2)', async () => {
  assert.deepEqual(
    parseSpf('v=spf1 a:foo:bar/baz.example.com mx:x/y.example.com/24//64 -all', 'd.test').issues.filter(
      (i) => i.severity === 'error',
    ),
    [],
  );
  const cidr = parseSpf('v=spf1 a:foo:bar/baz.example.com/24 -all', 'd.test').terms[0]!;
  assert.equal(cidr.value, 'foo:bar/baz.example.com');
  assert.equal(cidr.cidr4, 24);
  const exp = parseSpf('v=spf1 -all exp=%{r}.example.com', 'd.test').issues;
  assert.ok(
    exp.some((i) => i.severity === 'error' && /%\{r\}/.test(i.text)),
    JSON.stringify(exp),
  );
  assert.deepEqual(parseSpf('v=spf1 -all exp=%{ir}.%{d}', 'd.test').issues, []);
  // mx-lookup --checks says the same: the colon-and-slash record is valid.
  const server = await dnsServer({
    'colon.test': [{ type: 'TXT', data: 'v=spf1 a:foo:bar/baz.colon.test -all' }],
    'foo:bar/baz.colon.test': [{ type: 'A', address: '192.0.2.1' }],
    'exp.test': [{ type: 'TXT', data: 'v=spf1 -all exp=%{r}.example.com' }],
  });
  try {
    const resolver = new Resolver({
      servers: [{ address: '127.0.0.1', port: server.port }],
      tcp: false,
      doh: undefined,
      timeoutMs: 2000,
      ca: undefined,
    });
    const finding = await checkSpf(resolver, 'colon.test');
    assert.equal(finding.status, 'pass', finding.summary);
    assert.equal((await checkSpf(resolver, 'exp.test')).status, 'fail');
    assert.equal(
      (await checkHost(resolverPort(resolver), { ip: '192.0.2.1', domain: 'exp.test', sender: 'a@exp.test' })).result,
      'permerror',
    );
  } finally {
    await server.close();
  }
});

test('the library face: checkHost with DNS servers as plain strings', async () => {
  const lib = (await import(`${ROOT}dist/lib/index.js`)) as typeof import('../src/index.js');
  const v = await lib.checkHost(
    { ip: '2001:db8:1::7', ...lib.spfIdentity('bounce@example.test', 'mail.example.test'), helo: 'mail.example.test' },
    { servers: [`127.0.0.1:${dns.port}`], timeoutMs: 2000 },
  );
  assert.equal(v.result, 'pass');
  assert.ok(v.trace.some((s) => s.term === 'ip6:2001:db8:1::/48' && s.match));
});
