import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { originName, parseOrigins } from '../src/audit/checks/asn-origin.js';
import { RpkiValidator, VALIDATOR_MAX_BYTES } from '../src/audit/checks/rpki-validator.js';
import { rpkiCheck } from '../src/audit/checks/rpki.js';
import { runAudit } from '../src/audit/audit.js';
import { Resolver } from '../src/dns/resolver.js';
import { auditBed, type AuditBed } from './helpers/audit-bed.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { fixture } from './helpers/paths.js';
import { FLOOD_VRPS, testValidator, type TestValidator, type TestVrp } from './helpers/rpki-validator.js';

/**
 * The rpki check as a user runs it: good.test (MX mail.test at 127.0.0.1, NS ns1.good.test at
 * 127.0.0.1 and ::1), origins from IP-to-ASN zones on the test DNS server, and an HTTP server
 * answering as Routinator does, or as a hostile validator would.
 */

const NIBBLES_V6_LOOPBACK = `1.${'0.'.repeat(31)}`;
const cymru = (asn: string, prefix: string) => ({
  type: 'TXT' as const,
  data: `${asn} | ${prefix} | ZZ | test | 2026-01-01`,
});

let bed: AuditBed;
let validator: TestValidator;
before(async () => {
  bed = await auditBed({
    '1.0.0.127.asn.test': [cymru('64500', '127.0.0.0/8')],
    [`${NIBBLES_V6_LOOPBACK}asn6.test`]: [cymru('64500', '::/16')],
    // A prefix announced by two origins (multi-origin): each is judged.
    '1.0.0.127.multi.test': [cymru('64500', '127.0.0.0/8'), cymru('64511', '127.0.0.0/8')],
    // A zone that answers, but nothing in it holds the address.
    '1.0.0.127.junk.test': [cymru('64500', '10.0.0.0/8'), { type: 'TXT', data: 'hello' }],
    [`${NIBBLES_V6_LOOPBACK}junk.test`]: [cymru('AS?', '::/16')],
    // A null MX and two name servers, one whose address look-up fails: the name servers are still judged.
    'nsonly.test': [
      { type: 'MX', exchange: '.', priority: 0 },
      { type: 'NS', ns: 'ns1.good.test' },
      { type: 'NS', ns: 'ns.broken.test' },
    ],
    // A zone flooding one address with origins: at most 8 are asked.
    '1.0.0.127.flood.test': Array.from({ length: 10 }, (_, i) => cymru('64500', `127.0.0.0/${8 + i}`)),
    // A hostile zone: 60 name servers of 20 addresses each (1,200 addresses to look up and judge).
    'nsflood.test': [
      { type: 'MX', exchange: '.', priority: 0 },
      ...Array.from({ length: 60 }, (_, i) => ({ type: 'NS' as const, ns: `ns${i}.nsflood.test` })),
    ],
    ...Object.fromEntries(
      Array.from({ length: 60 }, (_, i) => [
        `ns${i}.nsflood.test`,
        Array.from({ length: 20 }, (_, j) => ({ type: 'A' as const, address: `127.0.${i}.${j + 1}` })),
      ]),
    ),
    'ns.broken.test': [
      { type: 'FAIL', of: 'A', rcode: 'SERVFAIL' },
      { type: 'AAAA', address: '::1' },
    ],
  });
  validator = await testValidator();
});
after(() => Promise.all([bed.close(), validator.close()]));

const VALID: TestVrp[] = [
  { asn: 64500, prefix: '127.0.0.0/8', maxLength: 8 },
  { asn: 64500, prefix: '::/16', maxLength: 16 },
];

async function audit(extra: string[], vrps: TestVrp[] = VALID, fault?: TestValidator['fault']) {
  validator.vrps = vrps;
  validator.fault = fault;
  validator.asked.length = 0;
  const args = [
    'good.test',
    '--resolver',
    `127.0.0.1:${bed.dns.port}`,
    '--port',
    String(bed.good.port),
    '--ca-file',
    fixture('tls/ca.pem'),
    '--https-port',
    String(bed.policyPort),
    '--ehlo',
    'audit.test',
    // The IP-to-ASN zones mean something only with a validator (alone they are a usage error).
    ...(extra.includes('--rpki-validator') ? ['--asn-zone', 'asn.test', '--asn-zone6', 'asn6.test'] : []),
    ...extra,
  ];
  bed.dns.authenticated = true;
  try {
    // The same audit twice at once, as --json and as text: half the wall time, the same validator answers.
    const [json, text] = await Promise.all([
      runCli(['audit', '--json', ...args], { limitMs: 40_000 }),
      runCli(['audit', ...args], { limitMs: 40_000 }),
    ]);
    assert.match(json.stdout, /^\{/, exitOf(json));
    const doc = JSON.parse(json.stdout);
    const rpki = (doc.report.findings as Array<Record<string, unknown>>).filter((f) => f.check === 'rpki');
    return { json, text, rpki };
  } finally {
    bed.dns.authenticated = false;
  }
}

const bySubject = (rpki: Array<Record<string, unknown>>) => Object.fromEntries(rpki.map((f) => [f.subject, f]));
const MX = 'MX mail.test (127.0.0.1)';
const NS4 = 'NS ns1.good.test (127.0.0.1)';
const NS6 = 'NS ns1.good.test (::1)';
const exitOf = (r: CliResult) => `${r.code}\n${r.stdout}\n${r.stderr}`;

test('every MX and NS address valid: ✔ each with its VRP; one validator query per distinct origin and prefix; exit 0', async () => {
  const { json, text, rpki } = await audit(['--rpki-validator', `${validator.url}/`]);
  assert.equal(json.code, 0, exitOf(json));
  assert.equal(text.code, 0, exitOf(text));
  const f = bySubject(rpki);
  assert.deepEqual(Object.keys(f).sort(), [MX, NS6, NS4].sort());
  for (const s of [MX, NS4]) {
    assert.equal(f[s]!.status, 'pass');
    assert.equal(f[s]!.summary, 'AS64500 127.0.0.0/8 valid');
    assert.deepEqual(f[s]!.evidence, [
      '1.0.0.127.asn.test TXT "64500 | 127.0.0.0/8 | ZZ | test | 2026-01-01"',
      'VRP AS64500 127.0.0.0/8 max length 8',
    ]);
  }
  assert.equal(f[NS6]!.summary, 'AS64500 ::/16 valid');
  assert.match(
    text.stdout,
    /✔ RPKI route-origin validity of MX and NS addresses — MX mail\.test \(127\.0\.0\.1\): AS64500 127\.0\.0\.0\/8 valid/,
  );
  // The MX and the NS share 127.0.0.1: asked once per run (two runs: --json and text), the trailing / of the URL dropped.
  assert.deepEqual(validator.asked.sort(), [
    '/api/v1/validity/AS64500/127.0.0.0/8',
    '/api/v1/validity/AS64500/127.0.0.0/8',
    '/api/v1/validity/AS64500/::/16',
    '/api/v1/validity/AS64500/::/16',
  ]);
});

test('invalid: ✖ wrong origin AS, naming the authorised AS and the covering VRP; several origins each judged; exit 1', async () => {
  const vrps = [
    { asn: 64511, prefix: '127.0.0.0/8', maxLength: 8 },
    { asn: 64500, prefix: '::/16', maxLength: 16 },
  ];
  const { json, text, rpki } = await audit(['--rpki-validator', validator.url], vrps);
  assert.equal(json.code, 1, exitOf(json));
  assert.equal(text.code, 1, exitOf(text));
  const f = bySubject(rpki);
  assert.equal(f[MX]!.status, 'fail');
  assert.equal(f[MX]!.summary, 'AS64500 127.0.0.0/8 invalid: the covering ROAs authorise AS64511, not AS64500');
  assert.ok((f[MX]!.evidence as string[]).includes('VRP AS64511 127.0.0.0/8 max length 8'));
  assert.match(String(f[MX]!.fix), /add a ROA for 127\.0\.0\.0\/8 with origin AS64500/);
  assert.equal(f[NS6]!.status, 'pass');
  assert.match(
    text.stdout,
    /✖ RPKI route-origin validity of MX and NS addresses — MX mail\.test \(127\.0\.0\.1\): AS64500 127\.0\.0\.0\/8 invalid/,
  );

  const multi = await audit(['--rpki-validator', validator.url, '--asn-zone', 'multi.test'], VALID);
  assert.equal(multi.json.code, 1, exitOf(multi.json));
  const m = bySubject(multi.rpki);
  assert.equal(m[MX]!.status, 'fail');
  assert.equal(
    m[MX]!.summary,
    'AS64500 127.0.0.0/8 valid; AS64511 127.0.0.0/8 invalid: the covering ROAs authorise AS64500, not AS64511',
  );
});

test('invalid: ✖ prefix longer than the max length, with the covering VRP; exit 1', async () => {
  const vrps = [
    { asn: 64500, prefix: '64.0.0.0/2', maxLength: 4 },
    { asn: 64500, prefix: '::/16', maxLength: 16 },
  ];
  const { json, text, rpki } = await audit(['--rpki-validator', validator.url], vrps);
  assert.equal(json.code, 1, exitOf(json));
  const f = bySubject(rpki);
  assert.equal(f[NS4]!.status, 'fail');
  assert.equal(
    f[NS4]!.summary,
    "AS64500 127.0.0.0/8 invalid: the prefix is longer than the covering ROAs' max length (4)",
  );
  assert.ok((f[NS4]!.evidence as string[]).includes('VRP AS64500 64.0.0.0/2 max length 4'));
  assert.match(String(f[NS4]!.fix), /raise the ROA's max length to \/8/);
  assert.match(
    text.stdout,
    /✖ RPKI .* — NS ns1\.good\.test \(127\.0\.0\.1\): AS64500 127\.0\.0\.0\/8 invalid: the prefix is longer/,
  );
});

test('not found: ⚠ no ROA covers it, the fix says to publish one; a warning does not fail the audit', async () => {
  const { json, text, rpki } = await audit(['--rpki-validator', validator.url], [VALID[1]!]);
  assert.equal(json.code, 0, exitOf(json));
  const f = bySubject(rpki);
  assert.equal(f[MX]!.status, 'warn');
  assert.equal(f[MX]!.summary, 'AS64500 127.0.0.0/8 not found: no ROA covers it');
  assert.match(String(f[MX]!.fix), /^publish a ROA for 127\.0\.0\.0\/8 with origin AS64500/);
  assert.match(
    text.stdout,
    /⚠ RPKI .* — MX mail\.test \(127\.0\.0\.1\): AS64500 127\.0\.0\.0\/8 not found: no ROA covers it/,
  );
  assert.match(text.stdout, /fix: publish a ROA for 127\.0\.0\.0\/8 with origin AS64500/);
});

test('no ASN data (NXDOMAIN, or TXT holding no usable origin): not tested with the reason; the validator is not asked', async () => {
  const nx = await audit(['--rpki-validator', validator.url, '--asn-zone', 'none.test', '--asn-zone6', 'junk.test']);
  assert.equal(nx.json.code, 0, exitOf(nx.json));
  const f = bySubject(nx.rpki);
  assert.equal(f[MX]!.status, 'not-tested');
  assert.equal(f[MX]!.summary, 'no origin AS known: 1.0.0.127.none.test has no TXT record (NXDOMAIN)');
  assert.equal(f[NS6]!.status, 'not-tested');
  assert.match(String(f[NS6]!.summary), /^no origin AS known: no "ASN \| prefix" holding ::1 in the TXT of 1\.0\.0/);
  assert.deepEqual(validator.asked, []);
  assert.match(
    nx.text.stdout,
    /– RPKI .* — MX mail\.test \(127\.0\.0\.1\): not tested: no origin AS known: 1\.0\.0\.127\.none\.test has no TXT record/,
  );
});

test('without --rpki-validator: not tested, saying what it needs', async () => {
  const { json, text, rpki } = await audit([]);
  assert.equal(json.code, 0, exitOf(json));
  assert.deepEqual(
    rpki.map((f) => [f.status, f.summary]),
    [['not-tested', 'needs a validator: --rpki-validator URL']],
  );
  assert.match(
    text.stdout,
    /– RPKI route-origin validity of MX and NS addresses: not tested: needs a validator: --rpki-validator URL/,
  );
});

test('--rpki-validator takes only an http(s) URL: a usage error (exit 2) that never echoes the value', async () => {
  for (const [url, why] of [
    ['ftp://127.0.0.1/rpki', /takes an http:\/\/ or https:\/\/ URL/],
    ['not a url', /takes an http:\/\/ or https:\/\/ URL/],
    ['http://admin:s3cret@127.0.0.1:8323', /user name or password is refused/],
    ['http://127.0.0.1:8323/?token=s3cret', /no \?query or #fragment/],
  ] as const) {
    const r = await runCli(['audit', 'good.test', '--rpki-validator', url, '--resolver', `127.0.0.1:${bed.dns.port}`]);
    assert.equal(r.code, 2, exitOf(r));
    assert.match(r.stderr + r.stdout, why);
    assert.doesNotMatch(r.stderr + r.stdout, /s3cret|ftp:\/\/127/);
  }
  const zone = await runCli(['audit', 'good.test', '--asn-zone', 'a b', '--rpki-validator', validator.url]);
  assert.equal(zone.code, 2, exitOf(zone));
  assert.match(zone.stderr, /--asn-zone: "a b" is not a domain name/);
});

test('--asn-zone or --asn-zone6 without --rpki-validator: a usage error (exit 2) naming both, said before any DNS question', async () => {
  for (const zones of [
    ['--asn-zone', 'asn.test'],
    ['--asn-zone6', 'asn6.test'],
  ]) {
    const asked = bed.dns.edns.length;
    const args = ['audit', 'good.test', ...zones, '--resolver', `127.0.0.1:${bed.dns.port}`, '--port', '1'];
    const text = await runCli(args);
    assert.equal(text.code, 2, exitOf(text));
    assert.match(text.stderr, /--asn-zone and --asn-zone6 .*only with --rpki-validator/);
    assert.equal(text.stdout, '');
    const json = await runCli([...args, '--json']);
    assert.equal(json.code, 2, exitOf(json));
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.outcome.errorClass, 'usage');
    assert.match(doc.outcome.message, /--asn-zone and --asn-zone6 .*--rpki-validator/);
    assert.equal(bed.dns.edns.length, asked, 'DNS was asked before the usage error');
  }
});

/** One hostile validator behaviour: every address not tested with this reason, the audit's other verdicts intact. */
async function hostile(fault: TestValidator['fault'], reason: RegExp, extra: string[] = []) {
  const started = Date.now();
  const { json, text, rpki } = await audit(['--rpki-validator', validator.url, ...extra], VALID, fault);
  assert.equal(json.code, 0, exitOf(json));
  assert.equal(text.code, 0, exitOf(text));
  assert.equal(json.stderr, '');
  assert.equal(rpki.length, 3);
  for (const f of rpki) {
    assert.equal(f.status, 'not-tested', JSON.stringify(f));
    assert.match(String(f.summary), reason);
  }
  assert.match(
    text.stdout,
    new RegExp(
      `– RPKI .* — MX mail\\.test \\(127\\.0\\.0\\.1\\): not tested: AS64500 127\\.0\\.0\\.0/8: the validator http://127\\.0\\.0\\.1:\\d+ `,
    ),
  );
  return Date.now() - started;
}

/** What loopback TCP can hold between a writer and a reader that stopped reading: both kernel buffers at their largest. */
function kernelBuffering(): number {
  try {
    const max = (f: string) => Number(readFileSync(f, 'utf8').trim().split(/\s+/)[2]);
    return max('/proc/sys/net/ipv4/tcp_wmem') + max('/proc/sys/net/ipv4/tcp_rmem');
  } catch {
    return 64 * 1024 * 1024;
  }
}

test('a validator sending an endless body: cut at the byte cap, not tested', async () => {
  validator.endlessBytes.length = 0;
  await hostile('endlessBody', /sent more than 1 MiB for one answer: stopped reading$/);
  await validator.endlessClosed;
  // Each answer was cut: the server wrote the cap plus at most what the kernel buffers, not an endless stream.
  assert.ok(validator.endlessBytes.length >= 2, String(validator.endlessBytes));
  for (const sent of validator.endlessBytes) {
    assert.ok(sent > VALIDATOR_MAX_BYTES, String(sent));
    assert.ok(sent < VALIDATOR_MAX_BYTES + kernelBuffering(), String(sent));
  }
});

test('a silent validator: each wait bounded by --wait-timeout, not tested', async () => {
  const ms = await hostile('silence', /gave no answer within 1\.0 s$/, ['--wait-timeout', '1s']);
  assert.ok(ms < 30_000, `${ms} ms`);
});

test('a validator answering HTML instead of JSON: not tested, naming the content type', async () => {
  await hostile('html', /answered "text\/html", not application\/json$/);
});

test('a validator answering 500: not tested, naming the status', async () => {
  await hostile('status500', /answered HTTP 500$/);
});

test('a validator answering 404: not tested, hinting at the base URL', async () => {
  await hostile(
    'status404',
    /answered HTTP 404 \(not found: is the URL the API’s base, e\.g\. http:\/\/host:8323\?\)$/,
  );
});

test('a validator answering application/json that is not JSON: not tested', async () => {
  await hostile('badJson', /answered with a body that is not JSON$/);
});

test('an https validator: trusted through --ca-file it answers; without the CA it is not tested, naming the TLS failure', async () => {
  const secure = await testValidator(VALID, { tls: true });
  try {
    const { json, rpki } = await audit(['--rpki-validator', secure.url]);
    assert.equal(json.code, 0, exitOf(json));
    assert.deepEqual(
      rpki.map((f) => f.status),
      ['pass', 'pass', 'pass'],
    );
    assert.equal(secure.asked.length, 4);
    const untrusted = await runCli(
      [
        'audit',
        'good.test',
        '--json',
        '--resolver',
        `127.0.0.1:${bed.dns.port}`,
        '--port',
        String(bed.good.port),
      ].concat(['--asn-zone', 'asn.test', '--asn-zone6', 'asn6.test', '--rpki-validator', secure.url]),
      { limitMs: 40_000 },
    );
    const doc = JSON.parse(untrusted.stdout);
    const found = doc.report.findings.filter((f: { check: string }) => f.check === 'rpki');
    assert.equal(found.length, 3);
    for (const f of found) {
      assert.equal(f.status, 'not-tested');
      assert.match(f.summary, /the validator https:\/\/127\.0\.0\.1:\d+ could not be asked \(.*certificate/);
    }
  } finally {
    await secure.close();
  }
});

test('a validator whose VRP fields are objects String() cannot convert: not tested, never a crash (exit 0, no stack)', async () => {
  await hostile('objectAsn', /answered a VRP whose asn, prefix or max_length is not text$/);
});

test('a validator listing 15,000 matched VRPs: still valid, its evidence capped (not one line per VRP)', async () => {
  const { json, text, rpki } = await audit(['--rpki-validator', validator.url, '--verbose'], VALID, 'vrpFlood');
  assert.equal(json.code, 0, exitOf(json));
  assert.equal(rpki.length, 3);
  for (const f of rpki) {
    assert.equal(f.status, 'pass');
    const evidence = f.evidence as string[];
    assert.ok(evidence.length <= 12, `${evidence.length} evidence lines`);
    assert.match(evidence.at(-1)!, new RegExp(`and ${FLOOD_VRPS - 10} more VRPs$`));
  }
  assert.ok(text.stdout.split('\n').length < 200, `${text.stdout.split('\n').length} lines of text`);
});

test('a validator naming 15,000 other authorised ASes: invalid, the summary names a few and counts the rest', async () => {
  const { json, rpki } = await audit(['--rpki-validator', validator.url], VALID, 'invalidFlood');
  assert.equal(json.code, 1, exitOf(json));
  for (const f of rpki) {
    assert.equal(f.status, 'fail');
    assert.ok(String(f.summary).length < 300, `${String(f.summary).length} chars of summary`);
    assert.match(
      String(f.summary),
      /authorise AS70000, AS70001, AS70002, AS70003, AS70004 and 14995 more, not AS64500$/,
    );
  }
});

test('a validator dripping a byte every 0.3 s: the whole answer is bounded by --wait-timeout, not each byte', async () => {
  const ms = await hostile('drip', /gave no answer within 1\.0 s$/, ['--wait-timeout', '1s']);
  // Reset by each byte, the wait would last until the audit's own 120 s limit (or the test's 40 s).
  assert.ok(ms < 15_000, `${ms} ms`);
});

test('a validator redirecting elsewhere: not followed, not tested', async () => {
  await hostile('redirect', /answered HTTP 302, a redirect \(not followed\)$/);
  assert.ok(validator.asked.every((p) => p.startsWith('/api/v1/validity/')));
});

test('IP-to-ASN names and TXT records: reversed octets and nibbles; untrusted records dropped', () => {
  const zones = { v4: 'origin.asn.cymru.com', v6: 'origin6.asn.cymru.com' };
  assert.equal(originName('1.1.1.1', zones), '1.1.1.1.origin.asn.cymru.com');
  assert.equal(originName('192.0.2.10', zones), '10.2.0.192.origin.asn.cymru.com');
  assert.equal(originName('2001:db8::1', zones), `1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2.origin6.asn.cymru.com`);
  assert.deepEqual(parseOrigins(['13335 | 1.1.1.0/24 | AU | apnic | 2011-08-11'], '1.1.1.1'), [
    { asn: 13335, prefix: '1.1.1.0/24' },
  ]);
  assert.deepEqual(parseOrigins(['23028 3356 | 192.0.2.0/24 | US | arin | 2000-01-01'], '192.0.2.9'), [
    { asn: 23028, prefix: '192.0.2.0/24' },
    { asn: 3356, prefix: '192.0.2.0/24' },
  ]);
  for (const junk of [
    '13335 | 10.0.0.0/8 | x',
    '99999999999 | 1.1.1.0/24',
    '13335 | 1.1.1.0/33',
    'x | 1.1.1.0/24',
    '13335',
    '13335 | ::/0',
  ])
    assert.deepEqual(parseOrigins([junk], '1.1.1.1'), [], junk);
});

test('the validator client: at most 4 requests at once, one per distinct pair, and after a failure the rest are not sent', async () => {
  const silent = await testValidator();
  silent.fault = 'silence';
  const stop = new AbortController();
  try {
    const client = new RpkiValidator({ url: silent.url, ca: undefined, timeoutMs: () => 30_000, signal: stop.signal });
    const pending = Array.from({ length: 10 }, (_, i) => client.validity(64500 + i, '127.0.0.0/8'));
    assert.equal(client.validity(64500, '127.0.0.0/8'), pending[0]);
    const deadline = Date.now() + 5000;
    while (silent.asked.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(silent.asked.length, 4, silent.asked.join(' '));
    // The validator goes away: the four in flight fail, the six waiting get the same reason unsent.
    await silent.close();
    const results = await Promise.all(pending);
    assert.equal(silent.asked.length, 4);
    for (const r of results) assert.equal(r.state, 'unknown');
    assert.match(
      String((results[9] as { why: string }).why),
      /^the validator http:\/\/127\.0\.0\.1:\d+ could not be asked/,
    );
  } finally {
    stop.abort();
    await silent.close().catch(() => {});
  }
});

test('a null MX: the name servers are still judged; one whose addresses fail is not tested; a zone flooding origins gets 8 asked', async () => {
  validator.vrps = VALID;
  validator.fault = undefined;
  const options = {
    domain: 'nsonly.test',
    resolver: new Resolver({
      servers: [{ address: '127.0.0.1', port: bed.dns.port }],
      tcp: false,
      doh: undefined,
      timeoutMs: 2000,
      ca: undefined,
    }),
    port: bed.good.port,
    timeoutMs: 20_000,
    waitMs: 5000,
    ehloName: 'audit.test',
    httpsPort: bed.policyPort,
    dkimSelectors: [],
    dnsbl: [],
    scanConcurrency: 1,
    smugglingPauseMs: 300,
    maxMx: 10,
    rpki: { validator: validator.url, asnZones: { v4: 'asn.test', v6: 'asn6.test' } },
  };
  const r = await runAudit(options, [rpkiCheck]);
  assert.deepEqual(
    r.findings.map((f) => [f.subject, f.status]),
    [
      ['NS ns1.good.test (127.0.0.1)', 'pass'],
      ['NS ns1.good.test (::1)', 'pass'],
      ['NS ns.broken.test', 'not-tested'],
    ],
  );
  assert.match(
    r.findings[2]!.summary,
    /^its addresses: A ns\.broken\.test: the resolver 127\.0\.0\.1:\d+ answered SERVFAIL/,
  );

  validator.asked.length = 0;
  const flood = await runAudit(
    { ...options, rpki: { validator: validator.url, asnZones: { v4: 'flood.test', v6: 'asn6.test' } } },
    [rpkiCheck],
  );
  const ns4 = flood.findings.find((f) => f.subject === 'NS ns1.good.test (127.0.0.1)')!;
  assert.equal(ns4.status, 'fail');
  assert.match(ns4.summary, /^AS64500 127\.0\.0\.0\/8 valid; AS64500 127\.0\.0\.0\/9 invalid: the prefix is longer/);
  assert.match(ns4.summary, /; 2 more origins not asked$/);
  assert.equal(validator.asked.filter((p) => p.includes('127.0.0.0')).length, 8);
});

test('a zone with 60 name servers of 20 addresses each: at most 10 name servers and 4 addresses each judged, the rest said', async () => {
  validator.vrps = VALID;
  validator.fault = undefined;
  const r = await runAudit(
    {
      domain: 'nsflood.test',
      resolver: new Resolver({
        servers: [{ address: '127.0.0.1', port: bed.dns.port }],
        tcp: false,
        doh: undefined,
        timeoutMs: 2000,
        ca: undefined,
      }),
      port: bed.good.port,
      timeoutMs: 20_000,
      waitMs: 5000,
      ehloName: 'audit.test',
      httpsPort: bed.policyPort,
      dkimSelectors: [],
      dnsbl: [],
      scanConcurrency: 1,
      smugglingPauseMs: 300,
      maxMx: 10,
      rpki: { validator: validator.url, asnZones: { v4: 'asn.test', v6: 'asn6.test' } },
    },
    [rpkiCheck],
  );
  const judged = r.findings.filter((f) => f.subject?.startsWith('NS ns'));
  assert.equal(judged.length, 40, `${judged.length} NS addresses judged`);
  const rest = r.findings.find((f) => f.subject === null)!;
  assert.equal(rest.status, 'not-tested');
  assert.match(
    rest.summary,
    /^50 more name servers not judged; 160 more name server addresses not judged \(at most 10, each on its first 4 addresses\)$/,
  );
});
