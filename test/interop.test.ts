import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { BIN } from './helpers/paths.js';
import { hasTmux, Pty } from './helpers/pty.js';
import { tempDir } from './helpers/process-group.js';

/**
 * Against the real Postfix that test/interop/postfix.sh starts. Under CI these must run;
 * elsewhere they skip, saying why, when no server is up.
 */
const ENV_FILE = process.env.SMTPKIT_INTEROP_ENV ?? '/tmp/smtpkit-interop/env.json';
interface InteropEnv {
  smtp: number;
  submission: number;
  smtps: number;
  ipv6: boolean;
  ca: string;
}
const env: InteropEnv | undefined = existsSync(ENV_FILE) ? JSON.parse(readFileSync(ENV_FILE, 'utf8')) : undefined;
const skip = env ? false : `no Postfix is up (${ENV_FILE} is missing; run test/interop/postfix.sh start)`;
if (!env && process.env.CI)
  throw new Error(`CI must run the interop tests, but ${ENV_FILE} is missing: did .ci/run start Postfix?`);
if (skip) console.log(`# interop tests skipped: ${skip}`);

test('Postfix plain port: ehlo lists its extensions, each explained', { skip }, async () => {
  const r = await runCli(['ehlo', `127.0.0.1:${env!.smtp}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^<-  220 mail\.test ESMTP smtpkit interop$/m);
  assert.match(r.stdout, /^<-  250-SIZE 10240000 +# messages up to 10240000 bytes \(10 MB\)/m);
  assert.match(r.stdout, /^<-  250 CHUNKING +# the message may be sent in chunks with BDAT/m);
  assert.match(r.stdout, /^!!! AUTH PLAIN\/LOGIN is offered without TLS/m);
  const doc = JSON.parse((await runCli(['ehlo', `127.0.0.1:${env!.smtp}`, '--json'])).stdout);
  for (const ext of ['PIPELINING', 'STARTTLS', 'ENHANCEDSTATUSCODES', '8BITMIME', 'DSN', 'SMTPUTF8', 'CHUNKING'])
    assert.ok(ext in doc.capabilities.extensions, ext);
  assert.deepEqual(doc.capabilities.extensions.AUTH.slice(0, 3), ['PLAIN', 'LOGIN', 'CRAM-MD5']);
});

test(
  'Postfix plain port over IPv6',
  { skip: skip || (env && !env.ipv6 ? 'no IPv6 loopback here' : false) },
  async () => {
    const r = await runCli(['ehlo', `[::1]:${env!.smtp}`, '-q']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^OK: \[::1\]:\d+ answered EHLO/);
  },
);

test('Postfix submission: STARTTLS with --ca-file and --tls-verify, AUTH appears after TLS', { skip }, async () => {
  const r = await runCli([
    'starttls',
    `localhost:${env!.submission}`,
    '-4',
    '--ca-file',
    env!.ca,
    '--tls-verify',
    '--json',
  ]);
  assert.equal(r.code, 0, r.stdout);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.tls.trusted, true);
  assert.equal(doc.tls.nameMatches, true);
  assert.equal(doc.tls.sni, 'localhost');
  assert.match(doc.tls.protocol, /^TLSv1\.[23]$/);
  assert.equal(doc.tls.chain[0].subject, 'CN=mail.test');
  assert.ok(!('AUTH' in doc.capabilitiesBeforeTls.extensions), 'no AUTH before TLS on submission');
  assert.ok('AUTH' in doc.capabilities.extensions);
  assert.ok(doc.timings.tls > 0 && doc.timings['ehlo-tls'] > 0);
});

test('Postfix submission without our CA: untrusted is a warning, and with --tls-verify exit 6', { skip }, async () => {
  const warn = await runCli(['starttls', `127.0.0.1:${env!.submission}`]);
  assert.equal(warn.code, 0);
  assert.match(
    warn.stdout,
    /^!!! the certificate is not trusted: .*\(--ca-file FILE trusts a private CA or a self-signed certificate; --tls-verify makes this an error\)$/m,
  );
  const strict = await runCli(['starttls', `127.0.0.1:${env!.submission}`, '--tls-verify']);
  assert.equal(strict.code, 6);
  assert.match(strict.stderr, /^\*\*\* the certificate is not trusted: .*\(--ca-file FILE trusts a private CA/m);
});

test('Postfix implicit TLS port', { skip }, async () => {
  const r = await runCli(['ehlo', `127.0.0.1:${env!.smtps}`, '--tls-on-connect', '--ca-file', env!.ca, '--tls-verify']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^=== TLS TLSv1\.[23]/m);
  assert.match(r.stdout, /^<~  220 mail\.test ESMTP/m);
  assert.match(r.stdout, /answered EHLO with \d+ extensions over TLS/);
  const plain = await runCli(['ehlo', `127.0.0.1:${env!.smtps}`, '--greeting-timeout', '1s']);
  assert.equal(plain.code, 4, 'without TLS the implicit-TLS port sends no greeting');
  assert.match(plain.stderr, /use --tls-on-connect or smtps:\/\/host:port/);
  // Given time, the silence is recognised as implicit TLS and the session goes on over it.
  const found = await runCli(['ehlo', `127.0.0.1:${env!.smtps}`, '--ca-file', env!.ca, '--json']);
  assert.equal(found.code, 0, found.stdout);
  const doc = JSON.parse(found.stdout);
  assert.match(doc.tls.protocol, /^TLSv1\.[23]$/);
  assert.ok(
    doc.events.some(
      (e: { type: string; message?: string }) => e.type === 'warning' && /expects implicit TLS/.test(e.message ?? ''),
    ),
  );
  const url = await runCli(['probe', `smtps://127.0.0.1:${env!.smtps}`, '--ca-file', env!.ca, '--format', 'json']);
  assert.match(
    JSON.parse(url.stdout).results[0].checks.find((c: { name: string }) => c.name === 'tls').message,
    /^implicit TLS \(port \d+\)$/,
  );
});

const authEnv = () => ({ SMTPKIT_PASSWORD: (env as InteropEnv & { password: string }).password });
const user = () => (env as InteropEnv & { user: string }).user;

test('Postfix + Dovecot: PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1 and SCRAM-SHA-256 after STARTTLS', { skip }, async () => {
  for (const mech of ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256']) {
    const r = await runCli(
      ['auth', `127.0.0.1:${env!.submission}`, '--user', user(), '--mech', mech, '--ca-file', env!.ca, '--tls-verify'],
      { env: authEnv() },
    );
    assert.equal(r.code, 0, `${mech}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^<~  235 2\.7\.0 Authentication successful$/m);
    assert.ok(!r.stdout.includes(authEnv().SMTPKIT_PASSWORD));
  }
  const wrong = await runCli(['auth', `127.0.0.1:${env!.submission}`, '--user', user(), '--mech', 'SCRAM-SHA-256'], {
    env: { SMTPKIT_PASSWORD: 'not-the-password' },
  });
  assert.equal(wrong.code, 7);
  assert.match(wrong.stdout, /^<~\* 535 5\.7\.8 Error: authentication failed/m);
  assert.match(wrong.stdout, /# 5\.7\.8 Authentication credentials invalid/);
});

test(
  'Postfix: relaying without AUTH is denied (exit 8, explained); submission without STARTTLS gets 530 explained',
  { skip },
  async () => {
    const relay = await runCli([
      'send',
      `127.0.0.1:${env!.smtp}`,
      '--from',
      'a@client.test',
      '--to',
      'someone@elsewhere.test',
    ]);
    assert.equal(relay.code, 8);
    assert.match(relay.stdout, /^<~\* 554 5\.7\.1 <someone@elsewhere\.test>: Relay access denied$/m);
    assert.match(relay.stdout, /# try: relaying is refused: authenticate/);
    const plain = await runCli([
      'send',
      `127.0.0.1:${env!.submission}`,
      '--starttls',
      'never',
      '--from',
      'a@client.test',
      '--to',
      'smtpkit@example.test',
      '--no-pipelining',
    ]);
    assert.equal(plain.code, 8);
    assert.match(plain.stdout, /^<\*\* 530 5\.7\.0 Must issue a STARTTLS command first$/m);
    assert.match(plain.stdout, /# try: the server wants TLS first/);
  },
);

async function delivered(marker: string): Promise<string> {
  const { readFileSync: read } = await import('node:fs');
  const mailbox = (env as InteropEnv & { mailbox: string }).mailbox;
  for (let i = 0; i < 100; i++) {
    const box = existsSync(mailbox) ? read(mailbox, 'utf8') : '';
    if (box.includes(marker)) return box;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${marker} never reached ${mailbox}`);
}

test('Postfix: a message sent with DATA and one with BDAT reach the mailbox byte for byte', { skip }, async () => {
  for (const extra of [[], ['--bdat']]) {
    const marker = `smtpkit-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const message = `Date: Sat, 28 Nov 2026 12:00:00 +0000\r\nFrom: a@client.test\r\nTo: smtpkit@example.test\r\nSubject: ${marker}\r\nMessage-ID: <${marker}@client.test>\r\n\r\nfirst line\r\n.a dot line\r\n..two dots\r\nGrüße in 8 bit\r\n`;
    const r = await runCli(
      [
        'send',
        `127.0.0.1:${env!.submission}`,
        '--ca-file',
        env!.ca,
        '--user',
        user(),
        '--from',
        'a@client.test',
        '--to',
        'smtpkit@example.test',
        '--data',
        '-',
        ...extra,
      ],
      { env: authEnv(), input: message },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /queue id [0-9A-F]+/);
    if (extra.length) assert.match(r.stdout, /^ ~> BDAT \d+ LAST/m);
    const box = await delivered(marker);
    // virtual(8) stores mbox with LF line ends, after its own Return-Path/Delivered-To/Received lines.
    assert.ok(box.includes(message.replace(/\r\n/g, '\n')), 'the message arrived unchanged');
  }
});

test(
  'Postfix: a scripted REPL session with /starttls and /auth mid-session and a dot-stuffed DATA',
  { skip },
  async () => {
    const marker = `repl-${Date.now()}`;
    const input = [
      'EHLO client.test',
      '/starttls',
      `/auth SCRAM-SHA-256 ${user()}`,
      'MAIL FROM:<a@client.test>',
      'RCPT TO:<smtpkit@example.test>',
      'DATA',
      'Date: Sat, 28 Nov 2026 12:00:00 +0000',
      `Subject: ${marker}`,
      '',
      '.dot line',
      'end',
      '.',
      'QUIT',
      '',
    ].join('\n');
    const r = await runCli(['repl', `127.0.0.1:${env!.submission}`, '--ca-file', env!.ca], { env: authEnv(), input });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^<~  235 2\.7\.0 Authentication successful$/m);
    assert.match(r.stdout, /^<~  250 2\.0\.0 Ok: queued as [0-9A-F]+$/m);
    const box = await delivered(marker);
    // Postfix adds the Message-ID and From the script left out, after our headers.
    assert.match(box, new RegExp(`Subject: ${marker}\n(?:[A-Za-z-]+: .*\n)*\n\.dot line\nend\n`));
  },
);

test('Postfix: probe the plain, submission and implicit-TLS ports in one run', { skip }, async () => {
  const r = await runCli([
    'probe',
    `127.0.0.1:${env!.smtp}`,
    `127.0.0.1:${env!.submission}`,
    `127.0.0.1:${env!.smtps}`,
    '--tls-on-connect',
    '--ca-file',
    env!.ca,
    '--json',
    '--relay-test',
  ]);
  const doc = JSON.parse(r.stdout);
  const byTarget = (i: number) =>
    Object.fromEntries(doc.results[i].checks.map((c: { name: string; status: string }) => [c.name, c.status]));
  // --tls-on-connect applies to all three here, so only the implicit-TLS port answers properly.
  assert.equal(doc.results[2].exitCode, 0, JSON.stringify(doc.results[2]));
  assert.equal(byTarget(2).tls, 'pass');
  const plain = JSON.parse(
    (
      await runCli([
        'probe',
        `127.0.0.1:${env!.smtp}`,
        `127.0.0.1:${env!.submission}`,
        '--ca-file',
        env!.ca,
        '--json',
        '--relay-test',
      ])
    ).stdout,
  );
  const checks = (i: number) =>
    Object.fromEntries(plain.results[i].checks.map((c: { name: string; status: string }) => [c.name, c.status]));
  assert.equal(checks(0)['auth-before-tls'], 'warn', 'the plain port offers AUTH PLAIN before TLS');
  assert.equal(checks(0)['open-relay'], 'pass');
  assert.equal(checks(1)['auth-before-tls'], 'pass', 'submission offers AUTH only after TLS');
  assert.equal(checks(1).tls, 'pass');
  assert.equal(plain.outcome.exitCode, 0);
  assert.equal(r.code, Math.max(...doc.results.map((x: { exitCode: number }) => x.exitCode)));
});

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const peersMissing =
  !has('swaks') || !existsSync('/usr/sbin/smtp-source') ? 'swaks or smtp-source is not installed' : false;
if (peersMissing && process.env.CI)
  throw new Error(`CI must run the sink interop tests, but ${peersMissing}: did .ci/run install them?`);

test(
  'smtpkit sink takes sessions from swaks (STARTTLS + AUTH, pipelined), load from Postfix’s smtp-source and chunks from send --bdat; every accepted message saved once',
  { skip: peersMissing },
  async () => {
    const { sinkProcess } = await import('./helpers/sink-process.js');
    const { readdirSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const base = tempDir('smtpkit-sink-interop-');
    /** Saved .eml files, and the sink's JSON line per accepted message. */
    const saved = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.eml'));
    const accepted = (sink: { stdout(): string }) =>
      sink
        .stdout()
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { id: string; file: string });
    try {
      const dir = join(base, 'swaks');
      const sink = await sinkProcess(['--json', '--save', dir, '--tls', '--auth', 'swaks:swaks-pw']);
      const queued: string[] = [];
      try {
        for (const extra of [[], ['--pipeline']]) {
          const swaks = spawnSync(
            'swaks',
            [
              '--server',
              `127.0.0.1:${sink.port}`,
              '--from',
              'a@client.test',
              '--to',
              'b@example.test',
              '--tls',
              '--auth',
              'PLAIN',
              '--auth-user',
              'swaks',
              '--auth-password',
              'swaks-pw',
              '--timeout',
              '10',
              ...extra,
            ],
            { encoding: 'utf8', timeout: 20_000 },
          );
          assert.equal(swaks.status, 0, swaks.stdout + swaks.stderr);
          const id = /<~ {2}250 2\.0\.0 Ok: queued as ([0-9A-F]{12})/.exec(swaks.stdout)?.[1];
          assert.ok(id, swaks.stdout);
          queued.push(id);
        }
      } finally {
        await sink.stop();
      }
      assert.deepEqual(
        accepted(sink).map((m) => m.id),
        queued,
      );
      assert.equal(saved(dir).length, queued.length);

      const loadDir = join(base, 'load');
      const load = await sinkProcess(['--json', '--save', loadDir]);
      try {
        const source = spawnSync(
          '/usr/sbin/smtp-source',
          [
            '-s',
            '5',
            '-m',
            '200',
            '-l',
            '20000',
            '-f',
            'a@client.test',
            '-t',
            'b@example.test',
            `127.0.0.1:${load.port}`,
          ],
          { encoding: 'utf8', timeout: 30_000 },
        );
        assert.equal(source.status, 0, source.stdout + source.stderr);
      } finally {
        await load.stop();
      }
      assert.match(load.stderr(), /^=== sink stopped: 200 message\(s\)/m);
      assert.equal(accepted(load).length, 200);
      assert.equal(saved(loadDir).length, 200, 'each of the 200 accepted messages saved once');

      const bdatDir = join(base, 'bdat');
      const chunks = await sinkProcess(['--json', '--save', bdatDir]);
      const ids: string[] = [];
      try {
        for (let i = 0; i < 5; i++) {
          const r = await runCli([
            'send',
            `127.0.0.1:${chunks.port}`,
            '--from',
            'a@client.test',
            '--to',
            'b@example.test',
            '--bdat',
            '--subject',
            `chunk ${i}`,
            '--body',
            'x'.repeat(100_000),
            '--json',
          ]);
          assert.equal(r.code, 0, r.stderr);
          ids.push(JSON.parse(r.stdout).result.queueId);
        }
      } finally {
        await chunks.stop();
      }
      assert.deepEqual(
        accepted(chunks).map((m) => m.id),
        ids,
      );
      assert.deepEqual(
        saved(bdatDir)
          .map((f) => f.slice(-16, -4))
          .sort(),
        [...ids].sort(),
      );
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  },
);

test(
  'Postfix + Dovecot at a real terminal: /auth with the password typed logs in, and the password goes nowhere else',
  { skip: skip || (hasTmux ? false : 'tmux is not installed') },
  async () => {
    const { user, password } = JSON.parse(readFileSync(ENV_FILE, 'utf8')) as { user: string; password: string };
    const dir = tempDir('smtpkit-pty-');
    const history = join(dir, 'history');
    const pty = new Pty(
      `env -u SMTPKIT_PASSWORD NO_COLOR=1 SMTPKIT_HISTORY=${history} ${process.execPath} ${BIN} repl 127.0.0.1:${env!.submission} --ca-file ${env!.ca}`,
    );
    try {
      await pty.waitFor(/^127\.0\.0\.1:\d+>\s*$/m, 'the prompt');
      await pty.type('EHLO client.test');
      await pty.key('Enter');
      await pty.waitFor(/^<-  250 \S+ +# /m, 'EHLO explained');
      await pty.type('/starttls');
      await pty.key('Enter');
      await pty.waitFor(/TLS>\s*$/m, 'the TLS prompt');
      await pty.type(`/auth PLAIN ${user}`);
      await pty.key('Enter');
      await pty.waitFor(/password for/, 'the password prompt');
      await pty.type(password);
      await pty.key('Enter');
      await pty.waitFor(/^<~  235 /m, 'Dovecot accepted the login');
      await pty.type('NOOP');
      await pty.key('Enter');
      await pty.waitFor(/^<~  250 2\.0\.0 Ok/m, 'NOOP answered');
      await pty.type('/quit');
      await pty.key('Enter');
      await pty.waitFor(/^EXIT=0$/m, 'exit 0');
      const screen = pty.screen();
      assert.ok(!screen.includes(password), screen);
      assert.doesNotMatch(screen, /^<~\* 5\d\d/m, 'no command was refused: the password was not sent as a command');
      assert.match(screen, /^ ~> EHLO client\.test$/m, 'the EHLO after TLS reuses the typed name');
      assert.ok(!readFileSync(history, 'utf8').includes(password));
    } finally {
      pty.close();
    }
  },
);

test(
  'Postfix at a real terminal: a password typed ahead of /auth before /starttls never crosses in clear',
  { skip: skip || (hasTmux ? false : 'tmux is not installed') },
  async () => {
    const { user, password } = JSON.parse(readFileSync(ENV_FILE, 'utf8')) as { user: string; password: string };
    const dir = tempDir('smtpkit-pty-');
    const history = join(dir, 'history');
    const pty = new Pty(
      `env -u SMTPKIT_PASSWORD NO_COLOR=1 SMTPKIT_HISTORY=${history} ${process.execPath} ${BIN} repl 127.0.0.1:${env!.submission} --ca-file ${env!.ca} -v`,
    );
    try {
      await pty.waitFor(/^127\.0\.0\.1:\d+>\s*$/m, 'the prompt');
      await pty.type('EHLO client.test');
      await pty.key('Enter');
      await pty.waitFor(/^<-  250 \S+ +# /m, 'EHLO explained');
      // Postfix offers AUTH only after TLS: /auth is refused at once, while the password is being typed.
      await pty.type(`/auth PLAIN ${user}`);
      await pty.key('Enter');
      await pty.type(password);
      await pty.key('Enter');
      await pty.waitFor(/not sent: this line is not an SMTP command/, 'the typed-ahead password held back');
      await pty.type('/quit');
      await pty.key('Enter');
      await pty.waitFor(/^EXIT=0$/m, 'exit 0');
      const screen = pty.screen();
      // -v shows every byte sent: the password is in none of them.
      assert.doesNotMatch(screen, new RegExp(`^>>> .*${password}`, 'm'));
      assert.doesNotMatch(screen, new RegExp(`^ -> ${password}`, 'm'));
      assert.ok(!readFileSync(history, 'utf8').includes(password));
    } finally {
      pty.close();
    }
  },
);

test('Postfix: STARTTLS+AUTH+send reads in at most 70 lines, 25 with --brief; swaks for scale', { skip }, async () => {
  const args = [
    'send',
    `127.0.0.1:${env!.submission}`,
    '--user',
    user(),
    '--ca-file',
    env!.ca,
    '--sni',
    'mail.test',
    '--from',
    user(),
    '--to',
    user(),
    '--subject',
    'line count',
  ];
  const full = await runCli(args, { env: authEnv() });
  assert.equal(full.code, 0, full.stdout + full.stderr);
  const brief = await runCli([...args, '--brief'], { env: authEnv() });
  assert.equal(brief.code, 0, brief.stdout + brief.stderr);
  const count = (s: string) => s.split('\n').length - 1;
  assert.ok(count(full.stdout) <= 70, `${count(full.stdout)} lines:\n${full.stdout}`);
  assert.ok(count(brief.stdout) <= 25, `${count(brief.stdout)} lines with --brief:\n${brief.stdout}`);
  assert.equal(
    full.stdout.match(/^<~  250-PIPELINING/gm)?.length,
    1,
    'the capabilities after TLS are not explained again',
  );
});
