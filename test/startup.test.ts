/**
 * Start-up cost: each run loads only what its command needs. `--version` loads nothing but
 * the bin shim; a plain `ehlo` never loads TLS, crypto, DNS, the REPL, the sink, the probe,
 * inquirer or ora. Checked by recording what the process loads (no timings: those are for
 * `npm run bench`), both for the bundle that ships and for the module tree it is built from.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import dgram from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BIN, ROOT } from './helpers/paths.js';
import { lineServer, rawServer, type RawServer } from './helpers/raw-server.js';

const RECORDER = `${ROOT}dist/test/helpers/record-loads.js`;
const TREE = `${ROOT}dist/test/helpers/run-main.js`;
const dir = mkdtempSync(join(tmpdir(), 'smtpkit-startup-'));
let server: RawServer;
let runs = 0;

before(async () => {
  server = await rawServer((socket) => {
    socket.write('220 mx.test ESMTP\r\n');
    lineServer(socket, (line) =>
      /^EHLO/i.test(line)
        ? '250-mx.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n'
        : /^QUIT/i.test(line)
          ? '221 bye\r\n'
          : '502 no\r\n',
    );
  });
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `script args` and returns its exit code and what it loaded (URLs, paths, node:NAME). */
async function loads(
  script: string,
  args: string[],
): Promise<{ code: number | null; output: string; loaded: string[] }> {
  const record = join(dir, `loads-${runs++}`);
  const child = spawn(process.execPath, ['--import', RECORDER, script, ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      NO_COLOR: '1',
      SMTPKIT_RECORD_LOADS: record,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const loaded = [...new Set(readFileSync(record, 'utf8').split('\n').filter(Boolean))].map((l) =>
    l.replace(/^file:\/\//, ''),
  );
  return { code, output, loaded };
}

const ours = (loaded: string[]) => loaded.filter((l) => l.startsWith(ROOT)).map((l) => l.slice(ROOT.length));
const packages = (loaded: string[]) => [
  ...new Set(ours(loaded).flatMap((l) => /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(l)?.[1] ?? [])),
];
/**
 * Built-ins no session without TLS needs: each costs milliseconds at start. Not zlib: the
 * compile cache checks its entries with zlib's native CRC-32 (0.8 ms with loading it, against
 * 2.8 for the same sum in JavaScript).
 */
const HEAVY_BUILTINS = [
  'node:tls',
  'node:crypto',
  'node:dns',
  'node:dns/promises',
  'node:dgram',
  'node:child_process',
  'node:readline',
  'node:http',
  'node:https',
  'node:perf_hooks',
];

test('--version loads only the bin shim: no bundle, no package.json through require, no commander', async () => {
  const { code, output, loaded } = await loads(BIN, ['--version']);
  assert.equal(code, 0, output);
  assert.equal(output, `${JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')).version}\n`);
  assert.deepEqual(
    ours(loaded).filter((f) => !f.startsWith('bin/smtpkit.cjs')),
    [],
  );
  assert.deepEqual(
    HEAVY_BUILTINS.filter((m) => loaded.includes(m)),
    [],
  );
});

test('ehlo (no TLS) from the bundle loads no tls, crypto, DNS or child_process, and no package from node_modules', async () => {
  const { code, output, loaded } = await loads(BIN, ['ehlo', `127.0.0.1:${server.port}`]);
  assert.equal(code, 0, output);
  assert.match(output, /answered EHLO with 3 extensions/);
  assert.ok(ours(loaded).includes('dist/smtpkit.cjs'), 'runs the bundle');
  assert.deepEqual(
    HEAVY_BUILTINS.filter((m) => loaded.includes(m)),
    [],
  );
  assert.deepEqual(packages(loaded), []);
});

test('the recorder sees what a command does need: mx-lookup loads dns2 and dgram', async () => {
  // A UDP port that is bound but never answers: the lookup times out quickly (exit 3).
  const silent = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  try {
    const { code, loaded } = await loads(BIN, [
      'mx-lookup',
      'example.test',
      '--resolver',
      `127.0.0.1:${silent.address().port}`,
      '--dns-timeout',
      '200ms',
    ]);
    assert.equal(code, 3);
    assert.deepEqual(packages(loaded), ['dns2']);
    assert.ok(loaded.includes('node:dgram'));
  } finally {
    silent.close();
  }
});

test('module tree: ehlo imports the session and the explanations, not the DNS checks, sink, REPL, probe, inquirer, ora or chalk', async () => {
  const { code, output, loaded } = await loads(TREE, ['ehlo', `127.0.0.1:${server.port}`]);
  assert.equal(code, 0, output);
  const src = ours(loaded).filter((f) => f.startsWith('dist/src/'));
  assert.ok(
    src.includes('dist/src/session/session.js') && src.includes('dist/src/explain/extensions.js'),
    src.join(' '),
  );
  const unwanted =
    /^dist\/src\/(dns\/(checks|resolver|transport|mx)|sink|repl|probe|sasl|message)\b|^dist\/src\/session\/tls-facts/;
  assert.deepEqual(
    src.filter((f) => unwanted.test(f)),
    [],
  );
  assert.deepEqual(
    packages(loaded).filter((p) => p !== 'commander'),
    [],
  );
});

test('module tree: --version imports neither commander nor any command', async () => {
  const { code, loaded } = await loads(TREE, ['--version']);
  assert.equal(code, 0);
  assert.deepEqual(packages(loaded), []);
  assert.deepEqual(
    ours(loaded).filter((f) => f.startsWith('dist/src/commands/')),
    [],
  );
});

test('bin/smtpkit.js, the old path, still runs the command', async () => {
  const { code, output } = await loads(`${ROOT}bin/smtpkit.js`, ['explain', '250']);
  assert.equal(code, 0, output);
  assert.match(output, /^250\b/m);
});

test('the bundle is ASCII: the bin reads it without UTF-8 decoding, and one character beyond would make V8 keep its whole source two bytes a character', () => {
  const bundle = readFileSync(`${ROOT}dist/smtpkit.cjs`, 'latin1');
  const stray = [...bundle.matchAll(/.{0,30}[^\x00-\x7f].{0,10}/g)].map((m) => m[0]);
  assert.deepEqual(stray, [], 'write \\u escapes in regular expressions and String.raw text');
});
