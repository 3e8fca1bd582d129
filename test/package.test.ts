import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from './helpers/paths.js';

const run = promisify(execFile);
// npm as a user runs it: none of the npm_* settings of the `npm test` around us.
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', CI: 'true' };
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8'));

test('npm pack: LICENSE (MIT), the bundle and bin, no tests, no source map pointing at a file it does not ship; no install-time build', async () => {
  // --ignore-scripts: prepack would rebuild dist/ under the other test files running now.
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, env });
  const files = new Set<string>(JSON.parse(stdout)[0].files.map((f: { path: string }) => f.path));
  assert.ok(files.has('LICENSE'));
  assert.equal(pkg.license, 'MIT');
  assert.match(readFileSync(`${ROOT}LICENSE`, 'utf8'), /^MIT License\n[\s\S]*Permission is hereby granted, free of charge/);
  // The CLI ships as one bundle (scripts/bundle.mjs) run by bin/smtpkit.cjs; tsc's tree stays home.
  for (const f of ['bin/smtpkit.cjs', 'bin/compile-cache.cjs', 'bin/smtpkit.js', 'dist/smtpkit.cjs', 'dist/esm-import.cjs', 'man/smtpkit.1']) assert.ok(files.has(f), f);
  assert.equal(pkg.bin.smtpkit, './bin/smtpkit.cjs');
  assert.deepEqual([...files].filter((f) => f.startsWith('dist/test/') || f.startsWith('test/') || f.startsWith('dist/src/')), []);
  for (const f of files) {
    if (/\.c?js$/.test(f)) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(`${ROOT}${f}`, 'utf8'))?.[1];
      if (url) assert.ok(files.has(posix.join(posix.dirname(f), url)), `${f} points at ${url}, not shipped`);
    }
    if (!f.endsWith('.map')) continue;
    for (const source of JSON.parse(readFileSync(`${ROOT}${f}`, 'utf8')).sources as string[]) {
      assert.ok(files.has(posix.normalize(posix.join(posix.dirname(f), source))), `${f} points at ${source}, not shipped`);
    }
  }
  // Installing a tarball runs none of these: the build happens before packing (prepack).
  for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(pkg.scripts[hook], undefined, hook);
  assert.equal(pkg.scripts.prepack, 'npm run build');
});

test('the tarball installs globally with no npm warnings, and smtpkit demo works from it', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync('/tmp/smtpkit-pack-');
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, env });
  const tarball = `${dir}/smtpkit-${pkg.version}.tgz`;
  const install = await run('npm', ['install', '--global', '--prefix', `${dir}/global`, tarball, '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, env });
  assert.doesNotMatch(install.stderr, /npm (warn|WARN|ERR)/, install.stderr);
  const demo = await run(`${dir}/global/bin/smtpkit`, ['demo'], { cwd: dir, env, timeout: 60_000 });
  assert.match(demo.stdout, /message accepted by localhost:\d+/);
});
