/**
 * Bench part `exporter` (issue #30): `smtpkit exporter` against Prometheus' blackbox_exporter,
 * both probing the same SMTP server on loopback with a module that greets, says EHLO, starts
 * TLS and says EHLO again. CPU per probe comes from /proc/PID/stat of each exporter between
 * scrapes (its own user + system time, nothing of the client's); idle RSS after start and after
 * the probes; peak RSS (VmHWM) under 10 concurrent probes. Node's own floor is measured beside:
 * `node -e` holding an idle HTTP server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT } from '../helpers/paths.js';

const TICK_MS = 1000 / 100; // USER_HZ, 100 on Linux
const BARE = join(ROOT, 'test/bench/bare-exporter.cjs');
const PROBES_PER_ROUND = Number(process.env.BENCH_EXPORTER_PROBES ?? 100);

export interface ExporterBenchResult {
  cpuOurs: number[];
  cpuTheirs: number[];
  idleOurs: number[];
  idleTheirs: number[];
  afterOurs: number[];
  afterTheirs: number[];
  peakOurs: number[];
  peakTheirs: number[];
  nodeFloor: number[];
  /** test/bench/bare-exporter.cjs: the same probe in a few lines of Node, nothing else. */
  cpuBare: number[];
  afterBare: number[];
  peakBare: number[];
}

const BLACKBOX = ['prometheus-blackbox-exporter', 'blackbox_exporter'];

/** The peer's binary, installed with apt as the bench does swaks. */
export function blackboxBinary(): string {
  const found = () => BLACKBOX.find((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0);
  let bin = found();
  if (!bin) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'prometheus-blackbox-exporter'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    bin = found();
  }
  if (!bin) throw new Error('could not install prometheus-blackbox-exporter');
  return bin;
}

const cpuMs = (pid: number) => {
  // Fields after the command name (which may hold spaces): utime is the 14th, stime the 15th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
};
const status = (pid: number, key: 'VmRSS' | 'VmHWM') =>
  Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

interface Running {
  child: ChildProcess;
  url: string;
}

async function startProcess(cmd: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv): Promise<Running> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start: ${out}`)), 15_000);
    const seen = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.on('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${out}`)));
  });
  return { child, url };
}

async function stop(r: Running) {
  if (r.child.exitCode !== null) return;
  const gone = new Promise((resolve) => r.child.once('exit', resolve));
  r.child.kill('SIGTERM');
  await gone;
}

async function scrape(url: string, expect: RegExp) {
  const res = await fetch(url, { headers: { 'x-prometheus-scrape-timeout-seconds': '10' } });
  const body = await res.text();
  if (res.status !== 200 || !expect.test(body)) throw new Error(`${url}: ${res.status} ${body.slice(0, 300)}`);
}

const settle = () => new Promise((r) => setTimeout(r, 1000));

/**
 * One round of one side: a fresh exporter, its idle RSS, CPU of PROBES_PER_ROUND probes one
 * after another, its RSS after them, then the peak under 10 concurrent probes, 5 times over.
 */
async function round(start: () => Promise<Running>, probeUrl: string, ok: RegExp) {
  const r = await start();
  try {
    const pid = r.child.pid!;
    await settle();
    const idle = status(pid, 'VmRSS');
    await scrape(r.url + probeUrl, ok); // the first probe loads what probing needs
    const before = cpuMs(pid);
    for (let i = 0; i < PROBES_PER_ROUND; i++) await scrape(r.url + probeUrl, ok);
    const cpu = (cpuMs(pid) - before) / PROBES_PER_ROUND;
    await settle();
    const after = status(pid, 'VmRSS');
    for (let i = 0; i < 5; i++) await Promise.all(Array.from({ length: 10 }, () => scrape(r.url + probeUrl, ok)));
    return { idle, cpu, after, peak: status(pid, 'VmHWM') };
  } finally {
    await stop(r);
  }
}

/** Node's own floor: an idle HTTP server in `node -e`, as the exporter is one. */
async function nodeFloor(env: NodeJS.ProcessEnv): Promise<number> {
  const r = await startProcess(
    process.execPath,
    [
      '-e',
      "const s=require('node:http').createServer().listen(0,'127.0.0.1',()=>console.log('listening on http://127.0.0.1:'+s.address().port))",
    ],
    /listening on (http:\S+)/,
    env,
  );
  try {
    await settle();
    return status(r.child.pid!, 'VmRSS');
  } finally {
    await stop(r);
  }
}

export async function exporterBench(
  target: string,
  ca: string,
  runs: number,
  env: NodeJS.ProcessEnv,
  freePort: () => Promise<number>,
): Promise<ExporterBenchResult> {
  const bin = blackboxBinary();
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-bench-exporter-'));
  // The same work on both sides: greeting, EHLO, STARTTLS, TLS handshake verified against the
  // bed's CA, EHLO, QUIT.
  writeFileSync(
    join(dir, 'blackbox.yml'),
    [
      'modules:',
      '  smtp_starttls:',
      '    prober: tcp',
      '    timeout: 10s',
      '    tcp:',
      '      tls_config:',
      `        ca_file: ${ca}`,
      '      query_response:',
      '        - expect: "^220 "',
      '        - send: "EHLO bench.test\\r"',
      '        - expect: "^250-STARTTLS"',
      '        - expect: "^250 "',
      '        - send: "STARTTLS\\r"',
      '        - expect: "^220 "',
      '        - starttls: true',
      '        - send: "EHLO bench.test\\r"',
      '        - expect: "^250 "',
      '        - send: "QUIT\\r"',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'smtpkit.json'),
    JSON.stringify({ modules: { smtp_starttls: { role: 'smtp', caFile: ca, tlsVerify: true } } }),
  );
  const ours = async () => {
    const port = await freePort();
    return startProcess(
      process.execPath,
      [BIN, 'exporter', '--listen', `127.0.0.1:${port}`, '--config', join(dir, 'smtpkit.json')],
      /listening on (http:\S+)/,
      env,
    );
  };
  const theirs = async () => {
    const port = await freePort();
    const r = await startProcess(
      bin,
      [`--config.file=${join(dir, 'blackbox.yml')}`, `--web.listen-address=127.0.0.1:${port}`],
      /(Listening on)/,
      env,
    );
    return { child: r.child, url: `http://127.0.0.1:${port}` };
  };
  const q = `/probe?target=${encodeURIComponent(target)}&module=smtp_starttls`;
  const out: ExporterBenchResult = {
    cpuOurs: [],
    cpuTheirs: [],
    idleOurs: [],
    idleTheirs: [],
    afterOurs: [],
    afterTheirs: [],
    peakOurs: [],
    peakTheirs: [],
    nodeFloor: [],
    cpuBare: [],
    afterBare: [],
    peakBare: [],
  };
  const bare = async () => {
    const port = await freePort();
    return startProcess(process.execPath, [BARE, String(port), ca], /listening on (http:\S+)/, env);
  };
  try {
    for (let i = 0; i < runs; i++) {
      // Alternate who goes first, so neither side always follows the other's noise.
      const a = i % 2 ? null : await round(ours, q, /^smtpkit_probe_success 1$/m);
      const b = await round(theirs, q, /^probe_success 1$/m);
      const c = a ?? (await round(ours, q, /^smtpkit_probe_success 1$/m));
      out.cpuOurs.push(c.cpu);
      out.cpuTheirs.push(b.cpu);
      out.idleOurs.push(c.idle);
      out.idleTheirs.push(b.idle);
      out.afterOurs.push(c.after);
      out.afterTheirs.push(b.after);
      out.peakOurs.push(c.peak);
      out.peakTheirs.push(b.peak);
      out.nodeFloor.push(await nodeFloor(env));
      const n = await round(bare, q, /^probe_success 1$/m);
      out.cpuBare.push(n.cpu);
      out.afterBare.push(n.after);
      out.peakBare.push(n.peak);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
