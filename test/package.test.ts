/**
 * The package as people get it: the packed tarball installed and used (the command and the
 * library), and a fresh clone set up with the README's `npm install`. No registry is asked:
 * every npm here runs with --offline against an unreachable registry and a cache of its own,
 * the dependencies come from this checkout's node_modules, and each npm runs as a process
 * group killed with its test (test/helpers/process-group.ts).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers/paths.js';
import { runGroup, tempDir } from './helpers/process-group.js';

const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8'));
const lock = JSON.parse(readFileSync(`${ROOT}package-lock.json`, 'utf8')) as {
  packages: Record<string, { dev?: boolean; devOptional?: boolean; hasInstallScript?: boolean }>;
};
const TSC = `${ROOT}node_modules/typescript/bin/tsc`;
const NPM_WARNING = /^npm (warn|error)/im;

/** npm as a user runs it (none of the npm_* settings of an `npm test` around us), offline. */
function npmEnv(dir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    NO_COLOR: '1',
    CI: 'true',
    XDG_CACHE_HOME: join(dir, 'xdg-cache'),
    // Anything npm would fetch fails at once (ECONNREFUSED) instead of hanging on a registry.
    npm_config_registry: 'http://127.0.0.1:9/',
    npm_config_cache: join(dir, 'npm-cache'),
    npm_config_offline: 'true',
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
  };
}

let npmChecked: { missing: string | undefined } | undefined;
function npmMissing(): string | undefined {
  if (!npmChecked) {
    try {
      execFileSync('npm', ['--version'], { stdio: 'ignore', timeout: 20_000 });
      npmChecked = { missing: undefined };
    } catch {
      npmChecked = { missing: 'npm is not on PATH (or does not run): the package tests need it' };
    }
  }
  return npmChecked.missing;
}

/** The runtime dependencies (what package-lock.json does not mark dev), copied as installed here. */
function copyRuntimeDependencies(app: string) {
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/') || entry.dev || entry.devOptional) continue;
    // Nested node_modules are entries of their own.
    cpSync(`${ROOT}${path}`, join(app, path), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => !src.slice(ROOT.length + path.length).includes('/node_modules/'),
    });
  }
}

test('npm pack: LICENSE (MIT), the bundle, bin, the library with its declarations; no tests, no source map pointing at a file it does not ship; built before packing, no install hooks', async (t) => {
  const skip = npmMissing();
  if (skip) return t.skip(skip);
  const dir = tempDir('smtpkit-pack-', t);
  // --ignore-scripts: prepack would rebuild dist/ under the other test files running now.
  const { stdout } = await runGroup('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    env: npmEnv(dir),
    limitMs: 30_000,
    signal: t.signal,
  });
  const files = new Set<string>(JSON.parse(stdout)[0].files.map((f: { path: string }) => f.path));
  assert.ok(files.has('LICENSE'));
  assert.equal(pkg.license, 'MIT');
  assert.match(
    readFileSync(`${ROOT}LICENSE`, 'utf8'),
    /^MIT License\n[\s\S]*Permission is hereby granted, free of charge/,
  );
  // The CLI ships as one bundle (scripts/bundle.mjs) run by bin/smtpkit.cjs; tsc's tree stays home.
  for (const f of [
    'bin/smtpkit.cjs',
    'bin/compile-cache.cjs',
    'bin/smtpkit.js',
    'dist/smtpkit.cjs',
    'dist/esm-import.cjs',
    'man/smtpkit.1',
  ])
    assert.ok(files.has(f), f);
  assert.equal(pkg.bin.smtpkit, './bin/smtpkit.cjs');
  assert.deepEqual(
    [...files].filter(
      (f) => f.startsWith('dist/test/') || f.startsWith('test/') || f.startsWith('dist/src/') || f.startsWith('src/'),
    ),
    [],
  );
  // The library (tsconfig.lib.json): what exports and types name is shipped, declarations beside the code.
  assert.deepEqual(pkg.exports['.'], { types: './dist/lib/index.d.ts', default: './dist/lib/index.js' });
  assert.equal(pkg.types, './dist/lib/index.d.ts');
  for (const f of [
    'dist/lib/index.js',
    'dist/lib/index.d.ts',
    'dist/lib/session/session.js',
    'dist/lib/session/session.d.ts',
  ])
    assert.ok(files.has(f), f);
  for (const f of files) {
    if (/\.c?js$/.test(f)) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(`${ROOT}${f}`, 'utf8'))?.[1];
      if (url) assert.ok(files.has(posix.join(posix.dirname(f), url)), `${f} points at ${url}, not shipped`);
    }
    if (!f.endsWith('.map')) continue;
    for (const source of JSON.parse(readFileSync(`${ROOT}${f}`, 'utf8')).sources as string[]) {
      assert.ok(
        files.has(posix.normalize(posix.join(posix.dirname(f), source))),
        `${f} points at ${source}, not shipped`,
      );
    }
  }
  // Installing the tarball runs none of these, and npm lists none as an install script to
  // approve: `prepare` would be listed for a tarball given by path even though npm does not
  // run it there. The build runs before packing, and in a checkout's `npm install` (postprepare).
  for (const hook of ['preinstall', 'install', 'postinstall', 'prepare'])
    assert.equal(pkg.scripts[hook], undefined, hook);
  assert.equal(pkg.scripts.prepack, 'npm run build:package');
  assert.equal(pkg.scripts.postprepare, 'npm run build:package');
  // Every dependency with install scripts is reviewed in allowScripts (npm 11 warns on `npm install` otherwise).
  const withScripts = Object.entries(lock.packages).flatMap(([path, e]) =>
    e.hasInstallScript ? [path.replace(/^.*node_modules\//, '')] : [],
  );
  assert.deepEqual(
    withScripts.filter((name) => pkg.allowScripts?.[name] === undefined),
    [],
  );
});

test(
  'the tarball installs with no registry and no npm warning; smtpkit demo runs from it, and another program imports smtpkit, starts the sink and sends through SmtpSession, its types checked',
  { timeout: 60_000 },
  async (t) => {
    const skip = npmMissing();
    if (skip) return t.skip(skip);
    const dir = tempDir('smtpkit-pack-', t);
    const env = npmEnv(dir);
    const run = (command: string, args: string[], cwd: string, limitMs = 30_000) =>
      runGroup(command, args, { cwd, env, limitMs, signal: t.signal });
    const packed = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], ROOT);
    assert.equal(packed.code, 0, packed.stderr);
    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(
      join(app, 'package.json'),
      `${JSON.stringify({ name: 'smtpkit-user', private: true, type: 'module' })}\n`,
    );
    copyRuntimeDependencies(app);
    const install = await run('npm', ['install', '--offline', join(dir, `smtpkit-${pkg.version}.tgz`)], app);
    assert.equal(install.code, 0, install.stderr);
    assert.doesNotMatch(install.stderr, NPM_WARNING, install.stderr);
    assert.ok(!existsSync(join(app, 'node_modules/smtpkit/node_modules')), 'npm fetched dependencies of its own');

    const demo = await run(join(app, 'node_modules/.bin/smtpkit'), ['demo'], app);
    assert.equal(demo.code, 0, demo.stdout + demo.stderr);
    assert.match(demo.stdout, /message accepted by localhost:\d+/);

    // A program of its own, type-checked against the installed declarations by this checkout's tsc.
    const compilerOptions = {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      skipLibCheck: false,
      types: ['node'],
    };
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { ...compilerOptions, typeRoots: [`${ROOT}node_modules/@types`] },
        files: ['use.ts'],
      }),
    );
    writeFileSync(join(app, 'use.ts'), USE_TS);
    const tsc = await run(process.execPath, [TSC, '-p', app], app, 45_000);
    assert.equal(tsc.code, 0, tsc.stdout + tsc.stderr);
    const used = await run(process.execPath, ['use.js'], app);
    assert.equal(used.code, 0, used.stdout + used.stderr);
    const report = JSON.parse(used.stdout);
    assert.equal(report.final, 250);
    assert.match(report.queueId, /\S/);
    assert.deepEqual(report.received, { from: 'lib@example.test', to: ['friend@example.test'] });
    assert.ok(report.events.includes('sent:MAIL') && report.events.includes('reply:DATA'), report.events.join(' '));
    assert.equal(report.errorClass, 'connect');
  },
);

/**
 * What a program of its own does with the library: starts the sink, sends one message with
 * SmtpSession and the mail transaction, and reads a refused connection as a typed error.
 */
const USE_TS = `import { buildMessage, hasExtension, mailTransaction, parseAddress, Sink, SmtpkitError, SmtpSession } from 'smtpkit';
import { withSessionDefaults, withSinkDefaults, type SinkMessage, type SmtpEvent } from 'smtpkit';

const sink = new Sink(withSinkDefaults({ name: 'sink.test' }));
const port = await sink.listen();
const received: SinkMessage[] = [];
sink.on('message', (m: SinkMessage) => received.push(m));
const events: SmtpEvent[] = [];
const session = new SmtpSession(withSessionDefaults({ host: '127.0.0.1', port, ehloName: 'client.test' }), (e) => events.push(e));
await session.connect();
const caps = await session.ehlo();
const from = parseAddress('Library <lib@example.test>', 'from');
const to = parseAddress('friend@example.test', 'to');
const message = buildMessage({ from, to: [to], cc: [], subject: 'from the library', headers: [], body: 'Hello.', html: false, attachments: [], raw: undefined }, hasExtension(caps, '8BITMIME'));
const result = await mailTransaction(session, { from, recipients: [to] }, message, { pipelining: hasExtension(caps, 'PIPELINING') });
await session.quit();
// A port nobody listens on: the failure is a value with its class, not text to match.
let errorClass = '';
const closed = await sink.close().then(() => new SmtpSession(withSessionDefaults({ host: '127.0.0.1', port, timeouts: { connect: 5000 } }), undefined));
await closed.connect().catch((err: unknown) => (errorClass = err instanceof SmtpkitError ? err.errorClass : String(err)));
const kinds = events.map((e) => (e.type === 'sent' ? 'sent:' + e.command : e.type === 'reply' ? 'reply:' + e.command : e.type));
console.log(JSON.stringify({ final: result.final?.code, queueId: result.queueId, received: received.map((m) => ({ from: m.from, to: m.to }))[0], events: kinds, errorClass }));
`;

test(
  'a fresh clone: `npm install` (offline, node_modules from this checkout) builds it with no npm warning, so npx smtpkit runs; unbuilt, smtpkit says in one line to run npm run build (exit 70)',
  { timeout: 120_000 },
  async (t) => {
    const skip = npmMissing();
    if (skip) return t.skip(skip);
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 20_000,
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    try {
      git('rev-parse', '--verify', 'HEAD');
    } catch {
      return t.skip('not a git checkout (or no git): nothing to clone from');
    }
    // HEAD, with any uncommitted changes to tracked files (git stash create writes no ref); HEAD
    // alone when there are none or they cannot be stashed (a merge with conflicts).
    let tree = 'HEAD';
    try {
      tree = git('stash', 'create') || 'HEAD';
    } catch {
      // HEAD it is.
    }
    const dir = tempDir('smtpkit-clone-', t);
    const clone = join(dir, 'clone');
    mkdirSync(clone);
    execFileSync('sh', ['-c', 'git archive "$1" | tar -x -C "$2"', 'sh', tree, clone], { cwd: ROOT, timeout: 30_000 });
    assert.ok(!existsSync(join(clone, 'dist')));
    // node_modules as `npm install` leaves it: a copy, so that npm here cannot touch the checkout's.
    cpSync(`${ROOT}node_modules`, join(clone, 'node_modules'), { recursive: true, verbatimSymlinks: true });
    const env = npmEnv(dir);
    const run = (command: string, args: string[], limitMs = 30_000) =>
      runGroup(command, args, { cwd: clone, env, limitMs, signal: t.signal });
    const install = await run('npm', ['install', '--offline'], 90_000);
    assert.equal(install.code, 0, install.stdout + install.stderr);
    assert.doesNotMatch(install.stderr, NPM_WARNING, install.stderr);
    const version = await run('npx', ['--offline', 'smtpkit', '--version']);
    assert.equal(version.stdout, `${pkg.version}\n`, version.stderr);
    // --version answers from package.json alone; explain needs the bundle the install built.
    const explain = await run('npx', ['--offline', 'smtpkit', 'explain', '250']);
    assert.equal(explain.code, 0, explain.stderr);
    assert.match(explain.stdout, /^250\b/m);

    rmSync(join(clone, 'dist'), { recursive: true, force: true });
    const unbuilt = await run('npx', ['--offline', 'smtpkit', 'demo']);
    assert.equal(unbuilt.code, 70, unbuilt.stdout + unbuilt.stderr);
    assert.equal(unbuilt.stdout, '');
    assert.match(
      unbuilt.stderr,
      /^smtpkit: this checkout is not built \(dist\/smtpkit\.cjs is missing\): run `npm run build` in \S+\n$/,
    );
  },
);
