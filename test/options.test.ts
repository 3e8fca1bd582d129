import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { normaliseArgv } from '../src/cli/argv.js';
import { runCli } from './helpers/cli.js';
import { TLS } from './helpers/paths.js';
import { smtpPeer, type Peer } from './helpers/smtp-peer.js';

let peer: Peer;
let noTls: Peer;
const logins: string[] = [];

before(async () => {
  const onAuth = (
    auth: { username?: string; password?: string },
    _s: unknown,
    cb: (e: Error | null, r?: { user: string }) => void,
  ) => {
    logins.push(`${auth.username}:${auth.password}`);
    cb(null, { user: auth.username ?? '' });
  };
  peer = await smtpPeer({ onAuth: onAuth as never, authMethods: ['PLAIN', 'LOGIN'] });
  noTls = await smtpPeer({ hideSTARTTLS: true });
});
after(async () => {
  await Promise.all([peer.close(), noTls.close()]);
});

const hasZsh = spawnSync('zsh', ['--version']).status === 0;

test('swaks habits: -s/--server, --tls, -au and --auth-password-env, all in one send', async () => {
  const r = await runCli(
    [
      'send',
      '-s',
      `127.0.0.1:${peer.port}`,
      '--tls',
      '-au',
      'bob',
      '--auth-password-env',
      'MY_PW',
      '--ca-file',
      TLS.ca,
      '-f',
      'a@example.test',
      '-t',
      'b@example.test',
      '--json',
    ],
    { env: { MY_PW: 'pw-1' } },
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.notEqual(JSON.parse(r.stdout).tls, null);
  assert.ok(logins.includes('bob:pw-1'));
  const server = await runCli([
    'send',
    '--server',
    `127.0.0.1:${peer.port}`,
    '--to',
    'b@example.test',
    '--from',
    'a@example.test',
    '--starttls',
    'never',
    '-q',
  ]);
  assert.equal(server.code, 0, server.stderr);
  const both = await runCli([
    'send',
    `127.0.0.1:${peer.port}`,
    '-s',
    `127.0.0.1:${peer.port}`,
    '--to',
    'b@example.test',
  ]);
  assert.equal(both.code, 2);
  // --tls is --starttls always: where STARTTLS is missing it fails (exit 6) instead of going on in clear.
  const strict = await runCli([
    'send',
    '-s',
    `127.0.0.1:${noTls.port}`,
    '--tls',
    '--to',
    'b@example.test',
    '--from',
    'a@example.test',
    '-q',
  ]);
  assert.equal(strict.code, 6, strict.stderr);
});

test('values of --quit-after, --format, --mech, --starttls are read without regard to case', async () => {
  const r = await runCli([
    'send',
    `127.0.0.1:${peer.port}`,
    '--quit-after',
    'RCPT',
    '--starttls',
    'NEVER',
    '--to',
    'b@example.test',
    '--from',
    'a@example.test',
    '--json',
  ]);
  assert.equal(r.code, 0, r.stdout);
  assert.match(JSON.parse(r.stdout).outcome.message, /stopped after rcpt/);
  const probe = await runCli(['probe', `127.0.0.1:${peer.port}`, '--format', 'JSON', '--ca-file', TLS.ca]);
  assert.equal(JSON.parse(probe.stdout).command, 'probe');
  const bad = await runCli(['probe', `127.0.0.1:${peer.port}`, '--format', 'xml']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--format takes text, json, jsonl, junit, nagios or prometheus, not "xml"/);
  assert.deepEqual(normaliseArgv(['auth', 'h', '--mech', 'scram-sha-256']), ['auth', 'h', '--mech', 'scram-sha-256']);
  // swaks' stop points are understood too: --quit-after banner is after the greeting.
  const banner = await runCli([
    'send',
    `127.0.0.1:${peer.port}`,
    '--quit-after',
    'BANNER',
    '--to',
    'b@example.test',
    '--from',
    'a@example.test',
    '--json',
  ]);
  assert.equal(banner.code, 0, banner.stdout);
  assert.match(JSON.parse(banner.stdout).outcome.message, /stopped after connect/);
});

test('options before the command: smtpkit --no-color ehlo ..., smtpkit -q probe ..., with values', async () => {
  assert.deepEqual(normaliseArgv(['--no-color', 'ehlo', 'h']), ['ehlo', '--no-color', 'h']);
  assert.deepEqual(normaliseArgv(['-q', '--timeout', '5s', 'probe', 'h']), [
    'probe',
    '--quiet',
    '--timeout',
    '5s',
    'h',
  ]);
  assert.deepEqual(normaliseArgv(['send', '-au', 'bob', '--auth-password-env=X', '--helo', 'me']), [
    'send',
    '--user',
    'bob',
    '--password-env=X',
    '--ehlo',
    'me',
  ]);
  const q = await runCli(['-q', 'probe', `127.0.0.1:${peer.port}`, '--ca-file', TLS.ca]);
  assert.equal(q.code, 0, q.stderr);
  assert.match(q.stdout, /^OK( with warnings)?: 127\.0\.0\.1:\d+: \d+ passed/);
  assert.doesNotMatch(q.stdout, /✔/, '-q prints only the verdict');
  const c = await runCli(['--no-color', '--timeout', '5s', 'ehlo', `127.0.0.1:${peer.port}`], {
    env: { FORCE_COLOR: '1' },
  });
  assert.equal(c.code, 0, c.stderr);
  assert.doesNotMatch(c.stdout, /\x1b\[/);
  const help = await runCli(['-h', 'send']);
  assert.equal(help.code, 0);
});

test('swaks options smtpkit names otherwise are refused with smtpkit’s name (exit 2)', async () => {
  for (const [option, name] of [
    ['--tls-optional', '--starttls auto'],
    ['--tls-protocol', '--tls-min'],
    ['--auth-hide-password', '--show-secrets'],
    ['--pipeline', '--no-pipelining'],
  ] as const) {
    const r = await runCli(['send', '127.0.0.1:1', option, '--to', 'b@example.test']);
    assert.equal(r.code, 2, option);
    assert.match(
      r.stderr,
      new RegExp(`unknown option ${option} \\(a swaks option\\?\\): smtpkit .*${name.replace(/-/g, '\\-')}`),
    );
  }
  const plain = await runCli(['send', '127.0.0.1:1', '--no-such-thing']);
  assert.equal(plain.code, 2);
  assert.match(plain.stderr, /unknown option '--no-such-thing'/);
});

test('a usage error reads the same in every command: "smtpkit: ..." on stderr (with -q "FAILED (exit 2, usage): ..."), exit 2, nothing on stdout', async () => {
  const runs: string[][] = [
    ['ehlo', '127.0.0.1:1', '--connect-timeout', 'abc'],
    ['ehlo', '127.0.0.1:1', '--connect-timeout', 'abc', '--quiet'],
    ['ehlo', '127.0.0.1:1', '--mx', 'example.test'],
    ['connect', '127.0.0.1:1', '--connect-timeout', 'abc'],
    ['starttls', '127.0.0.1:1', '--tls-min', '9'],
    ['auth', '127.0.0.1:1', '--user', 'a', '--password-file', '/nonexistent/pw'],
    ['send', '127.0.0.1:1', '--to', 'b@example.test', '--connect-timeout', 'abc'],
    ['send', '127.0.0.1:1', '--to', 'b@example.test', '--count', 'abc'],
    ['repl', '127.0.0.1:1', '--connect-timeout', 'abc'],
    ['probe', '127.0.0.1:1', '--connect-timeout', 'abc'],
    ['probe', '127.0.0.1:1', '--connect-timeout', 'abc', '--quiet'],
    ['send', '127.0.0.1:1', '--to', 'b@example.test', '--count', '5', '--connect-timeout', 'abc', '--quiet'],
    ['ehlo', '127.0.0.1:1', '--no-such-thing', '--quiet'],
    ['sink', '--max-size', 'abc'],
    ['mx-lookup', 'example.test', '--dns-timeout', 'abc'],
    ['mx-lookup', 'example.test', '--dns-timeout', 'abc', '--quiet'],
    ['dkim-verify', '/nonexistent/message.eml'],
    ['check-message', '/nonexistent/message.eml'],
    ['check-message', '-', '--ip', 'not-an-address'],
    ['explain', 'zzz'],
    ['exporter', '--listen', '192.0.2.1:9'],
    ['completion', 'tcsh'],
    // commander's own errors and the swaks names
    ['ehlo', '127.0.0.1:1', '--no-such-thing'],
    ['nosuchcommand'],
    ['send', '127.0.0.1:1', '--tls-optional', '--to', 'b@example.test'],
  ];
  const wrong: string[] = [];
  for (const args of runs) {
    const r = await runCli(args);
    const said = `${args.join(' ')}: exit ${r.code}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`;
    // -q keeps its one-line contract for usage errors too: a script looking for FAILED sees them.
    const quiet = args.includes('--quiet');
    const first = quiet ? /^FAILED \(exit 2, usage\): \S/ : /^smtpkit: \S/;
    const other = quiet ? /^(\*\*\*|error:|smtpkit:)/m : /^(\*\*\*|error:|FAILED)/m;
    const lines = r.stderr.trimEnd().split('\n').length;
    if (
      r.code !== 2 ||
      r.stdout !== '' ||
      !first.test(r.stderr) ||
      other.test(r.stderr) ||
      (quiet && lines !== 1) ||
      /^smtpkit: smtpkit/.test(r.stderr)
    )
      wrong.push(said);
  }
  assert.deepEqual(wrong, []);
});

test('smtpkit completion bash: valid bash that completes commands, options and option values', async () => {
  const script = (await runCli(['completion', 'bash'])).stdout;
  assert.equal(spawnSync('bash', ['-n'], { input: script }).status, 0);
  const complete = (...words: string[]) => {
    const program = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _smtpkit; printf '%s\\n' "\${COMPREPLY[@]}"`;
    return spawnSync('bash', ['--norc', '--noprofile'], { input: program, encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean);
  };
  assert.deepEqual(complete('smtpkit', 'pro'), ['probe']);
  assert.deepEqual(complete('smtpkit', 'send', '--mech', 'SC'), ['SCRAM-SHA-256', 'SCRAM-SHA-1']);
  assert.deepEqual(complete('smtpkit', 'probe', '--format', 'j'), ['json', 'jsonl', 'junit']);
  assert.deepEqual(complete('smtpkit', 'send', '--quit'), ['--quit-after']);
  assert.ok(complete('smtpkit', 'starttls', '--').includes('--save-cert'));
  assert.deepEqual(complete('smtpkit', 'completion', 'z'), ['zsh']);
  const bad = await runCli(['completion', 'tcsh']);
  assert.equal(bad.code, 2);
});

test('smtpkit completion zsh and fish', { skip: hasZsh ? false : 'zsh is not installed' }, async () => {
  const zsh = (await runCli(['completion', 'zsh'])).stdout;
  const check = spawnSync('zsh', ['-n'], { input: zsh, encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
  const loaded = spawnSync(
    'zsh',
    ['-f', '-c', `autoload -U compinit; compinit -u -D; eval "$(cat)"; whence -w _smtpkit`],
    { input: zsh, encoding: 'utf8' },
  );
  assert.match(loaded.stdout, /_smtpkit: function/, loaded.stderr);
  assert.match(zsh, /'--mech\[[^\]]*\]:value:\(SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN XOAUTH2\)'/);
  const fish = (await runCli(['completion', 'fish'])).stdout;
  assert.match(
    fish,
    /^complete -c smtpkit -n '__fish_seen_subcommand_from probe' -l format -x -a 'text json jsonl junit nagios prometheus' -d /m,
  );
});

test('completion: an unknown shell name is refused with exit 2, its control characters escaped', async () => {
  const r = await runCli(['completion', 'ba\u001b]0;x\u0007\u009bsh']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /give bash, zsh or fish/);
  assert.doesNotMatch(r.stderr, /[\u001b\u0007\u009b]/);
});
