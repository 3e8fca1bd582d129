import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import { AuditCache, type AuditSummary } from '../src/exporter/audit-role.js';
import { auditBed, type AuditBed } from './helpers/audit-bed.js';
import { runCli } from './helpers/cli.js';
import {
  freePort,
  get,
  samples,
  startExporter,
  stopExporter,
  value,
  type ExporterProcess,
} from './helpers/exporter-process.js';
import { ROOT, TLS } from './helpers/paths.js';
import { rawServer, type RawServer } from './helpers/raw-server.js';

/**
 * The exporter's audit role: `smtpkit audit` of the target domain, run in the exporter, as
 * metrics. The bed: a test DNS server with good.test (MX mail.test on smtp-server with TLS,
 * MTA-STS, DANE...), and a raw server that accepts and never greets.
 */
let bed: AuditBed;
let silent: RawServer;
let slow: RawServer;
let dir: string;
let exporter: ExporterProcess | undefined;

before(async () => {
  bed = await auditBed();
  silent = await rawServer(() => {});
  // Refuses every session, but only after 1.2 s: an audit cut at 0.5 s is sure to be cut, one given 60 s finishes.
  slow = await rawServer((s) => {
    const t = setTimeout(() => s.end('554 5.3.2 not now\r\n'), 1200);
    s.on('close', () => clearTimeout(t));
  });
  dir = mkdtempSync(join(tmpdir(), 'smtpkit-exporter-audit-'));
  const common = {
    role: 'audit',
    resolver: [`127.0.0.1:${bed.dns.port}`],
    caFile: TLS.ca,
    httpsPort: bed.policyPort,
    ehlo: 'audit.test',
  };
  writeFileSync(
    join(dir, 'modules.json'),
    JSON.stringify({
      modules: {
        posture: { ...common, port: bed.good.port },
        only: { ...common, port: bed.good.port, targets: ['good.test', '*.lab.test'] },
        // Every SMTP probe goes to a server that never greets: only the deadline ends the audit.
        stuck: { ...common, port: silent.port, cacheFor: '1ms' },
        // Cached for --audit-cache (1 h), as posture, but its own key: for the short-scrape cache test.
        poisoned: { ...common, port: slow.port },
      },
    }),
  );
  exporter = await startExporter(['--config', join(dir, 'modules.json'), '--audit-cache', '1h']);
});

after(async () => {
  await stopExporter(exporter);
  await bed.close();
  await silent.close();
  await slow.close();
  rmSync(dir, { recursive: true, force: true });
});

const checkLine = (group: string, check: string, status: string) =>
  `smtpkit_audit_check{group="${group}",check="${check}",status="${status}"}`;

test('exporter audit module: one series per check and status, scores per group and overall; a second scrape is the cached result', async () => {
  bed.dns.authenticated = true;
  let first;
  try {
    first = await get(`${exporter!.url}/probe?target=good.test&module=posture`, {
      'X-Prometheus-Scrape-Timeout-Seconds': '60',
    });
  } finally {
    bed.dns.authenticated = false;
  }
  assert.equal(first.status, 200, first.body);
  assert.match(first.type, /^text\/plain; version=0\.0\.4/);
  const body = first.body;
  // The audit engine's verdicts on good.test (test/audit-engine.test.ts): all pass but IPv4-only MX addresses.
  for (const [group, check] of [
    ['dns', 'mx'],
    ['dnssec', 'dnssec-domain'],
    ['authenticity', 'spf'],
    ['authenticity', 'mta-sts'],
    ['transport', 'starttls'],
    ['transport', 'dane'],
    ['hardening', 'open-relay'],
  ]) {
    assert.equal(value(body, checkLine(group!, check!, 'pass')), '1', `${check}:\n${body}`);
    for (const other of ['warn', 'fail', 'not-tested'])
      assert.equal(value(body, checkLine(group!, check!, other)), '0', `${check} ${other}`);
  }
  assert.equal(value(body, checkLine('dns', 'mx-addresses', 'warn')), '1');
  // Smuggling sends mail: never from the exporter, so it is not tested.
  assert.equal(value(body, checkLine('hardening', 'smuggling', 'not-tested')), '1');
  assert.equal(value(body, 'smtpkit_audit_success'), '1');
  assert.equal(value(body, 'smtpkit_audit_exit_code'), '0');
  assert.equal(value(body, 'smtpkit_audit_deadline_exceeded'), '0');
  assert.equal(value(body, 'smtpkit_audit_age_seconds'), '0');
  assert.equal(value(body, 'smtpkit_audit_score{group="transport"}'), '100');
  const dnsScore = Number(value(body, 'smtpkit_audit_score{group="dns"}'));
  assert.ok(dnsScore > 50 && dnsScore < 100, body);
  const overall = Number(value(body, 'smtpkit_audit_overall_score'));
  assert.ok(overall > 90 && overall < 100, body);
  // Each check is one state set: exactly one of its four series is 1.
  const checks = samples(body).filter((l) => l.startsWith('smtpkit_audit_check{'));
  const ones = checks.filter((l) => l.endsWith(' 1'));
  assert.equal(checks.length, ones.length * 4);
  assert.equal(new Set(ones.map((l) => /check="([^"]+)"/.exec(l)![1])).size, ones.length);

  // Within --audit-cache the same module and domain are answered from the last result: no new audit.
  const asked = bed.dns.asked.udp + bed.dns.asked.tcp;
  const second = await get(`${exporter!.url}/probe?target=GOOD.test.&module=posture`);
  assert.equal(second.status, 200);
  assert.equal(bed.dns.asked.udp + bed.dns.asked.tcp, asked, 'the cached answer asked DNS again');
  assert.equal(value(second.body, 'smtpkit_audit_duration_seconds'), value(body, 'smtpkit_audit_duration_seconds'));
  const self = await get(`${exporter!.url}/metrics`);
  assert.equal(value(self.body, 'smtpkit_exporter_probes_total{result="success"}'), '1');
});

test('exporter audit module: the scrape timeout is the audit’s deadline; what had not finished is not tested', async () => {
  const t = performance.now();
  const r = await get(`${exporter!.url}/probe?target=good.test&module=stuck`, {
    'X-Prometheus-Scrape-Timeout-Seconds': '2',
  });
  const ms = performance.now() - t;
  assert.equal(r.status, 200, r.body);
  // Cut at 2 s less the exporter's 0.5 s offset; the greeting wait (10 s) and the audit's own
  // limit (120 s) are far off, so an answer within 3 s (a loaded machine's margin) is the deadline's.
  assert.ok(ms < 3000, `answered after ${Math.round(ms)} ms: ${r.body}`);
  assert.equal(value(r.body, 'smtpkit_audit_deadline_exceeded'), '1');
  assert.equal(value(r.body, 'smtpkit_audit_success'), '0');
  assert.equal(value(r.body, 'smtpkit_audit_exit_code'), '1');
  assert.equal(value(r.body, checkLine('transport', 'starttls', 'not-tested')), '1', r.body);
  // DNS answered in time: those checks have their verdicts.
  assert.equal(value(r.body, checkLine('authenticity', 'spf', 'pass')), '1', r.body);
});

test('exporter audit module: a result cut by one scrape’s absurdly short timeout does not answer a later scrape that allows longer', async () => {
  // A hostile scraper asks with 1 ms: the audit is cut at the exporter's floor (0.5 s).
  const cut = await get(`${exporter!.url}/probe?target=good.test&module=poisoned`, {
    'X-Prometheus-Scrape-Timeout-Seconds': '0.001',
  });
  assert.equal(cut.status, 200, cut.body);
  // Premise: the short scrape's audit ended before the server's answer at 1.2 s, by the
  // deadline or by the probe's own wait given the time left (two clocks ending together).
  assert.ok(Number(value(cut.body, 'smtpkit_audit_duration_seconds')) < 1.2, 'premise: the short scrape cut the audit');
  // Prometheus then asks with its real timeout: a full audit, not the cut result for the next hour.
  const real = await get(`${exporter!.url}/probe?target=good.test&module=poisoned`, {
    'X-Prometheus-Scrape-Timeout-Seconds': '60',
  });
  assert.equal(real.status, 200, real.body);
  assert.equal(value(real.body, 'smtpkit_audit_deadline_exceeded'), '0', real.body);
  assert.equal(value(real.body, 'smtpkit_audit_age_seconds'), '0');
  // A scrape no longer than the one that cut it may still be answered from the cache (no audit per scrape).
  const again = await get(`${exporter!.url}/probe?target=good.test&module=poisoned`, {
    'X-Prometheus-Scrape-Timeout-Seconds': '0.001',
  });
  assert.equal(value(again.body, 'smtpkit_audit_deadline_exceeded'), '0', 'the full result answers a shorter scrape');
});

test('exporter audit module: a module listing targets audits only those domains (403, nothing asked); a bad domain is a 400', async () => {
  const asked = bed.dns.asked.udp + bed.dns.asked.tcp;
  const other = await get(`${exporter!.url}/probe?target=bad.test&module=only`);
  assert.equal(other.status, 403);
  assert.match(
    other.body,
    /module "only" may not be used with "bad\.test": its "targets" are good\.test, \*\.lab\.test/,
  );
  const under = await get(`${exporter!.url}/probe?target=lab.test&module=only`);
  assert.equal(under.status, 403, 'a wildcard covers names under the domain, not the domain itself');
  assert.equal(bed.dns.asked.udp + bed.dns.asked.tcp, asked, 'a refused scrape asked DNS');
  for (const target of ['bad domain.test', 'a\r\nb.test', '']) {
    const r = await get(`${exporter!.url}/probe?target=${encodeURIComponent(target)}&module=posture`);
    assert.equal(r.status, 400, `${JSON.stringify(target)}: ${r.body}`);
    assert.doesNotMatch(r.body, /\r|\n./);
  }
});

test('exporter audit module: mistakes in its settings are refused at start-up (exit 2), the smuggling test above all', async () => {
  const config = join(dir, 'bad.json');
  for (const [module, why] of [
    [{ role: 'audit', smugglingRcpt: 'me@good.test' }, /never runs the smuggling test \(it sends mail\)/],
    [{ role: 'audit', auth: { user: 'x', passwordEnv: 'X' } }, /unknown setting "auth" for role audit/],
    [{ role: 'audit', targets: ['mail.test:25'] }, /"mail\.test:25" is not a domain/],
    [{ role: 'audit', port: 70000 }, /"port" is a port number/],
    [{ role: 'audit', cacheFor: 'soon' }, /cacheFor/],
    [{ role: 'smtp', cacheFor: '1h' }, /unknown setting "cacheFor" for role smtp/],
  ] as const) {
    writeFileSync(config, JSON.stringify({ modules: { m: module } }));
    const r = await runCli(['exporter', '--listen', '127.0.0.1:0', '--config', config]);
    assert.equal(r.code, 2, `${JSON.stringify(module)}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, why);
  }
});

// A real Prometheus scraping the audit module with the README's job, asked over its API.
const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;

test(
  'Prometheus scrapes the audit module with the README’s job: smtpkit_audit_check and the scores arrive',
  { skip: hasPrometheus ? false : 'prometheus is not installed (Debian package prometheus)' },
  async () => {
    const blocks = [...readFileSync(`${ROOT}README.md`, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const job = blocks.find((b) => b.includes('job_name: smtpkit-audit'));
    assert.ok(job, 'README has the audit job');
    const exporterAddress = new URL(exporter!.url).host;
    const scrape = job
      .replace("['example.com']", "['good.test']")
      .replace('127.0.0.1:9125', exporterAddress)
      .replace('scrape_interval: 15m', 'scrape_interval: 1s')
      .replace('scrape_timeout: 2m', 'scrape_timeout: 1s');
    assert.ok(scrape.includes('good.test') && scrape.includes(exporterAddress), scrape);
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, `scrape_configs:\n${scrape.replace(/^scrape_configs:\n/, '')}`);
    const port = await freePort();
    const prom = spawn(
      'prometheus',
      [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    prom.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    try {
      const query = async (q: string) => {
        const r = await get(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`, {}, 2000);
        return r.status === 200
          ? (JSON.parse(r.body).data.result as { metric: Record<string, string>; value: [number, string] }[])
          : [];
      };
      let result: Awaited<ReturnType<typeof query>> = [];
      for (let i = 0; i < 60 && !result.length; i++) {
        await new Promise((r) => setTimeout(r, 500));
        result = await query('smtpkit_audit_check{check="starttls",status="pass"}').catch(() => []);
      }
      assert.equal(result.length, 1, `no smtpkit_audit_check in Prometheus after 30 s; its log:\n${log}`);
      assert.equal(result[0]!.metric.instance, 'good.test');
      assert.equal(result[0]!.metric.group, 'transport');
      assert.equal(result[0]!.value[1], '1');
      const score = await query('smtpkit_audit_score{group="authenticity"}');
      assert.equal(score.length, 1);
      assert.equal((await query('smtpkit_audit_overall_score')).length, 1);
    } finally {
      prom.kill('SIGTERM');
      await new Promise((r) => prom.once('exit', r));
    }
  },
);

test('AuditCache: a result that used up a short deadline answers no scrape allowing longer, whichever clock cut it', async () => {
  // A 0.5 s audit whose last wait was its own (the probe's greeting wait, given the time left)
  // ends at the deadline without deadlineExceeded: it was limited all the same.
  const summary = (over: Partial<AuditSummary>): AuditSummary => ({
    finishedAt: 1_000_000,
    durationMs: 500,
    exitCode: 1,
    deadlineExceeded: false,
    timeoutMs: 500,
    dnsError: false,
    checks: [],
    groups: [],
    score: null,
    ...over,
  });
  const cache = new AuditCache();
  const hour = 3_600_000;
  await cache.run('short', async () => summary({}));
  assert.equal(cache.fresh('short', hour, 1_000_100, 60_000), undefined, 'a 60 s scrape gets a new audit');
  await cache.run('short', async () => summary({}));
  assert.ok(cache.fresh('short', hour, 1_000_100, 500), 'a scrape as short as it may be answered from the cache');
  // One that finished well within its time would not have changed with more: it answers longer scrapes.
  await cache.run('quick', async () => summary({ durationMs: 1500, timeoutMs: 10_000 }));
  assert.ok(cache.fresh('quick', hour, 1_000_100, 60_000));
});
