import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { BIN, ROOT, TLS } from './helpers/paths.js';
import { rawServer, type RawServer } from './helpers/raw-server.js';
import { smtpPeer, type Peer } from './helpers/smtp-peer.js';
import { slowloris } from './helpers/abusive-clients.js';
import {
  freePort,
  get,
  samples,
  startExporter,
  stopExporter,
  value,
  type ExporterProcess,
} from './helpers/exporter-process.js';

/** probe --format prometheus, the exporter over HTTP, and a real Prometheus scraping it with the README's config. */
let peer: Peer;
let silent: RawServer;
let silentOpen = 0;
let silentMax = 0;
let dir: string;
let exporter: ExporterProcess | undefined;

before(async () => {
  peer = await smtpPeer({ disabledCommands: ['AUTH'] });
  silent = await rawServer((s) => {
    silentOpen++;
    s.on('close', () => silentOpen--);
    // Counted a moment later: a probe that ended just before this one began has surely closed by then.
    setTimeout(() => (silentMax = Math.max(silentMax, silentOpen)), 200);
  });
  dir = mkdtempSync(join(tmpdir(), 'smtpkit-exporter-'));
  writeFileSync(
    join(dir, 'modules.json'),
    JSON.stringify({
      modules: {
        smtp: { role: 'smtp', caFile: TLS.ca, tlsVerify: true, expectBanner: '^220 mail\\.test' },
        banner: { role: 'smtp', expectBanner: '^220 other' },
      },
    }),
  );
  exporter = await startExporter(['--config', join(dir, 'modules.json'), '--max-concurrent', '1', '--timeout', '60s']);
});

after(async () => {
  exporter?.child.kill('SIGTERM');
  await peer.close();
  await silent.close();
  rmSync(dir, { recursive: true, force: true });
});

test('probe --format prometheus: success, checks as state sets, TLS version and certificate expiry, labelled by target', async () => {
  const r = await runCli(['probe', `127.0.0.1:${peer.port}`, '--ca-file', TLS.ca, '--format', 'prometheus']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const t = `target="127.0.0.1:${peer.port}"`;
  assert.match(r.stdout, /^# TYPE smtpkit_probe_success gauge$/m);
  assert.equal(value(r.stdout, `smtpkit_probe_success{${t}}`), '1');
  assert.equal(value(r.stdout, `smtpkit_probe_check{${t},check="tls",status="pass"}`), '1');
  assert.equal(value(r.stdout, `smtpkit_probe_check{${t},check="tls",status="fail"}`), '0');
  assert.ok(Number(value(r.stdout, `smtpkit_probe_phase_duration_seconds{${t},phase="banner"}`)) >= 0);
  assert.match(
    r.stdout,
    new RegExp(`^smtpkit_tls_version_info\\{${t},version="TLSv1\\.3",cipher="[A-Z0-9_]+"\\} 1$`, 'm'),
  );
  const notAfter = Math.floor(Date.parse(new X509Certificate(TLS.cert()).validTo) / 1000);
  assert.equal(value(r.stdout, `smtpkit_certificate_expiry_timestamp_seconds{${t}}`), String(notAfter));
  // Each family's HELP and TYPE appear once, even with several targets.
  const two = await runCli([
    'probe',
    `127.0.0.1:${peer.port}`,
    `localhost:${peer.port}`,
    '-4',
    '--ca-file',
    TLS.ca,
    '--format',
    'prometheus',
  ]);
  assert.equal(two.stdout.match(/^# TYPE smtpkit_probe_success gauge$/gm)?.length, 1);
  assert.equal(samples(two.stdout).filter((l) => l.startsWith('smtpkit_probe_success{')).length, 2);
});

test('exporter /probe: a module’s settings apply (expected banner, tls-verify), bad requests are 400, /metrics counts', async () => {
  const ok = await get(`${exporter!.url}/probe?target=127.0.0.1:${peer.port}&module=smtp`);
  assert.equal(ok.status, 200, ok.body);
  assert.match(ok.type, /^text\/plain; version=0\.0\.4/);
  assert.equal(value(ok.body, 'smtpkit_probe_success'), '1', ok.body);
  assert.equal(value(ok.body, 'smtpkit_probe_check{check="greeting",status="pass"}'), '1');
  const banner = await get(`${exporter!.url}/probe?target=127.0.0.1:${peer.port}&module=banner`);
  assert.equal(value(banner.body, 'smtpkit_probe_success'), '0');
  assert.equal(value(banner.body, 'smtpkit_probe_check{check="greeting",status="fail"}'), '1');
  assert.equal((await get(`${exporter!.url}/probe`)).status, 400);
  const unknown = await get(`${exporter!.url}/probe?target=127.0.0.1:${peer.port}&module=constructor`);
  assert.equal(unknown.status, 400);
  assert.match(unknown.body, /unknown module "constructor" \(configured: smtp, banner\)/);
  assert.equal((await get(`${exporter!.url}/probe?target=${encodeURIComponent('a\r\nb:25')}`)).status, 400);
  const self = await get(`${exporter!.url}/metrics`);
  assert.equal(value(self.body, 'smtpkit_exporter_probes_total{result="success"}'), '1');
  assert.equal(value(self.body, 'smtpkit_exporter_probes_total{result="failure"}'), '1');
  assert.equal(value(self.body, 'smtpkit_exporter_bad_requests_total'), '3');
  assert.ok(Number(value(self.body, 'process_resident_memory_bytes')) > 0);
});

test('exporter: its young generation stays small however many probes run (V8 doubled it up to 16 MiB, resident for good)', async () => {
  const many = await startExporter(['--config', join(dir, 'modules.json'), '--max-concurrent', '10']);
  try {
    // 300 probes, 10 at a time: enough survivors of scavenges that V8 would grow the space.
    for (let round = 0; round < 30; round++) {
      const batch = await Promise.all(
        Array.from({ length: 10 }, () => get(`${many.url}/probe?target=127.0.0.1:${peer.port}&module=smtp`)),
      );
      for (const r of batch) assert.equal(value(r.body, 'smtpkit_probe_success'), '1', r.body);
    }
    const self = await get(`${many.url}/metrics`);
    const size = Number(value(self.body, 'nodejs_heap_space_size_total_bytes{space="new_space"}'));
    // 2 MiB on Node 20 and 22; Node 24's V8 once reached 4 MiB in a CI run even with the growth
    // factor at 1 (it starts at 1 MiB and has growth steps besides the factor). The defect this
    // guards against is the doubling to 16 MiB.
    assert.ok(size > 0 && size <= 4 * 1048576, `new space ${size} bytes after 300 probes`);
  } finally {
    await stopExporter(many);
  }
});

test('exporter: an idle exporter holds none of the probe code (TLS, crypto, the checks); the first probe loads it', async () => {
  // Loaded at start, it was ~1 MiB of an idle exporter's resident memory that no scrape had asked for.
  const loaded = async (probes: number) => {
    const record = join(dir, `loads-${probes}`);
    const e = await startExporter(['--config', join(dir, 'modules.json')], {
      NODE_OPTIONS: `--import ${ROOT}dist/test/helpers/record-loads.js`,
      SMTPKIT_RECORD_LOADS: record,
    });
    try {
      for (let i = 0; i < probes; i++) {
        const r = await get(`${e.url}/probe?target=127.0.0.1:${peer.port}&module=smtp`);
        assert.equal(value(r.body, 'smtpkit_probe_success'), '1', r.body);
      }
    } finally {
      await stopExporter(e);
    }
    return readFileSync(record, 'utf8').split('\n');
  };
  const heavy = (list: string[]) => ['node:tls', 'node:crypto'].filter((m) => list.includes(m));
  assert.deepEqual(heavy(await loaded(0)), []);
  assert.deepEqual(heavy(await loaded(1)), ['node:tls', 'node:crypto']);
});

// V8 13 (Node 24) still optimizes with TurboFan when --max-opt is set at run time (measured: 3 MiB less, not 9).
const v8Major = Number(process.versions.v8.split('.')[0]);
test(
  'exporter: probes run without V8 optimizing their code (TurboFan cost more CPU than it saved, and ~9 MiB resident)',
  { skip: v8Major >= 13 && 'V8 13 ignores --max-opt set at run time' },
  async () => {
    const child = spawn(
      process.execPath,
      ['--trace-opt', BIN, 'exporter', '--listen', '127.0.0.1:0', '--config', join(dir, 'modules.json')],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', HOME: dir } },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const gone = new Promise((resolve) => child.once('exit', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`exporter did not start: ${out}`)), 10_000);
        child.stdout.on('data', () => {
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      const listening = out.length;
      // Enough for TurboFan to take the probe's hottest functions (it did within 100 probes).
      for (let round = 0; round < 20; round++) {
        const batch = await Promise.all(
          Array.from({ length: 10 }, () => get(`${url}/probe?target=127.0.0.1:${peer.port}&module=smtp`)),
        );
        for (const r of batch) assert.equal(value(r.body, 'smtpkit_probe_success'), '1', r.body);
      }
      const optimized = out.slice(listening).match(/^.*for optimization to (TURBOFAN|MAGLEV).*$/gm) ?? [];
      assert.deepEqual(optimized, []);
    } finally {
      child.kill('SIGTERM');
      await gone;
    }
  },
);

test('exporter: the scrape timeout bounds the probe, and --max-concurrent 1 keeps one probe at a time', async () => {
  // --timeout is 60s: only the header can end these probes of a server that never greets
  // within the 20 s the client waits.
  const scrapes = await Promise.all(
    [0, 1, 2].map(() =>
      get(`${exporter!.url}/probe?target=127.0.0.1:${silent.port}`, { 'X-Prometheus-Scrape-Timeout-Seconds': '1.5' }),
    ),
  );
  for (const s of scrapes) assert.ok(s.status === 200 || s.status === 503, `${s.status} ${s.body}`);
  const answered = scrapes.filter((s) => s.status === 200);
  assert.ok(answered.length >= 1);
  for (const s of answered) {
    assert.equal(value(s.body, 'smtpkit_probe_success'), '0');
    assert.equal(value(s.body, 'smtpkit_probe_exit_code'), '4', 'no greeting within the scrape timeout');
  }
  assert.equal(silentMax, 1, 'never more than one probe connection at a time');
});

test('exporter: a scrape timeout too long for a timer (3,000,000 s) waits for its slot; it is never a 503 after 1 ms', async () => {
  // The one slot is held by a probe of the silent server for about 2 s; the second scrape queues behind it.
  const holder = get(`${exporter!.url}/probe?target=127.0.0.1:${silent.port}`, {
    'X-Prometheus-Scrape-Timeout-Seconds': '2.5',
  });
  for (
    let i = 0;
    i < 100 && value((await get(`${exporter!.url}/metrics`)).body, 'smtpkit_exporter_probes_in_flight') !== '1';
    i++
  )
    await new Promise((r) => setTimeout(r, 20));
  const started = Date.now();
  const waiter = await get(`${exporter!.url}/probe?target=127.0.0.1:${peer.port}&module=smtp`, {
    'X-Prometheus-Scrape-Timeout-Seconds': '3000000',
  });
  const waited = Date.now() - started;
  assert.equal((await holder).status, 200);
  assert.equal(waiter.status, 200, waiter.body);
  assert.equal(value(waiter.body, 'smtpkit_probe_success'), '1', waiter.body);
  assert.ok(waited >= 1000, `it waited for the slot (${waited} ms)`);
  assert.doesNotMatch(exporter!.stderr(), /TimeoutOverflowWarning/);
});

test('exporter: a client trickling its request headers is cut at the header timeout (10 s), not at Node’s 30 s check', async () => {
  const started = Date.now();
  const client = await slowloris(
    Number(new URL(exporter!.url).port),
    `GET /metrics HTTP/1.1\r\nHost: exporter\r\nX-Slow: ${'a'.repeat(400)}`,
    100,
  );
  try {
    const cut = await Promise.race([
      client.closed.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 15_000)),
    ]);
    const ms = Date.now() - started;
    assert.ok(cut, `still connected after ${ms} ms`);
    assert.ok(ms >= 9_500 && ms <= 12_000, `cut after ${ms} ms`);
    assert.match(client.text(), /^HTTP\/1\.1 408 /);
  } finally {
    client.destroy();
  }
});

test('exporter: a module with credentials logs in only to the targets it lists; any other target is a 403 and no connection', async () => {
  // A recording server: it counts connections and refuses each at once.
  const recorder = await rawServer((s) => s.end('554 5.3.2 recorder.test takes no mail\r\n'));
  const config = join(dir, 'auth.json');
  const submission = {
    role: 'smtp',
    auth: { user: 'monitor@example.com', passwordEnv: 'MONITOR_PW' },
    targets: ['mail.example.com:587', '*.example.com:587', `localhost:${recorder.port}`],
  };
  writeFileSync(config, JSON.stringify({ modules: { submission } }));
  const guarded = await startExporter(['--config', config], { MONITOR_PW: 'monitor-Secret-1' });
  try {
    for (const target of [
      `127.0.0.1:${recorder.port}`,
      `evil.test:${recorder.port}`,
      `example.com:587`,
      `mail.example.com:25`,
      `mail.example.com.evil.test:587`,
    ]) {
      const r = await get(`${guarded.url}/probe?target=${encodeURIComponent(target)}&module=submission`, {}, 5000);
      assert.equal(r.status, 403, `${target}: ${r.body}`);
      assert.match(
        r.body,
        /^module "submission" may not be used with .*: its "targets" are mail\.example\.com:587, \*\.example\.com:587, localhost:\d+\n$/,
      );
    }
    assert.deepEqual(recorder.received, [], 'no connection to a target outside the list');
    const allowed = await get(`${guarded.url}/probe?target=localhost:${recorder.port}&module=submission`, {}, 5000);
    assert.equal(allowed.status, 200, allowed.body);
    assert.equal(recorder.received.length, 1, 'a listed target is probed');
    assert.equal(value((await get(`${guarded.url}/metrics`)).body, 'smtpkit_exporter_bad_requests_total'), '5');
  } finally {
    guarded.child.kill('SIGTERM');
    await recorder.close();
  }
});

test('exporter: a module with "auth" and no "targets" is refused at start-up, saying why (exit 2)', async () => {
  const config = join(dir, 'open-auth.json');
  writeFileSync(
    config,
    JSON.stringify({
      modules: { submission: { role: 'submission', auth: { user: 'monitor@example.com', passwordEnv: 'MONITOR_PW' } } },
    }),
  );
  const r = await runCli(['exporter', '--listen', '127.0.0.1:0', '--config', config], { env: { MONITOR_PW: 'x' } });
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    /module "submission" logs in \("auth"\) but lists no "targets": a scrape could name any server and be sent the password/,
  );
  for (const [targets, why] of [
    [[], /non-empty list/],
    [['smtp://mail.example.com'], /without a scheme/],
    [['*.127.0.0.1:25'], /not an address/],
    [['bad host:25'], /not a host name/],
  ] as const) {
    writeFileSync(config, JSON.stringify({ modules: { submission: { role: 'submission', targets } } }));
    const bad = await runCli(['exporter', '--listen', '127.0.0.1:0', '--config', config]);
    assert.equal(bad.code, 2, JSON.stringify(targets));
    assert.match(bad.stderr, why);
  }
});

test('allowsTarget: names match without case or a final dot, a wildcard covers names under the domain only, ports must match', async () => {
  const { allowsTarget } = await import('../src/exporter/modules.js');
  const m = { role: 'submission' as const, targets: ['mail.example.com', '*.example.com:2525', '[::1]:587'] };
  assert.equal(allowsTarget(m, 'MAIL.Example.com.', 587), true, 'the role’s port when the entry has none');
  assert.equal(allowsTarget(m, 'mail.example.com', 25), false);
  assert.equal(allowsTarget(m, 'a.b.example.com', 2525), true);
  assert.equal(allowsTarget(m, 'example.com', 2525), false);
  assert.equal(allowsTarget(m, 'evilexample.com', 2525), false);
  assert.equal(allowsTarget(m, '::1', 587), true);
  assert.equal(
    allowsTarget({ role: 'smtp' }, 'anything.test', 25),
    true,
    'a module without a list (and without auth) is not limited',
  );
});

test('probe --timeout bounds the whole probe even when a phase may wait longer (the exporter relies on it)', async () => {
  // Before the fix, closing the session left the greeting wait to run its own 60 s.
  const r = await runCli(['probe', `127.0.0.1:${silent.port}`, '--timeout', '1s', '--greeting-timeout', '60s', '-q'], {
    limitMs: 15_000,
  });
  assert.equal(r.code, 4);
  assert.match(
    r.stderr,
    /^FAILED \(exit 4, connect\): .*the probe did not finish within 1s \(--timeout\): no greeting/,
  );
});

test('exporter: stopped (SIGTERM) the moment it says it listens, it stops cleanly: exit 0, not killed by the signal', async () => {
  // It listened for the signals only after writing the line: a supervisor quick to stop it
  // found Node's default action (death by SIGTERM), and nothing was closed or saved.
  for (let i = 0; i < 5; i++) {
    const e = await startExporter([]);
    await stopExporter(e);
    assert.deepEqual([e.child.exitCode, e.child.signalCode], [0, null], e.stderr());
  }
});

test('exporter: bad settings are usage errors (exit 2)', async () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ modules: { x: { role: 'smtp', password: 'no' } } }));
  const r = await runCli(['exporter', '--listen', '127.0.0.1:0', '--config', bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /module "x": unknown setting "password"/);
  const remote = await runCli(['exporter', '--listen', '0.0.0.0:0']);
  assert.equal(remote.code, 2);
  assert.match(remote.stderr, /--allow-remote/);
});

// A real Prometheus scraping the exporter with the README's scrape config, asked over its API.
const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;
if (process.env.CI && !hasPrometheus) throw new Error('CI must run the Prometheus test: .ci/run installs prometheus');

const readmeBlock = (marker: string) => {
  const blocks = [...readFileSync(`${ROOT}README.md`, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const block = blocks.find((b) => b.includes(marker));
  assert.ok(block, `README has a yaml block with ${marker}`);
  return block;
};

test(
  'Prometheus scrapes the exporter with the README’s config: smtpkit_probe_success is 1 for the target; the alert rules load',
  { skip: hasPrometheus ? false : 'prometheus is not installed' },
  async () => {
    const rules = join(dir, 'rules.yml');
    writeFileSync(rules, readmeBlock('SmtpCertificateExpiresSoon'));
    const check = spawnSync('promtool', ['check', 'rules', rules], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);

    // The documented config, pointed at this test's exporter and server; scraped every second.
    const exporterAddress = new URL(exporter!.url).host;
    const target = `127.0.0.1:${peer.port}`;
    const scrape = readmeBlock('job_name: smtpkit')
      .replace("['mail.example.com:25', 'mx2.example.com:25']", `['${target}']`)
      .replace('127.0.0.1:9125', exporterAddress);
    assert.ok(scrape.includes(target) && scrape.includes(exporterAddress));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nrule_files: ['${rules}']\n${scrape}`);
    const port = await freePort();
    const prom = spawn(
      'prometheus',
      [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    prom.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    try {
      let result: { metric: Record<string, string>; value: [number, string] }[] = [];
      for (let i = 0; i < 60 && !result.length; i++) {
        await new Promise((r) => setTimeout(r, 500));
        try {
          const r = await get(`http://127.0.0.1:${port}/api/v1/query?query=smtpkit_probe_success`, {}, 2000);
          if (r.status === 200) result = JSON.parse(r.body).data.result;
        } catch {
          // not up yet
        }
      }
      assert.equal(result.length, 1, `no smtpkit_probe_success in Prometheus after 30 s; its log:\n${log}`);
      assert.equal(result[0]!.metric.instance, target);
      assert.equal(result[0]!.metric.job, 'smtpkit');
      assert.equal(result[0]!.value[1], '1');
    } finally {
      prom.kill('SIGTERM');
      await new Promise((r) => prom.once('exit', r));
    }
  },
);
