import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { capturePeer, PASSWORD, TOKEN, USER, type CapturePeer } from './helpers/capture-peer.js';
import { TLS } from './helpers/paths.js';
import { rawServer, lineServer } from './helpers/raw-server.js';
import { tempDir } from './helpers/process-group.js';

let peer: CapturePeer;
let noTls: CapturePeer;
let noAuth: CapturePeer;
before(async () => {
  peer = await capturePeer();
  noTls = await capturePeer({ hideSTARTTLS: true, allowInsecureAuth: true });
  noAuth = await capturePeer({ disabledCommands: ['AUTH'] });
});
after(() => Promise.all([peer.close(), noTls.close(), noAuth.close()]));

const at = (p: CapturePeer) => `127.0.0.1:${p.port}`;
const env = { SMTPKIT_PASSWORD: PASSWORD };
const secretForms = [
  PASSWORD,
  Buffer.from(PASSWORD).toString('base64'),
  Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64'),
  TOKEN,
  Buffer.from(`user=${USER}\x01auth=Bearer ${TOKEN}\x01\x01`).toString('base64'),
];

test('every mechanism smtp-server speaks logs in over STARTTLS; the server saw the right credentials', async () => {
  for (const mech of ['PLAIN', 'LOGIN', 'CRAM-MD5']) {
    const r = await runCli(['auth', at(peer), '--user', USER, '--mech', mech, '--ca-file', TLS.ca], { env });
    assert.equal(r.code, 0, `${mech}: ${r.stdout}${r.stderr}`);
    assert.match(
      r.stdout,
      new RegExp(`^=== authenticated to 127\\.0\\.0\\.1:\\d+ as ${USER} with ${mech} over TLS$`, 'm'),
    );
    assert.match(r.stdout, /^<~  235 /m);
    assert.deepEqual(peer.logins.at(-1), { method: mech, username: USER, ok: true });
  }
  const x = await runCli(['auth', at(peer), '--user', USER, '--mech', 'XOAUTH2'], { env: { SMTPKIT_PASSWORD: TOKEN } });
  assert.equal(x.code, 0, x.stdout);
  assert.deepEqual(peer.logins.at(-1), { method: 'XOAUTH2', username: USER, ok: true });
  const initial = await runCli(['auth', at(peer), '--user', USER, '--mech', 'LOGIN', '--login-initial', '-v'], { env });
  assert.equal(initial.code, 0);
  assert.match(initial.stdout, new RegExp(`^ ~> AUTH LOGIN ${Buffer.from(USER).toString('base64')}$`, 'm'));
});

test('no secret appears in stdout, stderr, -v raw bytes or JSON, for any mechanism', async () => {
  for (const mech of ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2']) {
    for (const extra of [[], ['-v'], ['--json']]) {
      const r = await runCli(['auth', at(peer), '--user', USER, '--mech', mech, ...extra], {
        env: { SMTPKIT_PASSWORD: mech === 'XOAUTH2' ? TOKEN : PASSWORD },
      });
      assert.equal(r.code, 0, r.stdout);
      for (const s of secretForms)
        assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), `${mech} ${extra.join(' ')} leaked ${s}`);
    }
  }
  const shown = await runCli(['auth', at(peer), '--user', USER, '--mech', 'PLAIN', '--show-secrets'], { env });
  assert.ok(shown.stdout.includes(Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')), '--show-secrets shows it');
  const redacted = await runCli(['auth', at(peer), '--user', USER, '--mech', 'PLAIN'], { env });
  assert.match(redacted.stdout, /^ ~> AUTH PLAIN <redacted>$/m);
});

test('the default mechanism is the strongest the server offers', async () => {
  const r = await runCli(['auth', at(peer), '--user', USER, '-q'], { env });
  assert.match(r.stdout, /with CRAM-MD5 over TLS/);
});

test('wrong password: exit 7, said to be the credentials, explained', async () => {
  const r = await runCli(['auth', at(peer), '--user', USER, '--mech', 'PLAIN'], { env: { SMTPKIT_PASSWORD: 'wrong' } });
  assert.equal(r.code, 7);
  assert.match(r.stdout, /^<~\* 535 /m);
  assert.match(r.stdout, /# Authentication failed: wrong username or password/);
  assert.match(r.stdout, /# try: check the username and password/);
  assert.match(r.stderr, /^\*\*\* the server rejected the credentials \(535 /m);
});

test('AUTH not offered, or a mechanism not offered: exit 7 saying so', async () => {
  const none = await runCli(['auth', at(noAuth), '--user', USER], { env });
  assert.equal(none.code, 7);
  assert.match(none.stderr, /the server offers no AUTH here/);
  const mech = await runCli(['auth', at(peer), '--user', USER, '--mech', 'SCRAM-SHA-256'], { env });
  assert.equal(mech.code, 7);
  assert.match(mech.stderr, /does not offer SCRAM-SHA-256; it offers PLAIN, LOGIN, CRAM-MD5, XOAUTH2/);
});

test('no TLS: credentials are not sent unless --allow-plaintext', async () => {
  const refused = await runCli(['auth', at(noTls), '--user', USER, '--mech', 'PLAIN'], { env });
  assert.equal(refused.code, 7);
  assert.match(
    refused.stderr,
    /refusing to send credentials without TLS \(PLAIN sends the password itself\) \(--allow-plaintext sends them anyway\)/,
  );
  assert.doesNotMatch(refused.stdout, /-> AUTH/);
  const allowed = await runCli(['auth', at(noTls), '--user', USER, '--mech', 'PLAIN', '--allow-plaintext'], { env });
  assert.equal(allowed.code, 0);
  assert.match(allowed.stdout, /WITHOUT TLS/);
});

test('secrets: never a prompt off a terminal; --password-file; --password warns', async () => {
  const none = await runCli(['auth', at(peer), '--user', USER], { env: { SMTPKIT_PASSWORD: '' } });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no password given: set SMTPKIT_PASSWORD, or use --password-file/);
  const { writeFileSync } = await import('node:fs');
  const file = `${tempDir('smtpkit-')}/pw`;
  writeFileSync(file, `${PASSWORD}\n`, { mode: 0o600 });
  assert.equal(
    (await runCli(['auth', at(peer), '--user', USER, '--password-file', file, '-q'], { env: { SMTPKIT_PASSWORD: '' } }))
      .code,
    0,
  );
  const custom = await runCli(['auth', at(peer), '--user', USER, '--password-env', 'MY_PW', '-q'], {
    env: { MY_PW: PASSWORD },
  });
  assert.equal(custom.code, 0);
  const visible = await runCli(['auth', at(peer), '--user', USER, '--password', PASSWORD], {
    env: { SMTPKIT_PASSWORD: '' },
  });
  assert.equal(visible.code, 0);
  assert.match(visible.stdout, /^!!! --password is visible to other users/m);
});

test('option files are read to a bound: /dev/zero as --password-file, --targets, --config or --dkim-key is a usage error, not GBs of memory', async () => {
  const env = { SMTPKIT_PASSWORD: '' };
  const pw = await runCli(['auth', at(peer), '--user', USER, '--password-file', '/dev/zero'], { env, limitMs: 10_000 });
  assert.equal(pw.code, 2, pw.stderr);
  assert.match(pw.stderr, /--password-file: \/dev\/zero is over 65536 bytes/);
  const targets = await runCli(['probe', '--targets', '/dev/zero'], { env, limitMs: 10_000 });
  assert.equal(targets.code, 2, targets.stderr);
  assert.match(targets.stderr, /--targets: \/dev\/zero is over \d+ bytes/);
  const config = await runCli(['exporter', '--listen', '127.0.0.1:0', '--config', '/dev/zero'], {
    env,
    limitMs: 10_000,
  });
  assert.equal(config.code, 2, config.stderr);
  assert.match(config.stderr, /--config: \/dev\/zero is over \d+ bytes/);
  const dkim = await runCli(
    [
      'send',
      '--dry-run',
      '--from',
      'ann@example.test',
      '--to',
      'bob@example.test',
      '--dkim-key',
      '/dev/zero',
      '--dkim-selector',
      's',
    ],
    { env, limitMs: 10_000 },
  );
  assert.equal(dkim.code, 2, dkim.stderr);
  assert.match(dkim.stderr, /--dkim-key: \/dev\/zero is over \d+ bytes/);
});

test('--list: mechanisms before and after TLS, PLAIN/LOGIN before TLS marked unsafe', async () => {
  const r = await runCli(['auth', at(peer), '--list']);
  assert.equal(r.code, 0);
  assert.match(
    r.stdout,
    /^=== AUTH before TLS: PLAIN \(UNSAFE here: the password would cross in clear\), LOGIN \(UNSAFE/m,
  );
  assert.match(r.stdout, /^=== AUTH after TLS: PLAIN \(ok\), LOGIN \(ok\), CRAM-MD5 \(ok\), XOAUTH2 \(ok\)$/m);
});

test('--list and the refusal name what XOAUTH2 would expose in clear: the access token, not a password', async () => {
  const server = await rawServer((s) => {
    s.write('220 x.test ESMTP\r\n');
    lineServer(s, (line) =>
      /^EHLO/i.test(line) ? '250-x.test\r\n250 AUTH XOAUTH2\r\n' : /^QUIT/i.test(line) ? '221 bye\r\n' : '500 no\r\n',
    );
  });
  try {
    const list = await runCli(['auth', `127.0.0.1:${server.port}`, '--list', '--starttls', 'never']);
    assert.match(list.stdout, /^=== AUTH before TLS: XOAUTH2 \(UNSAFE here: the access token would cross in clear\)/m);
    const refused = await runCli(
      ['auth', `127.0.0.1:${server.port}`, '--starttls', 'never', '--user', 'u@x.test', '--mech', 'XOAUTH2'],
      { env: { SMTPKIT_TOKEN: 't0ken', SMTPKIT_PASSWORD: 't0ken' } },
    );
    assert.equal(refused.code, 7, refused.stderr);
    assert.match(refused.stderr, /refusing to send credentials without TLS \(XOAUTH2 sends the access token itself\)/);
    assert.ok(!server.received.join('').includes('AUTH'), 'nothing was sent');
  } finally {
    await server.close();
  }
});

test('SCRAM: a server that does not prove it knows the password is refused (exit 7)', async () => {
  const server = await rawServer((s) => {
    s.write('220 fake.test ESMTP\r\n');
    lineServer(s, (line) => {
      if (line.startsWith('EHLO')) return '250-fake.test\r\n250 AUTH SCRAM-SHA-256\r\n';
      if (line.startsWith('AUTH')) {
        const first = Buffer.from(line.split(' ')[2]!, 'base64').toString();
        const nonce = /r=([^,]+)/.exec(first)![1];
        return `334 ${Buffer.from(`r=${nonce}srv,s=${Buffer.from('salt').toString('base64')},i=4096`).toString('base64')}\r\n`;
      }
      if (line.startsWith('QUIT')) return '221 bye\r\n';
      if (line === '*') return '501 cancelled\r\n';
      // Accepts any proof and signs with garbage.
      return `334 ${Buffer.from(`v=${Buffer.alloc(32).toString('base64')}`).toString('base64')}\r\n`;
    });
  });
  try {
    const r = await runCli(['auth', `127.0.0.1:${server.port}`, '--user', USER, '--allow-plaintext'], { env });
    assert.equal(r.code, 7, r.stdout + r.stderr);
    assert.match(r.stderr, /SCRAM-SHA-256: the server’s SCRAM signature is wrong/);
    assert.match(r.stdout, /^ -> \*$/m, 'the exchange is cancelled');
  } finally {
    await server.close();
  }
});

test('a server that keeps answering 334 gets each secret once, then the exchange cancelled with "*"', async () => {
  const received: string[] = [];
  const server = await rawServer((s) => {
    s.write('220 greedy.test ESMTP\r\n');
    let login = false;
    lineServer(s, (line) => {
      received.push(line);
      if (line.startsWith('EHLO')) return '250-greedy.test\r\n250 AUTH LOGIN CRAM-MD5 XOAUTH2\r\n';
      if (line.startsWith('QUIT')) return '221 bye\r\n';
      if (line === '*') return '501 5.7.0 cancelled\r\n';
      // Asks again, whatever the client answered: LOGIN's "Username:" once then "Password:"
      // for ever; otherwise a challenge CRAM-MD5 would sign.
      if (line === 'AUTH LOGIN') return ((login = true), `334 ${Buffer.from('Username:').toString('base64')}\r\n`);
      if (login) return `334 ${Buffer.from('Password:').toString('base64')}\r\n`;
      return `334 ${Buffer.from('<1.2@greedy.test>').toString('base64')}\r\n`;
    });
  });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  try {
    for (const [mech, secret, expected] of [
      ['LOGIN', PASSWORD, ['AUTH LOGIN', b64(USER), b64(PASSWORD), '*']],
      ['CRAM-MD5', PASSWORD, ['AUTH CRAM-MD5', 'digest', '*']],
      ['XOAUTH2', TOKEN, ['AUTH XOAUTH2', ...Array(10).fill(''), '*']],
    ] as const) {
      received.length = 0;
      const r = await runCli(
        [
          'auth',
          `127.0.0.1:${server.port}`,
          '--user',
          USER,
          '--mech',
          mech,
          '--allow-plaintext',
          '--starttls',
          'never',
        ],
        { env: { SMTPKIT_PASSWORD: secret } },
      );
      assert.equal(r.code, 7, `${mech}: ${r.stdout}${r.stderr}`);
      const auth = received
        .filter((l) => !/^(EHLO|QUIT)/.test(l))
        .map((l) =>
          mech === 'CRAM-MD5' && !/^(AUTH|\*)/.test(l) ? 'digest' : l.replace(/^AUTH XOAUTH2 .*/, 'AUTH XOAUTH2'),
        );
      assert.deepEqual(auth, expected, `${mech}: what the server received`);
    }
  } finally {
    await server.close();
  }
});
