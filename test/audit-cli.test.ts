import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { auditBed, type AuditBed } from './helpers/audit-bed.js';
import { browserMissing, openPage } from './helpers/browser.js';
import { runCli } from './helpers/cli.js';
import { fixture } from './helpers/paths.js';
import { lineServer, rawServer, type RawServer } from './helpers/raw-server.js';

/** smtpkit audit as a user runs it: exit codes, text, JSON, CSV, --baseline, --domains, and the HTML report in Chromium. */

let bed: AuditBed;
let hostile: RawServer;
let canary: http.Server;
let canaryPort = 0;
const canaryHits: string[] = [];
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smtpkit-audit-'));
  canary = http.createServer((req, res) => {
    canaryHits.push(req.url ?? '');
    res.end('');
  });
  await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
  canaryPort = (canary.address() as AddressInfo).port;
  const lure = (what: string) => `<img src="http://127.0.0.1:${canaryPort}/${what}">`;
  bed = await auditBed({
    // Values from DNS and from a server that would load a resource, run a script or colour a terminal if not escaped.
    'hostile.test': [
      { type: 'MX', exchange: 'host.bad.test', priority: 10 },
      { type: 'TXT', data: `v=spf1 ${lure('spf')} +all` },
    ],
    '_dmarc.hostile.test': [
      {
        type: 'TXT',
        data: `v=DMARC1; p=none; rua=mailto:"><script>fetch('http://127.0.0.1:${canaryPort}/dmarc')</script>`,
      },
    ],
  });
  hostile = await rawServer((socket) => {
    socket.write(`220 host.bad.test ${lure('greeting')} \x1b[31mESMTP\r\n`);
    lineServer(socket, (line) => {
      if (/^QUIT/i.test(line)) return null;
      if (/^EHLO/i.test(line))
        return `250-host.bad.test\r\n250 X-<script>fetch('http://127.0.0.1:${canaryPort}/ehlo')</script>\r\n`;
      return '550 5.7.1 no\r\n';
    });
  });
});

after(async () => {
  await Promise.all([bed.close(), hostile.close(), new Promise((r) => canary.close(r))]);
  rmSync(dir, { recursive: true, force: true });
});

const common = (port: number) => [
  '--resolver',
  `127.0.0.1:${bed.dns.port}`,
  '--port',
  String(port),
  '--ca-file',
  fixture('tls/ca.pem'),
  '--https-port',
  String(bed.policyPort),
  '--ehlo',
  'audit.test',
];

test('a well-kept domain: exit 0; text grouped with scores, the one warning first with its fix; --json carries every finding', async () => {
  bed.dns.authenticated = true;
  try {
    const text = await runCli(['audit', 'good.test', ...common(bed.good.port)], { limitMs: 40_000 });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^=== Mail audit of good\.test \(SMTP port \d+\): score \d+\/100/);
    assert.match(
      text.stdout,
      /--- Worst findings first\n {2}⚠ Addresses of each MX host \(IPv4 and IPv6\) — mail\.test: IPv4 only/,
    );
    assert.match(text.stdout, /\n {6}fix: give every MX host an A and an AAAA record/);
    for (const g of ['DNS and reachability', 'DNSSEC', 'Authenticity', 'Transport security per MX', 'Server hardening'])
      assert.match(text.stdout, new RegExp(`--- ${g}.*: \\d+/100 \\(`));
    assert.match(
      text.stdout,
      /✔ Open relay refused \(16 address forms\) — mail\.test \(127\.0\.0\.1\): relaying refused/,
    );
    assert.match(
      text.stdout,
      /✔ TLS compression off — mail\.test \(127\.0\.0\.1\): offered DEFLATE, the server chose no compression/,
    );
    assert.match(text.stdout, /=== good\.test: score \d+\/100, 0 checks failed/);
    const json = await runCli(['audit', 'good.test', '--json', ...common(bed.good.port)], { limitMs: 40_000 });
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.command, 'audit');
    assert.equal(doc.target, 'good.test');
    assert.equal(doc.outcome.ok, true);
    assert.equal(doc.changes, null);
    assert.ok(doc.report.findings.length > 40);
    assert.deepEqual(
      doc.report.groups.map((g: { group: string }) => g.group),
      ['dns', 'dnssec', 'authenticity', 'transport', 'hardening'],
    );
    writeFileSync(join(dir, 'good.json'), json.stdout);
  } finally {
    bed.dns.authenticated = false;
  }
});

test('--baseline: the same domain after its MX lost STARTTLS and started relaying exits 1 and names what got worse', async () => {
  const r = await runCli(['audit', 'good.test', '--baseline', join(dir, 'good.json'), ...common(bed.bad.port)], {
    limitMs: 40_000,
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /--- Since the baseline: \d+ changes, \d+ worse/);
  assert.match(r.stdout, /✖ worse transport\/starttls\/mail\.test \(127\.0\.0\.1\): pass → fail/);
  assert.match(r.stdout, /✖ worse hardening\/open-relay\/mail\.test \(127\.0\.0\.1\): pass → fail/);
  // Getting better is a change, never a failure.
  const same = await runCli(
    ['audit', 'good.test', '--json', '--baseline', join(dir, 'good.json'), ...common(bed.bad.port)],
    {
      limitMs: 40_000,
    },
  );
  const doc = JSON.parse(same.stdout);
  assert.ok(
    doc.changes.some((c: { worse: boolean; key: string }) => c.worse && c.key === 'authenticity/mta-sts') === false,
  );
});

test('exit codes: 1 for a failed check, 3 when the domain does not resolve, 2 for bad input (said before anything is contacted)', async () => {
  const bad = await runCli(['audit', 'bad.test', ...common(bed.bad.port)]);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /✖ Open relay refused \(16 address forms\) — alias\.bad\.test \(127\.0\.0\.1\): OPEN RELAY/);
  assert.match(bad.stderr, /^\*\*\* bad\.test: score \d+\/100, \d+ checks failed/m);
  const nx = await runCli(['audit', 'unknown.test', '--json', ...common(bed.bad.port)]);
  assert.equal(nx.code, 3, nx.stderr);
  assert.equal(JSON.parse(nx.stdout).outcome.errorClass, 'dns');
  for (const args of [
    ['audit', 'good.test', '--format', 'xml'],
    ['audit'],
    ['audit', 'good.test', '--port', '0'],
    ['audit', 'good.test', '--timeout', 'soon'],
    ['audit', 'good.test', '--domains', join(dir, 'good.json')],
    ['audit', 'good.test', '--baseline', fixture('tls/ca.pem')],
    ['audit', '--domains', join(dir, 'none.txt')],
    ['audit', 'good.test', '--smuggling-rcpt', 'me@elsewhere.test'],
    ['audit', 'good.test', '--smuggling-rcpt', 'me@good.test\r\nRSET'],
  ]) {
    const r = await runCli([...args, '--resolver', `127.0.0.1:${bed.dns.port}`]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('--domains FILE: one JSON line per domain as each finishes, CSV with one header; the worst exit wins', async () => {
  const list = join(dir, 'domains.txt');
  writeFileSync(list, '# mine\nbad.test\nnothing.test\nnullmx.test\n');
  const r = await runCli(['audit', '--domains', list, '--concurrency', '2', '--json', ...common(bed.bad.port)]);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 3);
  const docs = lines.map((l) => JSON.parse(l));
  assert.deepEqual(docs.map((d) => d.target).sort(), ['bad.test', 'nothing.test', 'nullmx.test']);
  assert.ok(docs.every((d) => d.command === 'audit' && Array.isArray(d.report.findings)));
  const csv = await runCli(['audit', '--domains', '-', '--format', 'csv', ...common(bed.bad.port)], {
    input: 'nullmx.test\nbad.test\n',
  });
  const rows = csv.stdout.split('\r\n').filter(Boolean);
  assert.equal(rows[0], 'domain,group,check,subject,status,summary,reference,fix');
  assert.equal(rows.filter((l) => l.startsWith('domain,')).length, 1);
  assert.ok(rows.some((l) => l.startsWith('"bad.test","hardening","open-relay","alias.bad.test (127.0.0.1)","fail"')));
});

test('CSV: a server’s text that starts like a formula is made inert, quotes doubled, controls shown', async () => {
  const r = await runCli(['audit', 'hostile.test', '--format', 'csv', ...common(hostile.port)]);
  assert.doesNotMatch(r.stdout, /\x1b/);
  assert.match(r.stdout, /\\x1b\[31m/);
  assert.match(r.stdout, /""http:\/\/127\.0\.0\.1/);
});

test(
  'the HTML report in headless Chromium: renders (screenshot), every group and check appears, hostile values stay text, no console message, no request',
  { skip: browserMissing() },
  async () => {
    const r = await runCli(['audit', 'hostile.test', '--format', 'html', ...common(hostile.port)]);
    assert.equal(r.code, 1, r.stderr);
    const file = join(dir, 'report.html');
    writeFileSync(file, r.stdout);
    const shot = join(dir, 'report.png');
    const page = await openPage(file, { width: 1280, height: 4000 });
    let dom: string;
    try {
      await page.screenshot(shot);
      dom = await page.evaluate<string>('document.documentElement.outerHTML');
      assert.deepEqual(page.consoleErrors, [], 'nothing on the page’s console');
      assert.deepEqual(
        page.requests.filter((u) => !u.startsWith('file:')),
        [],
        'the page asked for nothing but itself',
      );
    } finally {
      await page.close();
    }
    assert.ok(statSync(shot).size > 20_000, 'a screenshot with something in it');
    assert.equal(readFileSync(shot).subarray(1, 4).toString(), 'PNG');
    for (const g of ['DNS and reachability', 'DNSSEC', 'Authenticity', 'Transport security per MX', 'Server hardening'])
      assert.match(dom, new RegExp(`<h2>${g}[^<]* — <span class="score">`), g);
    const { AUDIT_CHECKS } = await import('../src/audit/table.js');
    for (const c of AUDIT_CHECKS) assert.ok(dom.includes(`data-check="${c.group}/${c.name}"`), `${c.group}/${c.name}`);
    assert.match(dom, /<nav aria-label="Contents">/);
    // Escaped: the lures are text, not elements.
    assert.doesNotMatch(dom, /<img|<script/i);
    assert.match(dom, /&lt;img src="http:\/\/127\.0\.0\.1/);
    assert.match(dom, /\\x1b\[31mESMTP/);
    assert.deepEqual(canaryHits, [], 'no request left the page');
  },
);
