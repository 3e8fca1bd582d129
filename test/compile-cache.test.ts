/**
 * bin/compile-cache.cjs: the bundle's compiled code is kept per user and reused, never
 * taken from a directory others can write, and a stale or broken entry only costs a
 * recompile. (Whether it is faster is for `npm run bench`.)
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import zlib from 'node:zlib';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { capturePeer, PASSWORD, USER, type CapturePeer } from './helpers/capture-peer.js';
import { BIN, ROOT, TLS } from './helpers/paths.js';
import { rawServer } from './helpers/raw-server.js';
import { sinkProcess } from './helpers/sink-process.js';
import { startExporter, stopExporter } from './helpers/exporter-process.js';
import { COMMANDS } from '../src/cli/commands.js';

const home = mkdtempSync(join(tmpdir(), 'smtpkit-cache-'));
after(() => rmSync(home, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : []);

/** A home of its own where `explain 421` ran once: its output and the entry that run saved. */
async function savedExplainEntry(tag: string) {
  const h = join(home, tag);
  mkdirSync(h);
  const good = await run(['explain', '421'], { HOME: h });
  assert.equal(good.code, 0, good.out);
  const dir = join(h, '.cache', 'smtpkit');
  const [name] = entries(dir).filter((f) => f.endsWith('-explain.v8'));
  assert.ok(name);
  const file = join(dir, name);
  return { h, good, file, saved: readFileSync(file) };
}

/** Puts `broken` in place of the entry: the next run gives the same output as `good` and rewrites it. */
async function ignoredAndRewritten(e: { h: string; good: { out: string }; file: string }, broken: Buffer) {
  writeFileSync(e.file, broken);
  const r = await run(['explain', '421'], { HOME: e.h });
  assert.equal(r.code, 0, r.out);
  assert.equal(r.out, e.good.out);
  const now = readFileSync(e.file);
  assert.notDeepEqual(now, broken, 'rewritten');
  return now;
}

test('the first run keeps compiled code in ~/.cache/smtpkit (private), the next runs the same', async () => {
  const h = join(home, 'a');
  mkdirSync(h);
  const first = await run(['explain', '550', '5.1.1'], { HOME: h });
  assert.equal(first.code, 0, first.out);
  const dir = join(h, '.cache', 'smtpkit');
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.deepEqual(entries(dir).filter((f) => f.endsWith('-explain.v8')).length, 1);
  const second = await run(['explain', '550', '5.1.1'], { HOME: h });
  assert.equal(second.code, 0);
  assert.equal(second.out, first.out);
});

test('a cache directory others can write to is not used; XDG_CACHE_HOME is honoured', async () => {
  const xdg = join(home, 'xdg');
  mkdirSync(join(xdg, 'smtpkit'), { recursive: true });
  chmodSync(join(xdg, 'smtpkit'), 0o777);
  const r = await run(['explain', '250'], { HOME: join(home, 'none'), XDG_CACHE_HOME: xdg });
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(entries(join(xdg, 'smtpkit')), []);
  assert.equal(existsSync(join(home, 'none')), false, 'HOME is not used when XDG_CACHE_HOME is set');
});

test('NODE_DISABLE_COMPILE_CACHE turns it off', async () => {
  const h = join(home, 'off');
  mkdirSync(h);
  const r = await run(['explain', '250'], { HOME: h, NODE_DISABLE_COMPILE_CACHE: '1' });
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(entries(h), []);
});

test('a stale or corrupt entry is replaced, and the run is unaffected', async () => {
  const e = await savedExplainEntry('stale');
  const stamp = e.saved.subarray(0, e.saved.indexOf(10) + 1).toString('latin1');
  // Same stamp, broken code (V8 must reject it); then an entry for another build of the bundle.
  for (const broken of [
    Buffer.concat([Buffer.from(stamp, 'latin1'), Buffer.alloc(4096, 7)]),
    Buffer.concat([Buffer.from(`v0.0.0 x64 1 1\n`), e.saved.subarray(stamp.length)]),
  ]) {
    const now = await ignoredAndRewritten(e, broken);
    // The same Node, bundle and reach; the sum of the code at the line's end is the new code's.
    const withoutSum = (line: string) => line.replace(/ [0-9a-f.]+\n$/, '');
    assert.equal(withoutSum(now.subarray(0, now.indexOf(10) + 1).toString('latin1')), withoutSum(stamp));
  }
});

test('an entry damaged inside its code (V8 header intact, same length) or truncated is ignored, never run', async () => {
  const e = await savedExplainEntry('damaged');
  const { saved } = e;
  const body = saved.indexOf(10) + 1;
  // A disk error or a stray write: V8 checks the header and the length, not (in a release
  // build, unless asked) the code itself; deserializing damaged code crashed Node (SIGSEGV).
  const flipped = Buffer.from(saved);
  for (let i = body + 200; i < flipped.length - 100; i += 97) flipped[i]! ^= 0xff;
  for (const broken of [flipped, saved.subarray(0, body + Math.floor((saved.length - body) / 2))])
    await ignoredAndRewritten(e, broken);
});

test('a header whose CRC-32 is of other data, an old-format sum, a huge reach over damaged code: never run, the output the same, rewritten', async () => {
  const e = await savedExplainEntry('forged');
  const { saved } = e;
  const eol = saved.indexOf(10);
  const [, stamp, reach] = /^(.* )(\d+) [0-9a-f]+$/.exec(saved.subarray(0, eol).toString('latin1'))!;
  const code = saved.subarray(eol + 1);
  const damaged = Buffer.from(code);
  for (let i = 200; i < damaged.length - 100; i += 97) damaged[i]! ^= 0xff;
  const crc = (b: Buffer) => zlib.crc32(b).toString(16);
  const entry = (tail: string, body: Buffer) => Buffer.concat([Buffer.from(`${stamp}${tail}\n`, 'latin1'), body]);
  for (const forged of [
    // A valid-looking CRC-32, of the intact code, over damaged code.
    entry(`${reach} ${crc(code)}`, damaged),
    // The sum of the format before CRC-32 ("x.y"), and a CRC written in capitals or padded: not this format.
    entry(`${reach} 1234.5678`, damaged),
    entry(`${reach} ${crc(damaged).toUpperCase()}`, damaged),
    entry(`${reach} 0000${crc(damaged)}`, damaged),
    // A reach no run makes, with a CRC of other data.
    entry(`${'9'.repeat(400)} ${crc(Buffer.from('other'))}`, damaged),
  ])
    await ignoredAndRewritten(e, forged);
});

test('runs saving the same entry at once: each output as without a cache, one whole entry left, used by the next run', async () => {
  const h = join(home, 'concurrent');
  mkdirSync(h);
  const runs = await Promise.all(Array.from({ length: 4 }, () => run(['explain', '421'], { HOME: h })));
  const uncached = await run(['explain', '421'], { HOME: h, NODE_DISABLE_COMPILE_CACHE: '1' });
  for (const r of runs) {
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out, uncached.out);
  }
  const dir = join(h, '.cache', 'smtpkit');
  const names = entries(dir);
  assert.equal(names.filter((f) => f.endsWith('-explain.v8')).length, 1, names.join(' '));
  assert.deepEqual(
    names.filter((f) => f.endsWith('.tmp')),
    [],
  );
  const file = join(
    dir,
    names.find((f) => f.endsWith('-explain.v8'))!,
  );
  const written = statSync(file).ino;
  assert.equal((await run(['explain', '421'], { HOME: h })).out, uncached.out);
  assert.equal(statSync(file).ino, written, 'the entry left was whole: used, not rewritten');
});

test('sink and exporter (which change a V8 flag as they run) keep their entry: the next start uses it', async () => {
  // V8 keys an entry by its flags; both set --semi-space-growth-factor as they start, so an
  // entry saved with it set was refused by every later start, compiled again and rewritten.
  const h = join(home, 'flags');
  mkdirSync(h);
  const dir = join(h, '.cache', 'smtpkit');
  const starts: Record<string, () => Promise<unknown>> = {
    sink: async () => (await sinkProcess([], { env: { HOME: h } })).stop(),
    exporter: async () => stopExporter(await startExporter([], { HOME: h })),
  };
  for (const [command, startAndStop] of Object.entries(starts)) {
    await startAndStop();
    const [name] = entries(dir).filter((f) => f.endsWith(`-${command}.v8`));
    assert.ok(name, `${command} saved an entry`);
    const written = statSync(join(dir, name)).ino;
    await startAndStop();
    assert.equal(statSync(join(dir, name)).ino, written, `${command}: the second start used the entry, not rewrote it`);
  }
});

test('an exporter stopped by SIGTERM or SIGINT with a probe in flight saves an entry the next start uses (its V8 flags set back)', async () => {
  // The probe's code is loaded with the first /probe and runs with --max-opt=1 (and, on V8 12+,
  // --no-maglev): stopped while a probe still waits, the exporter must still set them back
  // before the save, or the entry it leaves is refused by every later start.
  const silent = await rawServer(() => undefined);
  try {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const h = join(home, `in-flight-${signal}`);
      mkdirSync(h);
      const dir = join(h, '.cache', 'smtpkit');
      const e = await startExporter([], { HOME: h });
      const scrape = fetch(`${e.url}/probe?target=127.0.0.1:${silent.port}`).catch(() => undefined);
      const seen = silent.received.length;
      for (let i = 0; i < 200 && silent.received.length === seen; i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(silent.received.length > seen, 'the probe reached the peer');
      const gone = new Promise<number | null>((r) => e.child.once('exit', r));
      e.child.kill(signal);
      assert.equal(await gone, 0, e.stderr());
      await scrape;
      assert.equal(e.stderr(), '', 'nothing on stderr (no V8 flag error)');
      const [name] = entries(dir).filter((f) => f.endsWith('-exporter.v8'));
      assert.ok(name, `${signal}: an entry was saved`);
      const before = statSync(join(dir, name), { bigint: true });
      await stopExporter(await startExporter([], { HOME: h }));
      const now = statSync(join(dir, name), { bigint: true });
      assert.deepEqual(
        [now.ino, now.mtimeNs],
        [before.ino, before.mtimeNs],
        `${signal}: the next start used the entry`,
      );
    }
  } finally {
    await silent.close();
  }
});

test("an exporter run with V8 flags of the user's own that it changes (--no-opt, --max-opt=2, NODE_OPTIONS=--jitless, --semi_space_growth_factor) keeps its entry", async () => {
  // The exporter set its flags back to V8's defaults, not to the user's: the flags differed
  // from those the entry was made with, so every start refused it, compiled again, rewrote it.
  const runs: Array<[string, string[], Record<string, string>]> = [
    ['no-opt', ['--no-opt'], {}],
    ['max-opt', ['--max-opt=2'], {}],
    ['jitless', [], { NODE_OPTIONS: '--jitless' }],
    // young-generation.ts's flag, given by the user: set back to 2, not to theirs.
    ['growth', ['--semi_space_growth_factor=4'], {}],
  ];
  for (const [label, nodeArgs, env] of runs) {
    const h = join(home, `user-flags-${label}`);
    mkdirSync(h);
    const dir = join(h, '.cache', 'smtpkit');
    const startAndStop = async () => {
      const e = await startExporter([], { HOME: h, ...env }, nodeArgs);
      await stopExporter(e);
      return e.stderr();
    };
    await startAndStop();
    const [name] = entries(dir).filter((f) => f.endsWith('-exporter.v8'));
    assert.ok(name, `${label}: an entry was saved`);
    const before = statSync(join(dir, name), { bigint: true });
    await startAndStop();
    const now = statSync(join(dir, name), { bigint: true });
    assert.deepEqual([now.ino, now.mtimeNs], [before.ino, before.mtimeNs], `${label}: the next start used the entry`);
  }
});

test('checking an entry runs nothing V8 optimizes: a sum in JavaScript made every start compile it with TurboFan', async () => {
  // TurboFan's own code, brought into memory by that loop at each start, stayed resident:
  // 3.5 MiB of an idle exporter's 51 MiB (Node 20).
  const h = join(home, 'hot');
  mkdirSync(h);
  assert.equal((await run(['explain', '421'], { HOME: h })).code, 0);
  const traced = spawnSync(process.execPath, ['--trace-opt', BIN, 'explain', '421'], {
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', HOME: h },
    encoding: 'utf8',
  });
  assert.equal(traced.status, 0, traced.stderr);
  const ours = new Set(
    [...readFileSync(join(ROOT, 'bin', 'compile-cache.cjs'), 'utf8').matchAll(/function (\w+)/g)].map((m) => m[1]),
  );
  const optimized = [...traced.stdout.matchAll(/<JSFunction (\w+) [^>]*> for optimization to (TURBOFAN|MAGLEV)/g)];
  assert.ok(ours.has('load'));
  assert.deepEqual(
    optimized.map((m) => m[1]).filter((name) => ours.has(name!)),
    [],
  );
});

test('a save that cannot replace the entry leaves no temporary file behind (one per run piled up)', async () => {
  const h = join(home, 'stuck');
  mkdirSync(h);
  assert.equal((await run(['explain', '421'], { HOME: h })).code, 0);
  const dir = join(h, '.cache', 'smtpkit');
  const [name] = entries(dir).filter((f) => f.endsWith('-explain.v8'));
  assert.ok(name);
  // Something in the entry's place that rename cannot replace: a directory.
  rmSync(join(dir, name));
  mkdirSync(join(dir, name));
  for (let i = 0; i < 2; i++) assert.equal((await run(['explain', '421'], { HOME: h })).code, 0);
  assert.deepEqual(
    entries(dir).filter((f) => f.endsWith('.tmp')),
    [],
  );
});

test('an upgrade in place to a bundle of the same size, its time set as npm sets it, runs its own code, not the old entry', async () => {
  // npm gives every installed file the same time (1985-10-26), and V8 checks an entry against
  // its source by length alone: the old install's compiled code ran the new version.
  const install = join(home, 'install');
  mkdirSync(join(install, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'bin'), join(install, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(install, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(install, 'node_modules'));
  const bundle = join(install, 'dist', 'smtpkit.cjs');
  const npmTime = new Date('1985-10-26T08:15:00Z');
  const put = (text: string) => {
    writeFileSync(bundle, text, 'latin1');
    utimesSync(bundle, npmTime, npmTime);
  };
  const text = readFileSync(join(ROOT, 'dist', 'smtpkit.cjs'), 'latin1');
  cpSync(join(ROOT, 'dist', 'esm-import.cjs'), join(install, 'dist', 'esm-import.cjs'));
  put(text);
  const h = join(home, 'upgrade');
  mkdirSync(h);
  const bin = join(install, 'bin', 'smtpkit.cjs');
  const runInstalled = () =>
    new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [bin, 'explain', '550'], {
        env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', HOME: h },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('close', () => resolve(out));
    });
  assert.match(await runInstalled(), /the mailbox is unavailable/);
  assert.match(await runInstalled(), /the mailbox is unavailable/);
  // The next version: the same length, one phrase changed.
  assert.ok(text.includes('the mailbox is unavailable'));
  put(text.replace('the mailbox is unavailable', 'THE MAILBOX IS UNAVAILABLE'));
  assert.match(await runInstalled(), /THE MAILBOX IS UNAVAILABLE/);
});

test('entries other installs left unrewritten for a month go when one is saved; recent ones and our own stay', async () => {
  const h = join(home, 'prune');
  const dir = join(h, '.cache', 'smtpkit');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const longAgo = new Date(Date.now() - 40 * 24 * 3600 * 1000);
  const planted = {
    oldOther: 'deadbeef-ehlo.v8',
    oldTmp: 'deadbeef-probe.v8.4242.tmp',
    recentOther: 'cafef00d-ehlo.v8',
    notOurs: 'notes.txt',
  };
  for (const name of Object.values(planted)) writeFileSync(join(dir, name), 'x', { mode: 0o600 });
  for (const name of [planted.oldOther, planted.oldTmp, planted.notOurs]) utimesSync(join(dir, name), longAgo, longAgo);
  const first = await run(['explain', '250'], { HOME: h });
  assert.equal(first.code, 0, first.out);
  const own = entries(dir).filter((f) => f.endsWith('-explain.v8'));
  assert.equal(own.length, 1, 'our entry saved');
  // Another command's first run saves (and prunes) again: an old entry of this very install stays.
  utimesSync(join(dir, own[0]!), longAgo, longAgo);
  const second = await run(['completion', 'bash'], { HOME: h });
  assert.equal(second.code, 0, second.out);
  const completion = entries(dir).filter((f) => f.endsWith('-completion.v8'));
  assert.equal(completion.length, 1);
  assert.deepEqual(entries(dir).sort(), [own[0]!, completion[0]!, planted.recentOther, planted.notOurs].sort());
});

test('load mode keeps an entry of its own: a load run does not replace the one a single send uses', async () => {
  const h = join(home, 'load');
  mkdirSync(h);
  const dir = join(h, '.cache', 'smtpkit');
  // Nothing listens on port 1: both runs fail to connect (exit 4), and save their entries all the same.
  const send = ['send', '127.0.0.1:1', '--from', 'a@client.test', '--to', 'b@example.test', '-q'];
  const single = await run(send, { HOME: h });
  assert.equal(single.code, 4, single.out);
  const sendEntry = entries(dir).filter((f) => f.endsWith('-send.v8'));
  assert.equal(sendEntry.length, 1);
  const before = readFileSync(join(dir, sendEntry[0]!));
  const load = await run([...send, '--count', '2'], { HOME: h });
  assert.equal(load.code, 4, load.out);
  assert.equal(entries(dir).filter((f) => f.endsWith('-send-load.v8')).length, 1);
  assert.deepEqual(readFileSync(join(dir, sendEntry[0]!)), before, "send's entry is untouched");
});

test('every command of the table has an entry of its own; load mode another; anything else shares one', () => {
  const cache = createRequire(import.meta.url)(`${ROOT}bin/compile-cache.cjs`) as {
    COMMANDS: Set<string>;
    slotFor(argv: string[]): string;
  };
  assert.deepEqual([...cache.COMMANDS].sort(), COMMANDS.map((c) => c.name).sort());
  for (const c of COMMANDS) assert.equal(cache.slotFor([c.name, 'x']), c.name);
  assert.equal(cache.slotFor(['send', 'mx.test', '--count', '5']), 'send-load');
  assert.equal(cache.slotFor(['send', 'mx.test', '--rate=5/s']), 'send-load');
  assert.equal(cache.slotFor(['sned', 'mx.test']), 'other');
  assert.equal(cache.slotFor(['--help']), 'other');
});

test('an entry written by a run that stopped early is written again by one that went further, then kept', async () => {
  const h = join(home, 'reach');
  mkdirSync(h);
  const dir = join(h, '.cache', 'smtpkit');
  const entry = () => {
    const [name] = entries(dir).filter((f) => f.endsWith('-send.v8'));
    assert.ok(name, 'send has an entry');
    return readFileSync(join(dir, name));
  };
  const message = ['--from', 'a@client.test', '--to', 'b@example.test', '-q'];
  // Nothing listens on port 1: the first run stops at the connection (exit 4).
  const refused = await run(['send', '127.0.0.1:1', ...message], { HOME: h });
  assert.equal(refused.code, 4, refused.out);
  const early = entry();
  // A whole STARTTLS + AUTH + send compiles TLS, SASL and message code the first run never reached.
  const peer: CapturePeer = await capturePeer();
  try {
    const full = () =>
      run(['send', `127.0.0.1:${peer.port}`, '--ca-file', TLS.ca, '--user', USER, '--mech', 'PLAIN', ...message], {
        HOME: h,
        SMTPKIT_PASSWORD: PASSWORD,
      });
    const first = await full();
    assert.equal(first.code, 0, first.out);
    assert.equal(peer.messages.length, 1);
    const further = entry();
    assert.notDeepEqual(further, early, 'written again');
    assert.ok(further.length > early.length, `it holds more compiled code (${further.length} > ${early.length} bytes)`);
    // The same run again, and a run that stops early again, leave it as it is.
    const again = await full();
    assert.equal(again.code, 0, again.out);
    assert.deepEqual(entry(), further);
    const refusedAgain = await run(['send', '127.0.0.1:1', ...message], { HOME: h });
    assert.equal(refusedAgain.code, 4, refusedAgain.out);
    assert.deepEqual(entry(), further);
  } finally {
    await peer.close();
  }
});
