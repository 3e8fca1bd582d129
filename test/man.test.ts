import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { ROOT } from './helpers/paths.js';

const MAN = `${ROOT}man/smtpkit.1`;
const hasGroff = spawnSync('groff', ['--version']).status === 0;

test('the man page renders without warnings', { skip: hasGroff ? false : 'groff is not installed' }, () => {
  const r = spawnSync('groff', ['-man', '-ww', '-z', MAN], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.equal(r.stderr, '');
});

test('the man page documents every option of every command', async () => {
  const page = readFileSync(MAN, 'utf8').replace(/\\-/g, '-');
  const help = (await Promise.all(['ehlo', 'starttls', 'auth', 'send', 'repl', 'connect', 'probe', 'mx-lookup', 'sink', 'demo', 'explain', 'exporter'].map((c) => runCli([c, '--help'])))).map((r) => r.stdout).join('\n');
  const options = [...new Set([...help.matchAll(/--[a-z][a-z0-9-]+/g)].map((m) => m[0]))].filter((o) => o !== '--help');
  assert.ok(options.length > 50);
  for (const o of options) assert.ok(page.includes(o), `${o} is missing from man/smtpkit.1`);
  for (const code of ['0', '1', '2', '3', '4', '5', '6', '7', '8', '70']) assert.match(page, new RegExp(`^\\.B ${code}$`, 'm'));
});
