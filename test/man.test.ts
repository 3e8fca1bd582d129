import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { ROOT } from './helpers/paths.js';
import { COMMANDS } from '../src/cli/commands.js';
import { parseFlags } from '../src/cli/declare.js';

const MAN = `${ROOT}man/smtpkit.1`;
const hasGroff = spawnSync('groff', ['--version']).status === 0;

test('the man page renders without warnings', { skip: hasGroff ? false : 'groff is not installed' }, () => {
  const r = spawnSync('groff', ['-man', '-ww', '-z', MAN], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.equal(r.stderr, '');
});

test('the man page documents every declared option of every command, and names no option that is not declared', async () => {
  const page = readFileSync(MAN, 'utf8').replace(/\\-/g, '-');
  const declared = new Set<string>(['--help', '--version']);
  let count = 0;
  for (const c of COMMANDS) {
    assert.ok(
      new RegExp(`^\\.B ${c.name.replace(/-/g, '-')}$`, 'm').test(page),
      `command ${c.name} is missing from man/smtpkit.1`,
    );
    for (const o of c.options) {
      const f = parseFlags(o.flags);
      count++;
      declared.add(`--${f.long}`);
      for (const a of o.aliases ?? []) declared.add(a);
      assert.ok(page.includes(`--${f.long}`), `${c.name} --${f.long} is missing from man/smtpkit.1`);
      if (f.short)
        assert.ok(
          new RegExp(`(^|[\\s"])-${f.short}\\b`, 'm').test(page),
          `${c.name} -${f.short} is missing from man/smtpkit.1`,
        );
      for (const a of o.aliases ?? []) assert.ok(page.includes(a), `the alias ${a} is missing from man/smtpkit.1`);
    }
  }
  assert.ok(count > 150);
  for (const [name] of page.matchAll(/--[a-z][a-z0-9-]+/g))
    assert.ok(declared.has(name), `man/smtpkit.1 names ${name}, which no command declares`);
  for (const code of ['0', '1', '2', '3', '4', '5', '6', '7', '8', '70'])
    assert.match(page, new RegExp(`^\\.B ${code}$`, 'm'));
});

test('the man page gives each declared default where it documents the option (defaults live in the declaration)', () => {
  const lines = readFileSync(MAN, 'utf8')
    .replace(/\\-/g, '-')
    .replace(/\\f[BIRP]/g, '')
    .split('\n');
  let checked = 0;
  for (const c of COMMANDS)
    for (const o of c.options) {
      const value = o.default ?? o.fallback;
      if (value === undefined) continue;
      const { long } = parseFlags(o.flags);
      checked++;
      // Each entry for the option: its .B/.BI line and the text up to the next entry.
      const said = lines.some((line, i) => {
        if (!/^\.B[IR]? /.test(line) || !new RegExp(`--${long}(?![a-z-])`).test(line)) return false;
        const end = lines.findIndex((l, j) => j > i && /^\.(TP|SH|SS|RE)\b/.test(l));
        return lines
          .slice(i, end < 0 ? undefined : end)
          .join(' ')
          .replace(/"/g, '')
          .includes(value);
      });
      assert.ok(said, `man/smtpkit.1 does not give ${c.name} --${long}'s default ${JSON.stringify(value)}`);
    }
  assert.ok(checked > 30);
});

test('--help shows the declared options of each command', async () => {
  for (const c of COMMANDS) {
    const help = (await runCli([c.name, '--help'])).stdout;
    for (const o of c.options)
      assert.ok(help.includes(`--${parseFlags(o.flags).long}`), `${c.name} --help lacks ${o.flags}`);
  }
});
