import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { capturePeer, PASSWORD, USER, type CapturePeer } from './helpers/capture-peer.js';
import { BIN, TLS } from './helpers/paths.js';
import { lineServer, rawServer } from './helpers/raw-server.js';
import { loggingServer } from './helpers/logging-server.js';
import { completions } from '../src/repl/completer.js';
import { parseEhlo } from '../src/protocol/capabilities.js';
import { tempDir } from './helpers/process-group.js';

let peer: CapturePeer;
before(async () => {
  peer = await capturePeer();
});
after(() => peer.close());

const script = (...lines: string[]) => `${lines.join('\n')}\n`;

test('a scripted session: STARTTLS and AUTH meta commands mid-session, DATA with dot-stuffing', async () => {
  const dir = tempDir('smtpkit-repl-');
  const saved = join(dir, 'session.txt');
  const r = await runCli(['repl', `127.0.0.1:${peer.port}`, '--ca-file', TLS.ca], {
    env: { SMTPKIT_PASSWORD: PASSWORD },
    input: script(
      'EHLO client.test',
      '/starttls',
      'EHLO client.test',
      `/auth PLAIN ${USER}`,
      'MAIL FROM:<ann@client.test>',
      'RCPT TO:<bob@example.test>',
      'DATA',
      'Subject: repl',
      '',
      'first',
      '.leading dot',
      '..two',
      '.',
      `/save ${saved}`,
      'QUIT',
    ),
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^=== TLS TLSv1\.3/m);
  assert.match(r.stdout, /^ ~> AUTH PLAIN <redacted>$/m);
  assert.match(r.stdout, /^<~  235 /m);
  assert.match(r.stdout, /^ ~> \.\.leading dot$/m, 'the transcript shows the stuffed line as sent');
  assert.match(r.stdout, /^<~  250 OK: queued as TEST123\n    # The message was accepted/m);
  assert.match(r.stdout, /^<~  221 /m);
  assert.ok(
    !r.stdout.includes(PASSWORD) && !r.stdout.includes(Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')),
  );
  assert.equal(peer.messages.at(-1)!.data.toString(), 'Subject: repl\r\n\r\nfirst\r\n.leading dot\r\n..two\r\n');
  const file = readFileSync(saved, 'utf8');
  assert.match(file, /^ ~> AUTH PLAIN <redacted>$/m);
  assert.ok(!file.includes(PASSWORD));
  assert.equal(statSync(saved).mode & 0o777, 0o600);
});

test('a failure reply stops a script with exit 1; --keep-going runs on and exits 0', async () => {
  const lines = script('EHLO client.test', 'MAIL FROM:<reject@client.test>', 'NOOP', 'QUIT');
  const stop = await runCli(['repl', `127.0.0.1:${peer.port}`], { input: lines });
  assert.equal(stop.code, 1);
  assert.match(stop.stderr, /the script stopped at a failure reply: 550 Sender refused/);
  assert.doesNotMatch(stop.stdout, /-> NOOP/);
  const go = await runCli(['repl', `127.0.0.1:${peer.port}`, '--keep-going'], { input: lines });
  assert.equal(go.code, 0);
  assert.match(go.stdout, /^ -> NOOP$/m);
  assert.match(go.stdout, /1 failure reply, kept going/);
});

test('meta commands in a script: /explain, /caps, /timing, unknown ones', async () => {
  const r = await runCli(['repl', `127.0.0.1:${peer.port}`, '--keep-going'], {
    input: script('/explain 550 5.7.1', 'EHLO x.test', '/caps', '/timing', '/bogus', 'QUIT'),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /5\.7\.1 Delivery not authorized, message refused/);
  assert.match(r.stdout, /^=== Timings: dns [\d.]+ ms, connect/m);
  assert.match(r.stdout, /^!!! unknown meta command \/bogus/m);
  // EHLO explains its own lines; /caps shows the table again.
  assert.match(r.stdout, /^<-  250-\S+ +# /m);
  assert.equal(r.stdout.match(/^=== Capabilities: /gm)?.length, 1);
});

test('a stray reply in the same packet as a reply: shown after it, between commands, and the session goes on', async () => {
  const server = await rawServer((s) => {
    s.write('220 x ESMTP\r\n');
    lineServer(s, (l) =>
      /^NOOP/.test(l) ? '250 ok\r\n250 stray after NOOP\r\n' : /^QUIT/.test(l) ? '221 bye\r\n' : '250 fine\r\n',
    );
  });
  try {
    const r = await runCli(['repl', `127.0.0.1:${server.port}`, '--timeout', '2s'], {
      input: script('NOOP', 'RSET', 'QUIT'),
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^<-  250 ok\n(?:    #.*\n)*<-  250 stray after NOOP\n(?:    #.*\n)* -> RSET$/m);
  } finally {
    await server.close();
  }
});

test('the server closing mid-session, an unsolicited 421, and an over-long reply line', async () => {
  // Closes the connection after the second NOOP without a word.
  let noops = 0;
  const closing = await rawServer((s) => {
    s.write('220 x ESMTP\r\n');
    lineServer(s, (l) => (/^NOOP/.test(l) && ++noops === 2 ? null : '250 ok\r\n'));
  });
  const closed = await runCli(['repl', `127.0.0.1:${closing.port}`, '--timeout', '2s'], {
    input: script('NOOP', 'NOOP', 'NOOP'),
  });
  assert.equal(closed.code, 5);
  assert.match(closed.stderr, /the server closed the connection while we waited for the reply to NOOP/);
  await closing.close();

  // Says 421 on its own when the client stays quiet, then hangs up.
  const idle = await rawServer((s) => {
    s.write('220 x ESMTP\r\n');
    lineServer(s, () => {
      setTimeout(() => s.end('421 4.4.2 x Error: timeout exceeded\r\n'), 200);
      return '250 ok\r\n';
    });
  });
  const child = spawn(process.execPath, [BIN, 'repl', `127.0.0.1:${idle.port}`], {
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  child.stdin.write('NOOP\n'); // and then nothing: stdin stays open, the client is idle
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
    child.on('exit', (c) => (clearTimeout(timer), resolve(c)));
  });
  assert.match(out, /^<\*\* 421 4\.4\.2 x Error: timeout exceeded\n    # The server closed the session on its own/m);
  assert.match(out, /^!!! the server closed the connection$/m);
  assert.equal(code, 5, 'a server hanging up before the script ends is a protocol failure (man page: exit 5)');
  await idle.close();

  const long = await rawServer((s) => {
    s.write('220 x ESMTP\r\n');
    lineServer(s, () => `250 ${'y'.repeat(20_000)}\r\n`);
  });
  const r = await runCli(['repl', `127.0.0.1:${long.port}`], { input: script('NOOP') });
  assert.equal(r.code, 5);
  assert.match(r.stderr, /reply line longer than 8192 bytes/);
  await long.close();
});

const hasTmux = spawnSync('tmux', ['-V']).status === 0;

test(
  'at a terminal: prompt with state, tab completion, replies explained, history without secrets',
  { skip: hasTmux ? false : 'tmux is not installed' },
  async () => {
    const dir = tempDir('smtpkit-pty-');
    const history = join(dir, 'history');
    const name = `smtpkit-test-${process.pid}`;
    const tmux = (...args: string[]) => spawnSync('tmux', ['-L', name, ...args], { encoding: 'utf8' });
    const screen = () => tmux('capture-pane', '-p', '-t', name).stdout;
    const waitFor = async (pattern: RegExp, what: string) => {
      for (let i = 0; i < 100; i++) {
        if (pattern.test(screen())) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.fail(`${what} never appeared; the screen:\n${screen()}`);
    };
    const cmd = `env NO_COLOR=1 SMTPKIT_HISTORY=${history} SMTPKIT_PASSWORD=${PASSWORD} ${process.execPath} ${BIN} repl 127.0.0.1:${peer.port} --ca-file ${TLS.ca}; sleep 30`;
    assert.equal(tmux('new-session', '-d', '-s', name, '-x', '160', '-y', '50', cmd).status, 0);
    try {
      await waitFor(/^127\.0\.0\.1:\d+>\s*$/m, 'the prompt'); // capture-pane drops trailing spaces
      tmux('send-keys', '-t', name, 'EH', 'Tab');
      await waitFor(/> EHLO\s*$/m, 'EHLO completed by Tab');
      tmux('send-keys', '-t', name, 'client.test', 'Enter');
      await waitFor(/^<-  250-PIPELINING +# commands may be sent in batches/m, 'the explained EHLO reply');
      tmux('send-keys', '-t', name, 'STA', 'Tab');
      await waitFor(/> STARTTLS\s*$/m, 'STARTTLS completed: the server offers it');
      tmux('send-keys', '-t', name, 'Enter');
      await waitFor(/^127\.0\.0\.1:\d+ TLS>\s*$/m, 'the prompt showing TLS');
      tmux('send-keys', '-t', name, `/auth PLAIN ${USER}`, 'Enter');
      await waitFor(/TLS auth:tester>\s*$/m, 'the prompt showing the login');
      tmux('send-keys', '-t', name, 'MA', 'Tab');
      await waitFor(/> MAIL FROM:<$/m, 'MAIL FROM:< completed');
      tmux('send-keys', '-t', name, 'ann@client.test>', 'Enter');
      await waitFor(/# The sender address was accepted/, 'MAIL explained');
      tmux('send-keys', '-t', name, 'C-d');
      await waitFor(/^<~  221 /m, 'QUIT sent on Ctrl-D');
      assert.match(screen(), /^ ~> QUIT$/m, 'QUIT shown on a line of its own, not after the prompt');
      const lines = readFileSync(history, 'utf8');
      assert.match(lines, /^EHLO client\.test$/m);
      assert.match(lines, /^\/auth PLAIN tester$/m);
      assert.ok(!lines.includes(PASSWORD));
      assert.equal(statSync(history).mode & 0o777, 0o600);
    } finally {
      tmux('kill-server');
    }
  },
);

test('a script that ends inside DATA fails (exit 5), sends no final dot and no QUIT', async () => {
  const server = await loggingServer();
  try {
    const r = await runCli(['repl', `127.0.0.1:${server.port}`], {
      input: script(
        'EHLO client.test',
        'MAIL FROM:<a@client.test>',
        'RCPT TO:<b@example.test>',
        'DATA',
        'Subject: unfinished',
        '',
        'body',
        'QUIT',
      ),
    });
    assert.equal(r.code, 5, r.stdout + r.stderr);
    assert.match(r.stderr, /ended inside DATA.*NOT sent/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The typed QUIT was message text; no command QUIT and no "." followed it.
    assert.deepEqual(server.lines.slice(-4), ['Subject: unfinished', '', 'body', 'QUIT']);
    assert.ok(!server.lines.includes('.'));
  } finally {
    await server.close();
  }
});

test('QUIT goes out once: after the 221 nothing more is written', async () => {
  const server = await loggingServer({ closeDelayMs: 500 });
  try {
    const r = await runCli(['repl', `127.0.0.1:${server.port}`], { input: script('EHLO client.test', 'QUIT') });
    assert.equal(r.code, 0, r.stderr);
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.deepEqual(server.lines, ['EHLO client.test', 'QUIT']);
    assert.doesNotMatch(r.stdout, /!!! the server closed the connection/);
  } finally {
    await server.close();
  }
});

test('after STARTTLS the automatic EHLO reuses the name typed in the last EHLO', async () => {
  const r = await runCli(['repl', `127.0.0.1:${peer.port}`, '--ca-file', TLS.ca], {
    input: script('EHLO typed-name.client.test', 'STARTTLS', 'QUIT'),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ ~> EHLO typed-name\.client\.test$/m);
});

test('a NUL in a typed line is refused locally (exit 2 in a script) and never sent', async () => {
  const server = await loggingServer();
  try {
    const r = await runCli(['repl', `127.0.0.1:${server.port}`], {
      input: script('EHLO client.test', 'NOOP \0x', 'QUIT'),
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /NUL/);
    assert.ok(!server.lines.some((l) => l.includes('\0')));
    assert.ok(!server.lines.includes('NOOP \0x'));
  } finally {
    await server.close();
  }
});

test('hints inside the repl name its own commands, not command-line flags', async () => {
  const server = await loggingServer({
    answer: (l) => (/^MAIL/i.test(l) ? '530 5.7.0 Must issue a STARTTLS command first\r\n' : undefined),
  });
  try {
    const r = await runCli(['repl', `127.0.0.1:${server.port}`, '--keep-going'], {
      input: script('EHLO client.test', 'MAIL FROM:<a@client.test>', '/auth PLAIN alice', 'QUIT'),
    });
    assert.match(r.stdout, /# try: .*\/starttls/);
    assert.doesNotMatch(r.stdout, /--starttls|--tls-on-connect/);
    // /auth without TLS: refused before any secret is looked for, in the repl's words.
    assert.match(r.stdout + r.stderr, /type \/starttls first/);
  } finally {
    await server.close();
  }
});

test('/auth before EHLO says what to do first, and asks for nothing', async () => {
  const server = await loggingServer();
  try {
    const r = await runCli(['repl', `127.0.0.1:${server.port}`, '--allow-plaintext'], {
      input: script('/auth PLAIN alice', 'QUIT'),
    });
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /no EHLO yet: type EHLO/);
    assert.deepEqual(server.lines, ['QUIT'], 'no AUTH went out');
  } finally {
    await server.close();
  }
});

test('/auth in a script: a missing user or SMTPKIT_PASSWORD is said in the repl’s words, not as command-line flags', async () => {
  const server = await loggingServer();
  try {
    const noUser = await runCli(['repl', `127.0.0.1:${server.port}`, '--allow-plaintext'], {
      input: script('EHLO client.test', '/auth PLAIN', 'QUIT'),
      env: { SMTPKIT_PASSWORD: 'x' },
    });
    assert.equal(noUser.code, 2, noUser.stderr);
    assert.match(noUser.stderr, /usage: \/auth MECH user/);
    const noSecret = await runCli(['repl', `127.0.0.1:${server.port}`, '--allow-plaintext'], {
      input: script('EHLO client.test', '/auth PLAIN alice', 'QUIT'),
      env: { SMTPKIT_PASSWORD: '' },
    });
    assert.equal(noSecret.code, 2, noSecret.stderr);
    assert.match(noSecret.stderr, /SMTPKIT_PASSWORD, which is not set/);
    for (const r of [noUser, noSecret]) assert.doesNotMatch(r.stderr, /--user|--password/);
    assert.ok(!server.lines.some((l) => /^AUTH/i.test(l)), 'no AUTH went out');
  } finally {
    await server.close();
  }
});

test('a script is not a person: SIGINT while a command waits ends the run at once by the signal, as before, and nothing more is sent', async () => {
  const silent = await loggingServer({ answer: (l) => (/^NOOP/i.test(l) ? '' : undefined) });
  const child = spawn(process.execPath, [BIN, 'repl', `127.0.0.1:${silent.port}`], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  try {
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    child.stdin.end(script('EHLO client.test', 'NOOP', 'RSET'));
    for (const end = Date.now() + 8000; !silent.lines.includes('NOOP') && Date.now() < end;)
      await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
    const { signal } = await ended;
    clearTimeout(timer);
    assert.equal(signal, 'SIGINT');
    assert.deepEqual(silent.lines, ['EHLO client.test', 'NOOP']);
  } finally {
    child.kill('SIGKILL');
    await silent.close();
  }
});

test('Tab completion keeps the case typed (the last letter decides), for verbs, their forms and AUTH mechanisms', () => {
  const caps = parseEhlo({ code: 250, enhanced: null, lines: ['mx.test', 'STARTTLS', 'AUTH PLAIN LOGIN', 'CHUNKING'] });
  assert.deepEqual(completions('eh', caps, false), ['ehlo ']);
  assert.deepEqual(completions('EH', caps, false), ['EHLO ']);
  assert.deepEqual(completions('Eh', caps, false), ['Ehlo ']);
  assert.deepEqual(completions('ma', caps, false), ['mail from:<']);
  assert.deepEqual(completions('MAIL f', caps, false), ['MAIL from:<']);
  assert.deepEqual(completions('sta', caps, false), ['starttls']);
  assert.deepEqual(completions('auth p', caps, false), ['auth plain']);
  assert.deepEqual(completions('AUTH L', caps, false), ['AUTH LOGIN']);
  assert.deepEqual(completions('', undefined, false).slice(0, 2), ['EHLO ', 'HELO ']);
  // A meta command that takes an argument completes with its space: '/ex' Tab '550' was '/explain550', unknown.
  assert.deepEqual(completions('/au', caps, false), ['/auth ']);
  assert.deepEqual(completions('/ex', caps, false), ['/explain ']);
  assert.deepEqual(completions('/sa', caps, false), ['/save ']);
  assert.deepEqual(completions('/q', caps, false), ['/quit']);
});
