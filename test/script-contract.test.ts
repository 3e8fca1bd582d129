import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, type CliResult } from './helpers/cli.js';
import { capturePeer, PASSWORD, USER, type CapturePeer } from './helpers/capture-peer.js';
import { dnsServer, type DnsServer } from './helpers/dns-server.js';
import { BIN, fixture, TLS } from './helpers/paths.js';
import { lineServer, rawServer } from './helpers/raw-server.js';

/*
 * The contract a script relies on (README "Exit codes", -q and --json): where OK and FAILED
 * go, which exit code means what, and what a usage error looks like, the same in every command.
 */

let peer: CapturePeer;
let dns: DnsServer;
const dir = mkdtempSync(join(tmpdir(), 'smtpkit-contract-'));
before(async () => {
  peer = await capturePeer();
  dns = await dnsServer({
    'contract.test': [{ type: 'MX', exchange: 'mail.contract.test', priority: 10 }],
    'mail.contract.test': [{ type: 'A', address: '127.0.0.1' }],
  });
});
after(async () => {
  await Promise.all([peer.close(), dns.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const server = () => `127.0.0.1:${peer.port}`;
const env = { SMTPKIT_PASSWORD: PASSWORD };
const CLASSES: Record<number, string> = {
  1: 'checkFailed',
  3: 'dns',
  4: 'connect',
  5: 'protocol',
  6: 'tls',
  7: 'auth',
  8: 'rejected',
};

/** -q's whole output: one line, OK on stdout or FAILED (exit N, class) on stderr, class and code agreeing. */
function oneLine(args: string[], r: CliResult): string | undefined {
  const said = `${args.join(' ')}: exit ${r.code}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`;
  const all = r.stdout + r.stderr;
  if (all.split('\n').length !== 2 || !all.endsWith('\n')) return `not one line: ${said}`;
  if (r.code === 0) return /^OK: \S/.test(r.stdout) ? undefined : `no OK line on stdout: ${said}`;
  const m = /^FAILED \(exit (\d+), (\w+)\): \S/.exec(r.stderr);
  if (!m) return `no FAILED line on stderr: ${said}`;
  if (Number(m[1]) !== r.code || m[2] !== CLASSES[r.code ?? -1])
    return `the line's exit or class is not the process's: ${said}`;
  return undefined;
}

test('-q: exactly one line, OK: on stdout or FAILED (exit N, class): on stderr, from every command that talks to a server or DNS', async () => {
  const unsigned = join(dir, 'unsigned.eml');
  writeFileSync(unsigned, 'From: a@contract.test\r\nSubject: x\r\n\r\nno signature\r\n');
  const resolver = ['--resolver', `127.0.0.1:${dns.port}`, '--dns-timeout', '2s'];
  const runs: Array<[string[], number]> = [
    [['connect', server()], 0],
    [['connect', '127.0.0.1:1'], 4],
    [['ehlo', server()], 0],
    [['starttls', server(), '--ca-file', TLS.ca], 0],
    [['starttls', server(), '--tls-verify'], 6],
    [['auth', server(), '--ca-file', TLS.ca, '--user', USER], 0],
    [['auth', server(), '--ca-file', TLS.ca, '--user', 'nobody'], 7],
    [['send', server(), '--ca-file', TLS.ca, '--from', 'a@client.test', '--to', 'b@example.test'], 0],
    [['send', server(), '--ca-file', TLS.ca, '--from', 'a@client.test', '--to', 'reject-b@example.test'], 8],
    [['send', server(), '--ca-file', TLS.ca, '--from', 'a@client.test', '--to', 'b@example.test', '--count', '2'], 0],
    [
      [
        'send',
        server(),
        '--ca-file',
        TLS.ca,
        '--from',
        'a@client.test',
        '--to',
        'reject-b@example.test',
        '--count',
        '2',
      ],
      8,
    ],
    [['send', '127.0.0.1:1', '--from', 'a@client.test', '--to', 'b@example.test', '--count', '2'], 4],
    [['mx-lookup', 'contract.test', ...resolver], 0],
    [['mx-lookup', 'contract.test', '--resolver', '127.0.0.1:1', '--dns-timeout', '300ms'], 3],
    [['dkim-verify', unsigned, ...resolver], 1],
    [['probe', server(), '--ca-file', TLS.ca], 0],
    [['probe', server()], 1],
    [['probe', '127.0.0.1:1'], 4],
    [['probe', server(), '127.0.0.1:1', '--ca-file', TLS.ca], 4],
    [['check-message', unsigned, ...resolver], 0],
  ];
  const wrong: string[] = [];
  for (const [args, code] of runs) {
    const r = await runCli([...args, '-q'], { env, limitMs: 20_000 });
    if (r.code !== code) wrong.push(`${args.join(' ')}: exit ${r.code}, wanted ${code}: ${r.stdout}${r.stderr}`);
    const problem = oneLine(args, r);
    if (problem) wrong.push(problem);
  }
  assert.deepEqual(wrong, []);
});

test('send -q: a partial delivery names the refused recipients in its one line', async () => {
  const r = await runCli([
    'send',
    server(),
    '--ca-file',
    TLS.ca,
    '--from',
    'a@client.test',
    '--to',
    'b@example.test,reject-c@example.test',
    '-q',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(
    r.stdout,
    /^OK: message accepted by 127\.0\.0\.1:\d+ for 1 of 2 recipient\(s\), .*; refused: <reject-c@example\.test> 550 [^\n]*\n$/,
  );
});

test('load mode: a refused connection is exit 4 (class connect), and no latency table of zeros when nothing was measured', async () => {
  const args = [
    'send',
    '127.0.0.1:1',
    '--from',
    'a@client.test',
    '--to',
    'b@example.test',
    '--count',
    '3',
    '--concurrency',
    '2',
  ];
  const text = await runCli(args, { env: { SMTPKIT_LOAD_THREADS: '1' } });
  assert.equal(text.code, 4, text.stdout + text.stderr);
  assert.doesNotMatch(text.stdout, /latency|^\s+\w+\s+0\s+0\s+0/m);
  assert.match(text.stdout, /^!!! 3 × cannot connect to 127\.0\.0\.1:1/m);
  const json = await runCli([...args, '--json'], { env: { SMTPKIT_LOAD_THREADS: '1' } });
  assert.equal(json.code, 4);
  const doc = JSON.parse(json.stdout);
  assert.deepEqual([doc.outcome.exitCode, doc.outcome.errorClass, doc.result.failed], [4, 'connect', 3]);
  // What was measured is shown, what was not is left out.
  const some = await runCli([
    'send',
    server(),
    '--ca-file',
    TLS.ca,
    '--from',
    'a@client.test',
    '--to',
    'reject-b@example.test',
    '--count',
    '2',
  ]);
  assert.equal(some.code, 8, some.stdout + some.stderr);
  assert.match(some.stdout, /^ {4}connect +2 /m);
  assert.doesNotMatch(some.stdout, /^ {4}(envelope|data|message) /m);
});

test('--json: a usage error is one JSON document with errorClass "usage" from every command, commander’s own errors and load mode included', async () => {
  const runs: string[][] = [
    ['connect', '127.0.0.1:1', '--connect-timeout', 'abc'],
    ['connect', '127.0.0.1:1', '--no-such-thing'],
    ['connect', '127.0.0.1:1', '-s', '127.0.0.1:2'],
    ['repl', '127.0.0.1:1', '--connect-timeout', 'abc'],
    ['ehlo', '127.0.0.1:1', '--no-such-thing'],
    ['ehlo', '127.0.0.1:1', '--timeout'],
    ['starttls', '127.0.0.1:1', '--tls-min', '9'],
    ['auth', '127.0.0.1:1', '--user', 'a', '--mech', 'NOPE'],
    ['send', '127.0.0.1:1', '--to', 'b@example.test', '--tls-optional'],
    ['send', '127.0.0.1:1', '--to', 'b@example.test', '--count', 'abc'],
    ['send', '127.0.0.1:1', '--to', 'b@example.test', '--count', '2', '--subject', 'a\nb'],
    ['send', '--dry-run', '--to', 'not an address'],
    ['send', '--to', 'a@one.test', '--to', 'b@two.test'],
    ['mx-lookup', 'bad..domain'],
    ['mx-lookup', 'example.test', '--no-such-thing'],
    ['dkim-verify', '/nonexistent/message.eml'],
    ['probe', '127.0.0.1:1', '--no-such-thing'],
    ['probe', '127.0.0.1:1', '--timeout', 'abc'],
    ['probe', 'bad host'],
    ['explain', '999'],
    ['explain', '550', '--no-such-thing'],
    ['check-message', '/nonexistent/message.eml'],
    ['check-message', '-', '--ip', '192.0.2.300'],
  ];
  const wrong: string[] = [];
  for (const args of runs) {
    const r = await runCli([args[0]!, '--json', ...args.slice(1)]);
    const said = `${args.join(' ')}: exit ${r.code}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`;
    let doc:
      | { command?: string; outcome?: { ok: boolean; exitCode: number; errorClass: string; message: string } }
      | undefined;
    try {
      doc = JSON.parse(r.stdout);
    } catch {
      doc = undefined;
    }
    const o = doc?.outcome;
    if (
      r.code !== 2 ||
      r.stderr !== '' ||
      !o ||
      o.ok !== false ||
      o.exitCode !== 2 ||
      o.errorClass !== 'usage' ||
      !o.message ||
      doc?.command !== args[0]
    )
      wrong.push(said);
  }
  assert.deepEqual(wrong, []);
});

test('-q: a usage error is one FAILED line too (commander’s help pointer is left out)', async () => {
  for (const args of [
    ['ehlo', '127.0.0.1:1', '--no-such-thing', '-q'],
    ['-q', 'send', '127.0.0.1:1', '--to', 'b@example.test', '--count', 'abc'],
  ]) {
    const r = await runCli(args);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^FAILED \(exit 2, usage\): [^\n]+\n$/, JSON.stringify(r.stderr));
  }
});

/** A repl script fed in two parts: the second after the server has hung up. */
async function scriptAcrossHangUp(port: number, extra: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [BIN, 'repl', `127.0.0.1:${port}`, '--timeout', '3s', ...extra], {
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  child.stdin.on('error', () => {});
  child.stdin.write('NOOP\nNOOP\n');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  // The rest of the script comes only once the server is gone: the hang-up is between lines.
  while (!/closed the connection|closed the session/.test(out) && child.exitCode === null)
    await new Promise((r) => setTimeout(r, 20));
  child.stdin.end('NOOP\nNOOP\n');
  const code = await new Promise<number | null>((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.on('exit', (c) => resolve(c)),
  );
  clearTimeout(timer);
  return { code, out };
}

test('repl script: a server that hangs up before the script ends is exit 5, with or without --keep-going', async () => {
  // Answers the second NOOP, then closes without a word; or answers it 421 and closes.
  const quiet = await rawServer((s) => {
    s.write('220 x ESMTP\r\n');
    let n = 0;
    lineServer(s, () => (++n === 2 ? (setTimeout(() => s.end(), 50), '250 ok\r\n') : '250 ok\r\n'));
  });
  const closing = await rawServer((s) => {
    s.write('220 x ESMTP\r\n');
    let n = 0;
    lineServer(s, () => (++n === 2 ? (setTimeout(() => s.end(), 50), '421 4.3.2 shutting down\r\n') : '250 ok\r\n'));
  });
  try {
    for (const extra of [[], ['--keep-going']]) {
      for (const [name, srv] of [
        ['hang-up', quiet],
        ['421', closing],
      ] as const) {
        const r = await scriptAcrossHangUp(srv.port, extra);
        assert.equal(r.code, 5, `${name} ${extra.join(' ')}: ${r.out}`);
        assert.match(r.out, /^\*\*\* the server closed the (connection|session) before the script ended/m);
      }
    }
  } finally {
    await Promise.all([quiet.close(), closing.close()]);
  }
});

test('swaks habits: --body @FILE, --attach @FILE and --data @FILE read the file', async () => {
  const body = join(dir, 'body.txt');
  const attachment = join(dir, 'report.csv');
  const raw = join(dir, 'raw.eml');
  writeFileSync(body, 'the body from a file\n');
  writeFileSync(attachment, 'a,b\n1,2\n');
  writeFileSync(raw, 'Subject: raw from a file\r\n\r\nraw body\r\n');
  const before = peer.messages.length;
  const r = await runCli([
    'send',
    server(),
    '--ca-file',
    TLS.ca,
    '--from',
    'a@client.test',
    '--to',
    'b@example.test',
    '--body',
    `@${body}`,
    '--attach',
    `@${attachment}`,
    '-q',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const m = peer.messages[before]!.data.toString();
  assert.match(m, /the body from a file/);
  assert.doesNotMatch(m, /@\//);
  assert.match(m, /filename="?report\.csv"?/);
  assert.match(m, new RegExp(`\r\n${Buffer.from('a,b\n1,2\n').toString('base64')}\r\n`));
  const d = await runCli([
    'send',
    server(),
    '--ca-file',
    TLS.ca,
    '--from',
    'a@client.test',
    '--to',
    'b@example.test',
    '-d',
    `@${raw}`,
    '-q',
  ]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(peer.messages[before + 1]!.data.toString(), /^Subject: raw from a file\r\n\r\nraw body/);
});

test('swaks habits: -s HOST on every session command; the --tls-verify failure names --ca-file; bare smtpkit prints help on stdout', async () => {
  for (const args of [
    ['connect'],
    ['ehlo'],
    ['starttls', '--ca-file', TLS.ca],
    ['auth', '--ca-file', TLS.ca, '--user', USER],
    ['send', '--ca-file', TLS.ca, '--from', 'a@client.test', '--to', 'b@example.test'],
  ]) {
    const r = await runCli([...args, '-s', server(), '-q'], { env });
    assert.equal(r.code, 0, `${args[0]} -s: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^OK: /);
  }
  const twice = await runCli(['ehlo', server(), '--server', server()]);
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /^smtpkit: give the server once/);
  const none = await runCli(['auth', '--user', USER]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^smtpkit: give a server/);

  const verify = await runCli(['starttls', server(), '--tls-verify', '-q']);
  assert.equal(verify.code, 6);
  assert.match(
    verify.stderr,
    /^FAILED \(exit 6, tls\): the certificate is not trusted: .*--ca-file FILE trusts a private CA/,
  );
  const json = JSON.parse((await runCli(['starttls', server(), '--tls-verify', '--json'])).stdout);
  assert.deepEqual(json.outcome.hint, { kind: 'ca-file' });

  const bare = await runCli([]);
  assert.equal(bare.code, 0);
  assert.equal(bare.stderr, '');
  assert.match(bare.stdout, /^Usage: smtpkit \[options\] \[command\]/);
  assert.match(bare.stdout, /^Exit codes:/m);
});

test('bad input named on the command line is a usage error (exit 2, one line), never an internal error (70)', async () => {
  const file = join(dir, 'plain-file');
  writeFileSync(file, 'not a directory\n');
  const runs: string[][] = [
    ['dkim-verify', dir],
    ['check-message', dir],
    ['sink', '-p', '0', '--save', file],
    ['mx-lookup', 'example.test', '--doh', 'http://127.0.0.1:9/dns-query'],
    ['mx-lookup', 'example.test', '--doh', 'not a url'],
    ['mx-lookup', 'example.test', '--resolver', '127.0.0.1:99999'],
    ['mx-lookup', 'example.test', '--resolver', '127.0.0.1:0'],
    // Files that are not PEM, or a key that is not the certificate's.
    ['starttls', server(), '--ca-file', TLS.ca, '--cert', file, '--key', file, '-q'],
    [
      'starttls',
      server(),
      '--ca-file',
      TLS.ca,
      '--cert',
      fixture('tls/expired.pem'),
      '--key',
      fixture('tls/weak1024.key'),
      '-q',
    ],
    ['sink', '-p', '0', '--tls', '--cert', file, '--key', file],
  ];
  const wrong: string[] = [];
  for (const args of runs) {
    const r = await runCli(args);
    const said = args.includes('-q') ? /^FAILED \(exit 2, usage\): [^\n]+\n$/ : /^smtpkit: [^\n]+\n$/;
    if (r.code !== 2 || r.stdout !== '' || !said.test(r.stderr) || /internal error/.test(r.stderr))
      wrong.push(
        `${args.join(' ')}: exit ${r.code}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`,
      );
  }
  assert.deepEqual(wrong, []);
});

test('probe --format json: a usage error is the JSON document too; --format nagios: any failure of smtpkit itself is SMTP UNKNOWN, exit 3', async () => {
  for (const args of [['--no-such-thing'], ['--timeout', 'abc'], ['--warn-days', 'x']]) {
    const r = await runCli(['probe', '127.0.0.1:1', '--format', 'json', ...args]);
    const said = `${args.join(' ')}: exit ${r.code}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`;
    assert.equal(r.code, 2, said);
    assert.equal(r.stderr, '', said);
    assert.deepEqual([JSON.parse(r.stdout).command, JSON.parse(r.stdout).outcome.errorClass], ['probe', 'usage'], said);
  }
  for (const args of [
    ['--format', 'nagios', '--no-such-thing'],
    ['--format=NAGIOS', '--timeout', 'abc'],
    ['--format', 'nagios', '--warn-ms'],
  ]) {
    const r = await runCli(['probe', '127.0.0.1:1', ...args]);
    const said = `${args.join(' ')}: exit ${r.code}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`;
    assert.equal(r.code, 3, said);
    assert.equal(r.stderr, '', said);
    assert.match(r.stdout, /^SMTP UNKNOWN - [^\n]+\n$/, said);
  }
});
