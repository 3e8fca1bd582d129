/**
 * `npm run bench`: smtpkit against the tools people use today, measured in one run, as
 * ratios. Not part of the tests: figures vary with the machine; the ratios are what count.
 *
 *   1. `smtpkit --version` against `node -e 0`                                 ≤ 1.2×
 *   2. `smtpkit ehlo` against `swaks --quit-after EHLO`, Postfix                ≤ 1.0×
 *   3. STARTTLS + AUTH PLAIN + one message to Postfix submission, vs swaks      ≤ 1.0×
 *      (and the same with a load run, ehlo, probe and the sink run before each send)
 *   4. load into Postfix's smtp-sink, 5000 messages, 20 connections, one per
 *      connection: messages/s against a bare Node client doing the same       ≥ 0.85×
 *      (and both against `smtp-source -s 20 -m 5000`); with --per-connection 250
 *      against `smtp-source -d` (connections kept for the next message)       ≥ 0.6×
 *   5. a 50 MB attachment: smtpkit's peak RSS                                   < 150 MB
 *   6. smtp-source into `smtpkit sink` against into smtp-sink                   ≥ 0.8×
 *      the sink's peak RSS (VmHWM) meanwhile (issue #30)                      ≤ 50 MiB
 *      beside a bare Node sink's (bare-sink.ts) under the same load: Node's floor
 *   7. probe of 30 targets, 10 of them silent, --timeout 3                      ≤ 8 s
 *   8. full TLS scan of Postfix (versions and suites), against sslscan          ≤ 3.0×
 *   9. the sink's HTTP API (issue #29), 1,000 messages of 100 KB stored:
 *      GET /api/v1/messages?limit=1000                                        < 50 ms
 *      /api/v1/wait answering after the 250 to the end of data                < 10 ms
 *      the sink's peak RSS (VmHWM) with --max-messages 1000                   < 200 MB
 *  10. `smtpkit exporter` against blackbox_exporter (issue #30), same STARTTLS probe of
 *      Postfix: CPU per probe                                                   ≤ 1.5×
 *      idle RSS ≤ 40 MiB, peak RSS under 10 concurrent probes ≤ 70 MiB (Node's floor beside)
 *  11. audit (issue #28): a full audit of a loopback domain with two MX hosts
 *      (127.0.0.1 and ::1, the Postfix bed's plain port)                        < 5 s
 *      600 and 200 domains, --concurrency 20, MX on smtp-sink (no TLS, so no
 *      cipher scans): peak RSS (median of 3) of 600 against 200               ≤ 1.2×
 *
 *  4b. load into the real Postfix bed (relayed to its discard transport), 1 message per
 *      connection, 1000 messages, 20 connections, --starttls never (smtp-source has no
 *      TLS): against smtp-source                                                  ≥ 0.95×
 * BENCH_ONLY=ehlo,scan (a comma list of: start, ehlo, send, load, postfix, rss, sink, probe, scan,
 * sinkapi, exporter, audit) runs only those; sinkapi alone needs no Postfix.
 *
 * Each comparison runs the two sides in pairs, one after the other, and reports the median
 * of the per-pair ratios with their min–max (the machine's noise). It installs what it
 * needs as CI does (Postfix, Dovecot, swaks: test/interop/postfix.sh and apt), reusing a
 * Postfix that is already running from its env.json. NODE_EXTRA_CA_CERTS, which some
 * machines set to the whole CA bundle (about 140 ms on every Node start), is removed for
 * both sides; the start-up ratio with it is printed too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { dnsServer, type Zone } from '../helpers/dns-server.js';
import { BIN, ROOT } from '../helpers/paths.js';
import { exporterBench } from './exporter-bench.js';

const RUNS = Math.max(7, Number(process.env.BENCH_RUNS ?? 9));
const LOAD_RUNS = Math.max(7, Number(process.env.BENCH_LOAD_RUNS ?? 9));
const LOAD = { messages: Number(process.env.BENCH_MESSAGES ?? 5000), sessions: 20, size: 1000 };
/** Postfix queues every message (about a tenth of smtp-sink's rate here): fewer per run. */
const POSTFIX_MESSAGES = Number(process.env.BENCH_POSTFIX_MESSAGES ?? 1000);
const ENV_FILE =
  process.env.SMTPKIT_INTEROP_ENV ?? join(process.env.SMTPKIT_INTEROP_DIR ?? '/tmp/smtpkit-interop', 'env.json');

/** What both sides run with: no NODE_EXTRA_CA_CERTS (see the top), no colour. */
const baseEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
const extraCaCerts = baseEnv.NODE_EXTRA_CA_CERTS;
delete baseEnv.NODE_EXTRA_CA_CERTS;

interface Figure {
  median: number;
  min: number;
  max: number;
}

const stats = (values: number[]): Figure => {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, min: s[0]!, max: s.at(-1)! };
};
const fmt = (f: Figure, unit: string, digits = 0) =>
  `${f.median.toFixed(digits)} ${unit} (${f.min.toFixed(digits)}–${f.max.toFixed(digits)})`;
const fmtRatio = (f: Figure) => `${f.median.toFixed(2)}× (${f.min.toFixed(2)}–${f.max.toFixed(2)})`;

function time(cmd: string, args: string[], env: NodeJS.ProcessEnv = baseEnv, okCodes = [0]): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - t;
  if (!okCodes.includes(r.status ?? -1))
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stdout}${r.stderr}`);
  return ms;
}

/**
 * Runs `ours` and `theirs` alternately `runs` times after one unmeasured run of each (the
 * first run of smtpkit writes its compile cache, as a user's first run does).
 */
function paired(runs: number, ours: () => number, theirs: () => number): { ours: number[]; theirs: number[] } {
  ours();
  theirs();
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Alternate who goes first, so neither side always follows the other's noise.
    if (i % 2) {
      b.push(theirs());
      a.push(ours());
    } else {
      a.push(ours());
      b.push(theirs());
    }
  }
  return { ours: a, theirs: b };
}

/**
 * Runs each side once unmeasured, then `runs` rounds of all sides, the order turning each
 * round; returns each side's figures, index by index from the same round.
 */
function rounds(runs: number, sides: Array<() => number>): number[][] {
  for (const side of sides) side();
  const out: number[][] = sides.map(() => []);
  for (let i = 0; i < runs; i++)
    for (let k = 0; k < sides.length; k++) {
      const j = (i + k) % sides.length;
      out[j]!.push(sides[j]!());
    }
  return out;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => (c.destroy(), resolve(true)));
    c.on('error', () => resolve(false));
  });

async function waitPort(port: number) {
  for (let i = 0; i < 100; i++) {
    if (await answers(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

interface Peers {
  smtp: number;
  submission: number;
  user: string;
  password: string;
  ca: string;
}

/** Postfix (reused when its env.json names live ports, else started as CI does) and swaks. */
async function ensurePeers(): Promise<Peers> {
  let env: Peers | undefined = existsSync(ENV_FILE) ? JSON.parse(readFileSync(ENV_FILE, 'utf8')) : undefined;
  if (!env || !(await answers(env.smtp)) || !(await answers(env.submission))) {
    const start = spawnSync('bash', [join(ROOT, 'test/interop/postfix.sh'), 'start'], { stdio: 'inherit' });
    if (start.status !== 0) throw new Error('could not start Postfix (test/interop/postfix.sh start)');
    env = JSON.parse(readFileSync(ENV_FILE, 'utf8')) as Peers;
  }
  const needs = ['swaks', 'libnet-ssleay-perl', 'sslscan'].filter(
    (p) => spawnSync('dpkg', ['-s', p], { stdio: 'ignore' }).status !== 0,
  );
  if (needs.length) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...needs], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status !== 0) throw new Error(`could not install ${needs.join(' ')}`);
  }
  for (const tool of ['/usr/sbin/smtp-source', '/usr/sbin/smtp-sink'])
    if (!existsSync(tool)) throw new Error(`${tool} is missing (it comes with the postfix package)`);
  return env;
}

/** Where a load run goes: smtp-sink takes anything; the Postfix bed relays discard.test to its discard transport. */
interface LoadTarget {
  port: number;
  messages: number;
  to: string;
}
const intoSink = (port: number): LoadTarget => ({ port, messages: LOAD.messages, to: 'b@example.test' });

/** smtp-source's figure: messages / wall time of the whole run. */
function smtpSource(target: number | LoadTarget, extra: string[] = []): number {
  const t = typeof target === 'number' ? intoSink(target) : target;
  const ms = time('/usr/sbin/smtp-source', [
    '-s',
    String(LOAD.sessions),
    '-m',
    String(t.messages),
    '-l',
    String(LOAD.size),
    '-f',
    'a@client.test',
    '-t',
    t.to,
    ...extra,
    `127.0.0.1:${t.port}`,
  ]);
  return t.messages / (ms / 1000);
}

/** `smtpkit send` to a local port, from and to the addresses every part uses. */
const sendTo = (port: number, to = 'b@example.test') => [
  BIN,
  'send',
  `127.0.0.1:${port}`,
  '--from',
  'a@client.test',
  '--to',
  to,
];

function smtpkitLoad(target: number | LoadTarget, perConnection: number, extra: string[] = []): number {
  const t = typeof target === 'number' ? intoSink(target) : target;
  // The body makes the message about LOAD.size bytes with its headers, as smtp-source's -l.
  const body = 'x'.repeat(LOAD.size - 300);
  const args = [
    ...sendTo(t.port, t.to),
    '--subject',
    'bench',
    '--body',
    body,
    '--count',
    String(t.messages),
    '--concurrency',
    String(LOAD.sessions),
    '--per-connection',
    String(perConnection),
    '--json',
    ...extra,
  ];
  const r = spawnSync(process.execPath, args, { env: baseEnv, encoding: 'utf8', timeout: 300_000 });
  const doc = JSON.parse(r.stdout || '{}');
  if (r.status !== 0 || doc.result?.accepted !== t.messages)
    throw new Error(`smtpkit load mode failed (${r.status}): ${r.stderr}${JSON.stringify(doc.result?.errors ?? doc)}`);
  return doc.result.messagesPerSecond;
}

function bareClient(port: number): number {
  const r = spawnSync(
    process.execPath,
    [
      fileURLToPath(new URL('bare-client.js', import.meta.url)),
      String(port),
      String(LOAD.messages),
      String(LOAD.sessions),
      String(LOAD.size),
    ],
    { env: baseEnv, encoding: 'utf8', timeout: 300_000 },
  );
  if (r.status !== 0) throw new Error(`the bare client failed (${r.status}): ${r.stderr}`);
  return Number(r.stdout);
}

async function startSmtpSink(): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    '/usr/sbin/smtp-sink',
    ['-u', 'nobody', '-h', 'sink.test', '-m', '512', `127.0.0.1:${port}`, '1024'],
    { stdio: 'ignore' },
  );
  await waitPort(port);
  return { port, child };
}

async function startOurSink(extra: string[] = []): Promise<{ port: number; child: ChildProcess }> {
  return startListening([BIN, 'sink', '--port', '0', '-q', '--json', ...extra]);
}

/** Node's own floor for the sink (issue #30): a bare Node SMTP server that keeps nothing. */
const startBareSink = () => startListening([fileURLToPath(new URL('bare-sink.js', import.meta.url))]);

/** A Node server that says "listening on 127.0.0.1:PORT" on stderr once it listens. */
async function startListening(args: string[]): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: baseEnv,
  });
  const port = await new Promise<number>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', () => reject(new Error(`${args.join(' ')} exited: ${err}`)));
  });
  return { port, child };
}

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) =>
    child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill()),
  );

/** Peak RSS of a child, from /proc (VmHWM only grows). */
async function peakRss(cmd: string, args: string[], okCodes = [0]): Promise<number> {
  const child = spawn(cmd, args, { stdio: 'ignore', env: baseEnv });
  let peak = 0;
  const poll = setInterval(() => {
    try {
      peak = Math.max(
        peak,
        Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024,
      );
    } catch {
      // gone
    }
  }, 10);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(poll);
  if (!okCodes.includes(code ?? -1)) throw new Error(`${args.join(' ')} failed (${code})`);
  return peak;
}

/** Wall time of a child run without blocking this process (its servers must keep answering). */
async function timeAsync(cmd: string, args: string[]): Promise<{ ms: number; code: number | null; out: string }> {
  const t = performance.now();
  const child = spawn(cmd, args, { env: baseEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { ms: performance.now() - t, code, out };
}

/** `smtpkit sink --http 127.0.0.1:0 ...`: its SMTP and HTTP ports, read from its first lines. */
async function startSinkApi(extra: string[]): Promise<{ port: number; http: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [BIN, 'sink', '--port', '0', '-q', '--http', '127.0.0.1:0', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: baseEnv,
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the sink did not start: ${out}`)), 10_000);
    const look = () => {
      const smtp = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      const http = /HTTP API on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (smtp && http) {
        clearTimeout(timer);
        resolve({ port: Number(smtp[1]), http: Number(http[1]), child });
      }
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', (d) => ((out += d), look()));
    child.on('exit', () => reject(new Error(`sink exited: ${out}`)));
  });
}

/**
 * A bare SMTP client on one connection (EHLO once, then MAIL, RCPT, DATA per message), so
 * the time of the server's 250 to the end of data is seen here, without a child's start-up.
 */
async function smtpConnection(port: number) {
  const sock = net.connect(port, '127.0.0.1');
  let buf = '';
  let waiting: ((reply: { code: number; at: number }) => void) | undefined;
  const replies: Array<{ code: number; at: number }> = [];
  sock.on('data', (d) => {
    const at = performance.now();
    buf += d.toString('latin1');
    let m: RegExpExecArray | null;
    // A reply ends at its last line: three digits and a space.
    while ((m = /^(\d{3}) [^\n]*\n/m.exec(buf))) {
      buf = buf.slice(m.index + m[0].length);
      const r = { code: Number(m[1]), at };
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w(r);
      } else replies.push(r);
    }
  });
  const next = () =>
    new Promise<{ code: number; at: number }>((resolve, reject) => {
      const r = replies.shift();
      if (r) return resolve(r);
      const timer = setTimeout(() => reject(new Error('the sink did not answer within 10 s')), 10_000);
      waiting = (x) => (clearTimeout(timer), resolve(x));
    });
  const expect = async (code: number, what: string) => {
    const r = await next();
    if (r.code !== code) throw new Error(`sink answered ${r.code} to ${what}`);
    return r.at;
  };
  await new Promise<void>((resolve, reject) => (sock.once('connect', resolve), sock.once('error', reject)));
  await expect(220, 'the connection');
  sock.write('EHLO bench.test\r\n');
  await expect(250, 'EHLO');
  return {
    /** Sends one message; resolves at the moment the 250 to the end of data arrived. */
    async send(subject: string, body: string): Promise<number> {
      sock.write('MAIL FROM:<a@client.test>\r\n');
      await expect(250, 'MAIL');
      sock.write('RCPT TO:<b@example.test>\r\n');
      await expect(250, 'RCPT');
      sock.write('DATA\r\n');
      await expect(354, 'DATA');
      sock.write(`From: a@client.test\r\nTo: b@example.test\r\nSubject: ${subject}\r\n\r\n${body}\r\n.\r\n`);
      return expect(250, 'the end of data');
    },
    close: () => sock.destroy(),
  };
}

/** Times one GET to the end of its body; the status must be 200. */
async function timedGet(url: string): Promise<{ ms: number; body: string }> {
  const t = performance.now();
  const res = await fetch(url);
  const body = await res.text();
  const ms = performance.now() - t;
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${body.slice(0, 200)}`);
  return { ms, body };
}

const vmHwm = (pid: number) =>
  Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

async function main() {
  const only = process.env.BENCH_ONLY?.split(',');
  const wants = (name: string) => !only || only.includes(name);
  // Part 9 alone needs no Postfix, swaks or sslscan (no other part reads these then).
  const env: Peers = only?.every((p) => p === 'sinkapi')
    ? { smtp: 0, submission: 0, user: '', password: '', ca: '' }
    : await ensurePeers();
  const header = [
    'measure',
    'smtpkit: median (min–max)',
    'peer: median (min–max)',
    'ratio: median (min–max)',
    'target',
    '',
  ];
  const rows: string[][] = [];
  const compare = (
    what: string,
    ours: number[],
    theirs: number[],
    unit: string,
    target: { op: '≤' | '≥' | 'report'; value: number },
    digits = 0,
  ) => {
    const ratio = stats(ours.map((o, i) => o / theirs[i]!));
    const met =
      target.op === 'report'
        ? 'info'
        : (target.op === '≤' ? ratio.median <= target.value : ratio.median >= target.value)
          ? 'met'
          : 'MISSED';
    rows.push([
      what,
      fmt(stats(ours), unit, digits),
      fmt(stats(theirs), unit, digits),
      fmtRatio(ratio),
      target.op === 'report' ? '-' : `${target.op} ${target.value}×`,
      met,
    ]);
  };
  const node = process.execPath;

  // 1. Start-up.
  if (wants('start')) {
    const v = paired(
      RUNS,
      () => time(node, [BIN, '--version']),
      () => time(node, ['-e', '0']),
    );
    compare('--version vs node -e 0', v.ours, v.theirs, 'ms', { op: '≤', value: 1.2 });
    if (extraCaCerts) {
      const withCa = { ...baseEnv, NODE_EXTRA_CA_CERTS: extraCaCerts };
      const w = paired(
        RUNS,
        () => time(node, [BIN, '--version'], withCa),
        () => time(node, ['-e', '0'], withCa),
      );
      compare('  the same with NODE_EXTRA_CA_CERTS', w.ours, w.theirs, 'ms', { op: 'report', value: 0 });
    }
  }

  // 2. Greeting and EHLO against Postfix, each printing its transcript (to a pipe).
  const plain = `127.0.0.1:${env.smtp}`;
  if (wants('ehlo')) {
    const e = paired(
      RUNS,
      () => time(node, [BIN, 'ehlo', plain]),
      () => time('swaks', ['--server', plain, '--quit-after', 'EHLO']),
    );
    compare('ehlo vs swaks --quit-after EHLO', e.ours, e.theirs, 'ms', { op: '≤', value: 1.0 });
  }

  // 3. STARTTLS + AUTH PLAIN + one message against Postfix's submission port.
  if (wants('send')) {
    const sub = `127.0.0.1:${env.submission}`;
    const ourSend = () =>
      time(
        node,
        [
          BIN,
          'send',
          sub,
          '--ca-file',
          env.ca,
          '--user',
          env.user,
          '--mech',
          'PLAIN',
          '--from',
          'bench@client.test',
          '--to',
          env.user,
          '-q',
        ],
        { ...baseEnv, SMTPKIT_PASSWORD: env.password },
      );
    const swaksSend = () =>
      time('swaks', [
        '--server',
        sub,
        '--tls',
        '--auth',
        'PLAIN',
        '--auth-user',
        env.user,
        '--auth-password',
        env.password,
        '--from',
        'bench@client.test',
        '--to',
        env.user,
        '--silent',
        '2',
      ]);
    const s = paired(RUNS, ourSend, swaksSend);
    compare('STARTTLS+AUTH PLAIN+send vs swaks', s.ours, s.theirs, 'ms', { op: '≤', value: 1.0 });

    // Whatever ran before: a load run, ehlo, probe and the sink each run (unmeasured) right
    // before every send. Each keeps its own compile-cache entry (bin/compile-cache.cjs), so
    // the send's is the one its own runs wrote. They run before swaks too: Postfix is still
    // busy with the load run's messages for a moment, and both sides meet that alike.
    const others = () => {
      time(node, [
        BIN,
        'send',
        plain,
        '--from',
        'a@client.test',
        '--to',
        'load@discard.test',
        '--count',
        '200',
        '--starttls',
        'never',
      ]);
      time(node, [BIN, 'ehlo', plain]);
      time(node, [BIN, 'probe', plain, '--ca-file', env.ca, '--format', 'json'], baseEnv, [0, 1]);
      // The sink until SIGTERM, on which it stops as after Ctrl-C.
      spawnSync(node, [BIN, 'sink', '--port', '0', '-q'], { env: baseEnv, timeout: 1500, stdio: 'ignore' });
    };
    const after = paired(
      RUNS,
      () => (others(), ourSend()),
      () => (others(), swaksSend()),
    );
    compare('  the same, each after load, ehlo, probe, sink runs', after.ours, after.theirs, 'ms', {
      op: '≤',
      value: 1.0,
    });
  }

  // 4. Load into smtp-sink: smtpkit's load mode, the bare Node client (Node's floor) and
  // smtp-source, one after the other in each round (the order turns), so every ratio comes
  // from runs made side by side.
  if (wants('load')) {
    const sink = await startSmtpSink();
    try {
      const one = rounds(LOAD_RUNS, [
        () => smtpkitLoad(sink.port, 1),
        () => bareClient(sink.port),
        () => smtpSource(sink.port),
      ]);
      const what = `load ${LOAD.messages} msgs, ${LOAD.sessions} conns, 1/conn`;
      compare(`${what} vs bare Node client`, one[0]!, one[1]!, 'msg/s', { op: '≥', value: 0.85 });
      compare(`  the same vs smtp-source`, one[0]!, one[2]!, 'msg/s', { op: 'report', value: 0 });
      compare(`  the bare Node client vs smtp-source`, one[1]!, one[2]!, 'msg/s', { op: 'report', value: 0 });
      // Many messages per connection: smtp-source -d keeps its connections for the next message.
      const per = Math.ceil(LOAD.messages / LOAD.sessions);
      const kept = rounds(LOAD_RUNS, [() => smtpkitLoad(sink.port, per), () => smtpSource(sink.port, ['-d'])]);
      compare(`--per-connection ${per} vs smtp-source -d`, kept[0]!, kept[1]!, 'msg/s', { op: '≥', value: 0.6 });
    } finally {
      await stop(sink.child);
    }
  }

  // 4b. Load into the real Postfix bed, where the server is the bottleneck: smtpkit's load
  // mode against smtp-source, both to a relay domain the bed discards (no mailbox grows).
  // smtp-source has no TLS, so smtpkit runs --starttls never for the same work; with the
  // STARTTLS it does by default (the bed offers it) is shown beside, for information.
  if (wants('postfix')) {
    const target: LoadTarget = { port: env.smtp, messages: POSTFIX_MESSAGES, to: 'load@discard.test' };
    const pair = rounds(LOAD_RUNS, [
      () => smtpkitLoad(target, 1, ['--starttls', 'never']),
      () => smtpSource(target),
      () => smtpkitLoad(target, 1),
    ]);
    compare(`load ${POSTFIX_MESSAGES} msgs into Postfix vs smtp-source`, pair[0]!, pair[1]!, 'msg/s', {
      op: '≥',
      value: 0.95,
    });
    compare(`  the same with STARTTLS (smtpkit's default)`, pair[2]!, pair[1]!, 'msg/s', { op: 'report', value: 0 });
  }

  // 5. A 50 MB attachment: peak RSS.
  if (wants('rss')) {
    const dir = mkdtempSync(join(tmpdir(), 'smtpkit-bench-'));
    const big = join(dir, 'big.bin');
    const fd = openSync(big, 'w');
    const mb = Buffer.alloc(1024 * 1024, 0x42);
    for (let i = 0; i < 50; i++) writeSync(fd, mb);
    closeSync(fd);
    const bigSink = await startOurSink(['--max-size', String(200 * 1024 * 1024)]);
    const rss: number[] = [];
    try {
      for (let i = 0; i < 3; i++)
        rss.push((await peakRss(node, [...sendTo(bigSink.port), '--attach', big, '-q'])) / 1048576);
    } finally {
      await stop(bigSink.child);
      rmSync(dir, { recursive: true, force: true });
    }
    const r5 = stats(rss);
    rows.push([
      '50 MB attachment, peak RSS',
      fmt(r5, 'MiB'),
      '-',
      `${(r5.median / 150).toFixed(2)} of the limit`,
      '< 150 MiB',
      r5.median < 150 ? 'met' : 'MISSED',
    ]);
  }

  // 6. smtp-source into smtpkit sink against into smtp-sink.
  if (wants('sink')) {
    const ourRate: number[] = [];
    const theirRate: number[] = [];
    // Peak RSS of each server over its run (issue #30: ours ≤ 50 MiB), and of `node -e` idle: Node's floor.
    const ourRss: number[] = [];
    const theirRss: number[] = [];
    // And of a bare Node sink in the same rounds: what Node itself takes under this load.
    const bareRss: number[] = [];
    for (let i = 0; i < LOAD_RUNS; i++) {
      const a = await startSmtpSink();
      try {
        theirRate.push(smtpSource(a.port));
        theirRss.push(vmHwm(a.child.pid!) / 1048576);
      } finally {
        await stop(a.child);
      }
      const b = await startOurSink();
      try {
        ourRate.push(smtpSource(b.port));
        ourRss.push(vmHwm(b.child.pid!) / 1048576);
      } finally {
        await stop(b.child);
      }
      const c = await startBareSink();
      try {
        smtpSource(c.port);
        bareRss.push(vmHwm(c.child.pid!) / 1048576);
      } finally {
        await stop(c.child);
      }
    }
    compare('sink under smtp-source vs smtp-sink', ourRate, theirRate, 'msg/s', { op: '≥', value: 0.8 });
    compare('sink under smtp-source: peak RSS vs smtp-sink', ourRss, theirRss, 'MiB', { op: 'report', value: 0 });
    compare('sink under smtp-source: peak RSS vs a bare Node sink', ourRss, bareRss, 'MiB', { op: 'report', value: 0 });
    const floor = spawnSync(
      node,
      ['-e', 'setTimeout(() => process.stdout.write(require("fs").readFileSync("/proc/self/status", "utf8")), 300)'],
      {
        encoding: 'utf8',
      },
    );
    const idle = Number(/VmHWM:\s+(\d+)/.exec(floor.stdout)?.[1] ?? 0) / 1024;
    const peak = stats(ourRss);
    rows.push([
      'sink under smtp-source: peak RSS',
      fmt(peak, 'MiB'),
      `node -e idle: ${idle.toFixed(0)} MiB`,
      `${(peak.median / 50).toFixed(2)} of the limit`,
      '≤ 50 MiB',
      peak.median <= 50 ? 'met' : 'MISSED',
    ]);
  }

  // 7. Probe: 30 targets, 10 of them accept and stay silent; --timeout 3 must bound them.
  if (wants('probe')) {
    const silent: net.Server[] = [];
    const held = new Set<net.Socket>();
    for (let i = 0; i < 10; i++) {
      const srv = net.createServer((c) => (held.add(c), c.on('error', () => {})));
      await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
      silent.push(srv);
    }
    const targets = [
      ...Array.from({ length: 20 }, () => plain),
      ...silent.map((srv) => `127.0.0.1:${(srv.address() as net.AddressInfo).port}`),
    ];
    // Spread the silent ones among the answering ones, as a real list would have them.
    targets.sort((a, b) => a.localeCompare(b));
    const probeMs: number[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const r = await timeAsync(node, [
          BIN,
          'probe',
          ...targets,
          '--timeout',
          '3',
          '--ca-file',
          env.ca,
          '--format',
          'json',
        ]);
        const doc = JSON.parse(r.out.slice(r.out.indexOf('{')));
        if (doc.summary?.targets !== 30 || doc.summary?.failed !== 10)
          throw new Error(`probe: expected 30 targets, 10 failed: ${JSON.stringify(doc.summary)}`);
        probeMs.push(r.ms);
      }
    } finally {
      for (const c of held) c.destroy();
      for (const srv of silent) srv.close();
    }
    const p7 = stats(probeMs.map((ms) => ms / 1000));
    rows.push([
      'probe 30 targets, 10 silent, --timeout 3',
      fmt(p7, 's', 2),
      '-',
      `${(p7.median / 8).toFixed(2)} of the limit`,
      '≤ 8 s',
      p7.median <= 8 ? 'met' : 'MISSED',
    ]);
  }

  // 8. A full TLS scan of Postfix's plain port (STARTTLS), smtpkit against sslscan.
  if (wants('scan')) {
    const scan = paired(
      Math.max(3, Math.ceil(RUNS / 2)),
      () => time(node, [BIN, 'starttls', plain, '--scan', '-q']),
      () => time('sslscan', ['--no-colour', '--starttls-smtp', plain]),
    );
    compare('TLS scan (starttls --scan vs sslscan)', scan.ours, scan.theirs, 'ms', { op: '≤', value: 3.0 });
  }

  // 9. The sink's HTTP API (issue #29): 1,000 messages of 100 KB stored, then the list,
  // the wait's wake-up and the sink's peak memory.
  if (wants('sinkapi')) {
    const COUNT = 1000;
    const sink = await startSinkApi(['--max-messages', String(COUNT)]);
    const api = `http://127.0.0.1:${sink.http}/api/v1`;
    const dir = mkdtempSync(join(tmpdir(), 'smtpkit-bench-'));
    const listMs: number[] = [];
    const wakeMs: number[] = [];
    let rss = 0;
    try {
      // About 100 KB of text in lines of 76 characters, as a mail client writes them.
      const line = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(3).slice(0, 76);
      const body = Array.from({ length: Math.ceil(100_000 / 78) }, () => line).join('\r\n');
      const bodyFile = join(dir, 'body.txt');
      writeFileSync(bodyFile, body);
      const load = await timeAsync(node, [
        ...sendTo(sink.port),
        '--subject',
        'bench',
        '--body-file',
        bodyFile,
        '--count',
        String(COUNT),
        '--concurrency',
        '4',
        '--json',
      ]);
      const doc = JSON.parse(load.out.slice(load.out.indexOf('{')));
      if (load.code !== 0 || doc.result?.accepted !== COUNT)
        throw new Error(`sinkapi: load mode failed (${load.code}): ${load.out.slice(0, 500)}`);
      const stored = JSON.parse((await timedGet(`${api}/messages?limit=1`)).body);
      if (stored.stored !== COUNT) throw new Error(`sinkapi: the sink holds ${stored.stored}, not ${COUNT}`);

      await timedGet(`${api}/messages?limit=${COUNT}`); // unmeasured, as every part's first run
      for (let i = 0; i < RUNS; i++) {
        const r = await timedGet(`${api}/messages?limit=${COUNT}`);
        const n = JSON.parse(r.body).count;
        if (n !== COUNT) throw new Error(`sinkapi: the list held ${n} messages, not ${COUNT}`);
        listMs.push(r.ms);
      }
      rss = vmHwm(sink.child.pid!);

      const smtp = await smtpConnection(sink.port);
      try {
        for (let i = 0; i <= RUNS; i++) {
          const subject = `wake-${i}-${Date.now()}`;
          const waitingBefore = await timedGet(`http://127.0.0.1:${sink.http}/metrics`).then((r) =>
            Number(/^smtpkit_sink_api_waiting (\d+)/m.exec(r.body)?.[1] ?? 0),
          );
          let answered = 0;
          const wait = fetch(`${api}/wait?subject=${subject}&timeout=10s`).then(async (res) => {
            const text = await res.text();
            answered = performance.now();
            if (res.status !== 200) throw new Error(`sinkapi: wait answered ${res.status} ${text.slice(0, 200)}`);
          });
          // Send only once the wait is held by the sink, so the figure is its wake-up, not its start.
          for (let k = 0; ; k++) {
            const m = await timedGet(`http://127.0.0.1:${sink.http}/metrics`);
            if (Number(/^smtpkit_sink_api_waiting (\d+)/m.exec(m.body)?.[1] ?? 0) > waitingBefore) break;
            if (k > 200) throw new Error('sinkapi: the wait never registered');
            await new Promise((r) => setTimeout(r, 5));
          }
          const stored250 = await smtp.send(subject, 'wake up');
          await wait;
          if (i > 0) wakeMs.push(answered - stored250); // the first is unmeasured
        }
      } finally {
        smtp.close();
      }
      rss = Math.max(rss, vmHwm(sink.child.pid!));
    } finally {
      await stop(sink.child);
      rmSync(dir, { recursive: true, force: true });
    }
    const list = stats(listMs);
    rows.push([
      `sink API: list of ${COUNT} messages`,
      `${fmt(list, 'ms', 1)}, max ${list.max.toFixed(1)}`,
      '-',
      `${(list.median / 50).toFixed(2)} of the limit`,
      '< 50 ms',
      list.median < 50 ? 'met' : 'MISSED',
    ]);
    const wake = stats(wakeMs);
    rows.push([
      'sink API: wait wakes after the 250',
      fmt(wake, 'ms', 1),
      '-',
      `${(wake.median / 10).toFixed(2)} of the limit`,
      '< 10 ms',
      wake.median < 10 ? 'met' : 'MISSED',
    ]);
    // The target is in MB (10^6 bytes), as the issue writes it.
    rows.push([
      `sink API: peak RSS, ${COUNT} × 100 KB`,
      `${(rss / 1e6).toFixed(0)} MB (${(rss / 1048576).toFixed(0)} MiB)`,
      '-',
      `${(rss / 200e6).toFixed(2)} of the limit`,
      '< 200 MB',
      rss < 200_000_000 ? 'met' : 'MISSED',
    ]);
  }

  // 10. The exporter against blackbox_exporter, the same STARTTLS probe of Postfix on each side.
  if (wants('exporter')) {
    const x = await exporterBench(plain, env.ca, RUNS, baseEnv, freePort);
    compare('exporter: CPU per probe vs blackbox', x.cpuOurs, x.cpuTheirs, 'ms', { op: '≤', value: 1.5 }, 2);
    const mib = (v: number[]) => v.map((b) => b / 1048576);
    const limit = (what: string, v: number[], max: number, theirs: number[]) => {
      const f = stats(mib(v));
      rows.push([
        what,
        fmt(f, 'MiB'),
        fmt(stats(mib(theirs)), 'MiB'),
        fmtRatio(stats(v.map((o, i) => o / theirs[i]!))),
        `≤ ${max} MiB`,
        f.median <= max ? 'met' : 'MISSED',
      ]);
    };
    limit('exporter: idle RSS after start', x.idleOurs, 40, x.idleTheirs);
    limit('exporter: RSS idle after 100 probes', x.afterOurs, 40, x.afterTheirs);
    limit('exporter: peak RSS, 10 concurrent probes', x.peakOurs, 70, x.peakTheirs);
    compare(
      '  bare Node exporter: CPU per probe vs blackbox',
      x.cpuBare,
      x.cpuTheirs,
      'ms',
      { op: 'report', value: 0 },
      2,
    );
    limit('  bare Node exporter: peak RSS, 10 concurrent', x.peakBare, 70, x.peakTheirs);
    const floor = stats(mib(x.nodeFloor));
    rows.push(['  Node floor: node -e idle HTTP server', fmt(floor, 'MiB'), '-', '-', '-', 'info']);
  }

  // 11. The audit (issue #28): one domain with two MX hosts, then many domains for memory.
  if (wants('audit')) {
    const ipv6 = (env as Peers & { ipv6?: boolean }).ipv6 !== false;
    const sink = await startSmtpSink();
    const many = 600;
    const zone: Zone = {
      'two.bench.test': [
        { type: 'MX', exchange: 'mx1.two.bench.test', priority: 10 },
        { type: 'MX', exchange: 'mx2.two.bench.test', priority: 20 },
        { type: 'TXT', data: 'v=spf1 mx -all' },
      ],
      '_dmarc.two.bench.test': [{ type: 'TXT', data: 'v=DMARC1; p=reject; rua=mailto:dmarc@two.bench.test' }],
      'mx1.two.bench.test': [{ type: 'A', address: '127.0.0.1' }],
      // Two hosts at two addresses of the one Postfix: two probes, two cipher scans.
      'mx2.two.bench.test': [ipv6 ? { type: 'AAAA', address: '::1' } : { type: 'A', address: '127.0.0.1' }],
      'mx.sink.bench.test': [{ type: 'A', address: '127.0.0.1' }],
    };
    for (let i = 0; i < many; i++)
      zone[`d${i}.bench.test`] = [
        { type: 'MX', exchange: 'mx.sink.bench.test', priority: 10 },
        { type: 'TXT', data: 'v=spf1 mx -all' },
      ];
    const dns = await dnsServer(zone);
    const dir = mkdtempSync(join(tmpdir(), 'smtpkit-bench-'));
    const auditMs: number[] = [];
    const rss = new Map<number, number>();
    try {
      const resolver = ['--resolver', `127.0.0.1:${dns.port}`];
      const one = async () => {
        const r = await timeAsync(node, [
          BIN,
          'audit',
          'two.bench.test',
          ...resolver,
          '--port',
          String(env.smtp),
          '--ca-file',
          env.ca,
          '--json',
        ]);
        const report = JSON.parse(r.out.slice(r.out.indexOf('{'))).report as {
          deadlineExceeded: boolean;
          findings: { check: string; status: string }[];
        };
        const scans = report.findings.filter((f) => f.check === 'tls-ciphers');
        if (report.deadlineExceeded || scans.length !== 2 || scans.some((f) => f.status === 'not-tested'))
          throw new Error(`audit: expected two scanned MX hosts (exit ${r.code}): ${r.out.slice(0, 500)}`);
        return r.ms;
      };
      await one(); // unmeasured, as every part's first run
      for (let i = 0; i < Math.max(5, Math.ceil(RUNS / 2)); i++) auditMs.push(await one());
      for (const n of [200, many]) {
        const list = join(dir, `domains-${n}.txt`);
        writeFileSync(list, Array.from({ length: n }, (_, i) => `d${i}.bench.test\n`).join(''));
        const args = [BIN, 'audit', '--domains', list, '--concurrency', '20', ...resolver, '--port', String(sink.port)];
        // Exit 1: the sink relays anything (an open relay); the memory is what is measured.
        // The peak depends on when V8 collects: the median of three runs of each size.
        const peaks: number[] = [];
        for (let k = 0; k < 3; k++) peaks.push(await peakRss(node, [...args, '--json', '--timeout', '60s'], [0, 1]));
        rss.set(n, stats(peaks).median);
      }
    } finally {
      await dns.close();
      await stop(sink.child);
      rmSync(dir, { recursive: true, force: true });
    }
    const a = stats(auditMs.map((ms) => ms / 1000));
    rows.push([
      'audit of a domain with two MX hosts',
      fmt(a, 's', 2),
      '-',
      `${(a.median / 5).toFixed(2)} of the limit`,
      '< 5 s',
      a.median < 5 ? 'met' : 'MISSED',
    ]);
    const flat = rss.get(many)! / rss.get(200)!;
    rows.push([
      `audit --domains --concurrency 20: peak RSS, ${many} vs 200 domains`,
      `${(rss.get(many)! / 1048576).toFixed(0)} MiB`,
      `${(rss.get(200)! / 1048576).toFixed(0)} MiB`,
      `${flat.toFixed(2)}×`,
      '≤ 1.2×',
      flat <= 1.2 ? 'met' : 'MISSED',
    ]);
  }

  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  console.log(`\n${line(header)}`);
  for (const r of rows) console.log(line(r));
  const cpu = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  console.log(
    `\nPairs: ${RUNS} (load and sink: ${LOAD_RUNS}), after one unmeasured run of each side; ratio = smtpkit / peer per pair.` +
      `\nBoth sides ran without NODE_EXTRA_CA_CERTS${extraCaCerts ? ` (this environment sets it to ${extraCaCerts})` : ''}; smtpkit with its compile cache (~/.cache/smtpkit).` +
      `\nnode ${process.version}; ${(cpu.match(/^processor/gm) ?? []).length} CPU(s) ${/model name\s*:\s*(.*)/.exec(cpu)?.[1] ?? ''}; load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
}

main().catch((err) => {
  console.error(`bench: ${(err as Error).message}`);
  process.exitCode = 1;
});
