/**
 * `npm run bench`: smtpkit against the tools people use today, measured in one run, as
 * ratios. Not part of the tests: figures vary with the machine; the ratios are what count.
 *
 *   1. cold start: `smtpkit --version` against `node -e 0`             target ≤ 1.3×
 *   2. STARTTLS + AUTH PLAIN + send to Postfix: smtpkit against swaks   target ≤ 1.0×
 *   3. load into Postfix's smtp-sink: smtpkit against smtp-source        target ≥ 0.7×
 *   4. a 50 MB attachment: smtpkit's peak RSS                            target < 150 MB
 *   5. smtp-source into smtpkit sink against into smtp-sink              target ≥ 0.5×
 *   6. full TLS scan of Postfix (versions and suites): against sslscan  target ≤ 3.0×
 *
 * BENCH_ONLY=scan (a comma list of: start, send, load, rss, sink, scan) runs only those.
 *
 * It installs what it needs (apt: postfix, dovecot-core, swaks) through
 * test/interop/postfix.sh, uses free loopback ports, and takes the median of several runs,
 * printing min and max as the machine's noise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BIN, ROOT } from '../helpers/paths.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const LOAD = { messages: Number(process.env.BENCH_MESSAGES ?? 5000), sessions: 20, size: 1000 };

interface Figure {
  median: number;
  min: number;
  max: number;
}

const stats = (values: number[]): Figure => {
  const s = [...values].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s.at(-1)! };
};
const fmt = (f: Figure, unit: string, digits = 1) => `${f.median.toFixed(digits)} ${unit} (${f.min.toFixed(digits)}–${f.max.toFixed(digits)})`;

function time(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8', timeout: 120_000 });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stdout}${r.stderr}`);
  return ms;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitPort(port: number) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => (c.destroy(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

function ensurePeers() {
  // A Postfix that is already up may be shared with others' test runs: use it, never restart it
  // (postfix.sh start stops first, and the new instance gets new ports).
  const up = existsSync('/tmp/smtpkit-interop/env.json') && spawnSync('postfix', ['-c', '/tmp/smtpkit-interop/conf', 'status'], { stdio: 'ignore' }).status === 0;
  const start = up ? { status: 0 } : spawnSync('bash', [join(ROOT, 'test/interop/postfix.sh'), 'start'], { stdio: 'inherit' });
  if (start.status !== 0) throw new Error('could not start Postfix (test/interop/postfix.sh start)');
  const needs = ['swaks', 'libnet-ssleay-perl', 'sslscan'].filter((p) => spawnSync('dpkg', ['-s', p], { stdio: 'ignore' }).status !== 0);
  if (needs.length) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...needs], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) throw new Error(`could not install ${needs.join(' ')}`);
  }
  return JSON.parse(readFileSync('/tmp/smtpkit-interop/env.json', 'utf8')) as { smtp: number; submission: number; user: string; password: string; ca: string };
}

/** smtp-source's figure: messages / wall time of the whole run. */
function smtpSource(port: number): number {
  const t = performance.now();
  const r = spawnSync('/usr/sbin/smtp-source', ['-s', String(LOAD.sessions), '-m', String(LOAD.messages), '-l', String(LOAD.size), '-f', 'a@client.test', '-t', 'b@example.test', `127.0.0.1:${port}`], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`smtp-source failed: ${r.stderr}`);
  return LOAD.messages / ((performance.now() - t) / 1000);
}

async function startSmtpSink(): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('/usr/sbin/smtp-sink', ['-u', 'nobody', '-h', 'sink.test', '-m', '512', `127.0.0.1:${port}`, '1024'], { stdio: 'ignore' });
  await waitPort(port);
  return { port, child };
}

async function startOurSink(extra: string[] = []): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [BIN, 'sink', '--port', '0', '-q', '--json', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', () => reject(new Error(`sink exited: ${err}`)));
  });
  return { port, child };
}

/** Peak RSS of a child, polled from /proc (VmHWM only grows). */
async function peakRss(cmd: string, args: string[]): Promise<number> {
  const child = spawn(cmd, args, { stdio: 'ignore', env: { ...process.env, NO_COLOR: '1' } });
  let peak = 0;
  const poll = setInterval(() => {
    try {
      peak = Math.max(peak, Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024);
    } catch {
      // gone
    }
  }, 10);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(poll);
  if (code !== 0) throw new Error(`${args.join(' ')} failed (${code})`);
  return peak;
}

async function main() {
  const env = ensurePeers();
  const rows: string[][] = [];
  const only = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',') : undefined;
  const wants = (name: string) => !only || only.includes(name);
  const row = (what: string, ours: string, theirs: string, ratio: number, target: string, met: boolean) => rows.push([what, ours, theirs, `${ratio.toFixed(2)}×`, target, met ? 'met' : 'MISSED']);

  if (wants('start')) {
  // 1. Cold start.
  const node: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < RUNS + 4; i++) {
    node.push(time(process.execPath, ['-e', '0']));
    ours.push(time(process.execPath, [BIN, '--version']));
  }
  const n1 = stats(node.slice(2));
  const o1 = stats(ours.slice(2));
  row('cold start (--version vs node -e 0)', fmt(o1, 'ms'), fmt(n1, 'ms'), o1.median / n1.median, '≤ 1.3×', o1.median / n1.median <= 1.3);

  }
  if (wants('send')) {
  // 2. STARTTLS + AUTH PLAIN + send against Postfix's submission port.
  const server = `127.0.0.1:${env.submission}`;
  const kit: number[] = [];
  const swaks: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    kit.push(time(process.execPath, [BIN, 'send', server, '--ca-file', env.ca, '--user', env.user, '--mech', 'PLAIN', '--from', 'bench@client.test', '--to', env.user, '-q'], { SMTPKIT_PASSWORD: env.password }));
    swaks.push(time('swaks', ['--server', server, '--tls', '--auth', 'PLAIN', '--auth-user', env.user, '--auth-password', env.password, '--from', 'bench@client.test', '--to', env.user, '--silent', '2']));
  }
  const k2 = stats(kit.slice(1));
  const s2 = stats(swaks.slice(1));
  row('STARTTLS+AUTH+send (smtpkit vs swaks)', fmt(k2, 'ms'), fmt(s2, 'ms'), k2.median / s2.median, '≤ 1.0×', k2.median / s2.median <= 1.0);

  }
  if (wants('load')) {
  // 3. Load into smtp-sink: smtpkit's load mode against smtp-source, same count, sessions, size.
  const sink = await startSmtpSink();
  const body = 'x'.repeat(LOAD.size - 300);
  const kitRate: number[] = [];
  const srcRate: number[] = [];
  try {
    for (let i = 0; i < Math.max(5, Math.ceil(RUNS / 2)); i++) {
      srcRate.push(smtpSource(sink.port));
      const r = spawnSync(process.execPath, [BIN, 'send', `127.0.0.1:${sink.port}`, '--from', 'a@client.test', '--to', 'b@example.test', '--body', body, '--count', String(LOAD.messages), '--concurrency', String(LOAD.sessions), '--json'], { encoding: 'utf8', timeout: 300_000 });
      const doc = JSON.parse(r.stdout);
      kitRate.push(doc.result.messagesPerSecond);
    }
  } finally {
    sink.child.kill();
  }
  const k3 = stats(kitRate);
  const s3 = stats(srcRate);
  row(`load, ${LOAD.messages} msgs / ${LOAD.sessions} sessions (smtpkit vs smtp-source)`, fmt(k3, 'msg/s', 0), fmt(s3, 'msg/s', 0), k3.median / s3.median, '≥ 0.7×', k3.median / s3.median >= 0.7);

  }
  if (wants('rss')) {
  // 4. A 50 MB attachment: peak RSS.
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-bench-'));
  const big = join(dir, 'big.bin');
  const fd = openSync(big, 'w');
  const mb = Buffer.alloc(1024 * 1024, 0x42);
  for (let i = 0; i < 50; i++) writeSync(fd, mb);
  closeSync(fd);
  const bigSink = await startOurSink(['--max-size', String(200 * 1024 * 1024)]);
  const rss: number[] = [];
  try {
    for (let i = 0; i < 5; i++) rss.push((await peakRss(process.execPath, [BIN, 'send', `127.0.0.1:${bigSink.port}`, '--from', 'a@client.test', '--to', 'b@example.test', '--attach', big, '-q'])) / 1048576);
  } finally {
    bigSink.child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  const r4 = stats(rss);
  rows.push(['50 MB attachment, peak RSS', fmt(r4, 'MiB'), '-', `${(r4.median / 150).toFixed(2)}× of limit`, '< 150 MiB', r4.median < 150 ? 'met' : 'MISSED']);

  }
  if (wants('sink')) {
  // 5. smtp-source into smtpkit sink against into smtp-sink.
  const ourRate: number[] = [];
  const theirRate: number[] = [];
  for (let i = 0; i < Math.max(5, Math.ceil(RUNS / 2)); i++) {
    const a = await startSmtpSink();
    try {
      theirRate.push(smtpSource(a.port));
    } finally {
      a.child.kill();
    }
    const b = await startOurSink();
    try {
      ourRate.push(smtpSource(b.port));
    } finally {
      b.child.kill();
    }
  }
  const o5 = stats(ourRate);
  const t5 = stats(theirRate);
  row('sink under smtp-source (smtpkit sink vs smtp-sink)', fmt(o5, 'msg/s', 0), fmt(t5, 'msg/s', 0), o5.median / t5.median, '≥ 0.5×', o5.median / t5.median >= 0.5);

  }
  if (wants('scan')) {
    // 6. A full TLS scan of Postfix's plain port (STARTTLS), smtpkit against sslscan, alternately.
    const kitScan: number[] = [];
    const sslscan: number[] = [];
    for (let i = 0; i < Math.max(3, Math.ceil(RUNS / 2)); i++) {
      sslscan.push(time('sslscan', ['--no-colour', '--starttls-smtp', `127.0.0.1:${env.smtp}`]));
      kitScan.push(time(process.execPath, [BIN, 'starttls', `127.0.0.1:${env.smtp}`, '--scan', '-q']));
    }
    const k6 = stats(kitScan);
    const s6 = stats(sslscan);
    row('TLS scan of Postfix (smtpkit --scan vs sslscan)', fmt(k6, 'ms', 0), fmt(s6, 'ms', 0), k6.median / s6.median, '≤ 3.0×', k6.median / s6.median <= 3.0);
  }

  const widths = [0, 1, 2, 3, 4, 5].map((i) => Math.max(...[['measure', 'smtpkit (median, min–max)', 'peer', 'ratio', 'target', ''], ...rows].map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`\n${line(['measure', 'smtpkit (median, min–max)', 'peer', 'ratio', 'target', ''])}`);
  for (const r of rows) console.log(line(r));
  console.log(`\n${RUNS} runs each (load: ${Math.max(5, Math.ceil(RUNS / 2))}); node ${process.version}; ${existsSync('/proc/cpuinfo') ? (/model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '') : ''}`);
}

main().catch((err) => {
  console.error(`bench: ${(err as Error).message}`);
  process.exitCode = 1;
});
