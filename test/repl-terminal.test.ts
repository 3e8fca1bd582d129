import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loggingServer, recordingServer, type LoggingServer } from './helpers/logging-server.js';
import { lineServer, rawServer } from './helpers/raw-server.js';
import type { Socket } from 'node:net';
import { BIN } from './helpers/paths.js';
import { hasTmux, Pty } from './helpers/pty.js';
import { tempDir } from './helpers/process-group.js';

/**
 * The REPL at a real terminal (tmux), typed into key by key. Each test asserts on the three
 * places a secret could leak: what the server received, the history file, and the screen.
 */
const skip = hasTmux ? false : 'tmux is not installed';
if (!hasTmux && process.env.CI)
  throw new Error('CI must run the terminal tests, but tmux is missing: did .ci/run install it?');

const SECRET = 'Typed-S3cret-pw';
const b64 = (s: string) => Buffer.from(s).toString('base64');

let server: LoggingServer;
before(async () => {
  server = await loggingServer({
    answer: (line) => (/^MAIL FROM:<refuse@/i.test(line) ? '550 5.7.1 Sender refused\r\n' : undefined),
  });
});
after(() => server.close());

function session(extra = '', port = server.port, { allowPlaintext = true } = {}) {
  const dir = tempDir('smtpkit-pty-');
  const history = join(dir, 'history');
  // No SMTPKIT_PASSWORD: the secret must be typed at the prompt.
  const pty = new Pty(
    `env -u SMTPKIT_PASSWORD NO_COLOR=1 SMTPKIT_HISTORY=${history} ${process.execPath} ${BIN} repl 127.0.0.1:${port}${allowPlaintext ? ' --allow-plaintext' : ''} ${extra}`,
  );
  const readHistory = () => (existsSync(history) ? readFileSync(history, 'utf8') : '');
  return { pty, readHistory, dir };
}

/**
 * The repl run from a shell that, once it exits, prints its exit code (CODE=) and reads what
 * was left typed in the terminal (LEFT=), as an interactive shell would go on to run it.
 */
function shellSession(port: number, extra = '', history = '/dev/null') {
  return new Pty(
    `bash -c 'env -u SMTPKIT_PASSWORD NO_COLOR=1 SMTPKIT_HISTORY=${history} ${process.execPath} ${BIN} repl 127.0.0.1:${port} ${extra}; echo CODE=$?; read -t 2 -r left; printf "LEFT=[%q]\\n" "$left"'`,
  );
}

const PROMPT = /^127\.0\.0\.1:\d+( [a-zA-Z: ]+)?>\s*$/m;

/** The prompt, then EHLO typed and its explained reply: where most sessions here begin. */
async function greet(pty: Pty) {
  await pty.waitFor(PROMPT, 'the prompt');
  await pty.type('EHLO client.test');
  await pty.key('Enter');
  await pty.waitFor(/^<-  250 \S+ +# /m, 'EHLO explained');
}

function assertNoLeak(where: string, text: string, ...secrets: string[]) {
  for (const s of secrets) assert.ok(!text.includes(s), `${where} contains ${JSON.stringify(s)}:\n${text}`);
}

test('pty: /auth PLAIN with the password typed at the prompt sends it in AUTH only', { skip }, async () => {
  const { pty, readHistory } = session();
  const start = server.lines.length;
  try {
    await greet(pty);
    await pty.type('/auth PLAIN alice');
    await pty.key('Enter');
    await pty.waitFor(/password for alice/, 'the password prompt');
    await pty.type(SECRET);
    await pty.key('Enter');
    await pty.waitFor(/auth:alice>\s*$/m, 'the prompt showing the login');
    // Up brings back the /auth line, never the secret.
    await pty.key('Up');
    await pty.waitFor(/auth:alice> \/auth PLAIN alice\s*$/m, 'the /auth line recalled by Up');
    await pty.key('Up');
    await pty.waitFor(/auth:alice> EHLO client\.test\s*$/m, 'EHLO recalled by a second Up');
    await pty.key('C-u');
    await pty.type('NOOP');
    await pty.key('Enter');
    await pty.waitFor(/^<-  250 2\.0\.0 ok/m, 'NOOP answered');
    await pty.type('/quit');
    await pty.key('Enter');
    await pty.waitFor(/^EXIT=0$/m, 'exit 0');
    const received = server.lines.slice(start);
    assert.deepEqual(received, ['EHLO client.test', `AUTH PLAIN ${b64(`\0alice\0${SECRET}`)}`, 'NOOP', 'QUIT']);
    assertNoLeak('the history', readHistory(), SECRET, b64(`\0alice\0${SECRET}`));
    assert.match(readHistory(), /^\/auth PLAIN alice$/m);
    assertNoLeak('the screen', pty.screen(), SECRET, b64(`\0alice\0${SECRET}`));
    assert.match(
      pty.screen(),
      /^!!! AUTH without TLS \(--allow-plaintext\): the credentials cross the network in clear\n[^]*^ -> AUTH PLAIN <redacted>$/m,
      'warned before the credentials went in clear',
    );
  } finally {
    pty.close();
  }
});

test('pty: /auth LOGIN sends the user name once and the password once', { skip }, async () => {
  const { pty, readHistory } = session();
  const start = server.lines.length;
  try {
    await greet(pty);
    await pty.type('/auth LOGIN bob');
    await pty.key('Enter');
    await pty.waitFor(/password for bob/, 'the password prompt');
    await pty.type(SECRET);
    await pty.key('Enter');
    await pty.waitFor(/auth:bob>\s*$/m, 'the prompt showing the login');
    await pty.type('/quit');
    await pty.key('Enter');
    await pty.waitFor(/^EXIT=0$/m, 'exit 0');
    assert.deepEqual(server.lines.slice(start), ['EHLO client.test', 'AUTH LOGIN', b64('bob'), b64(SECRET), 'QUIT']);
    assertNoLeak('the history', readHistory(), SECRET, b64(SECRET));
    assertNoLeak('the screen', pty.screen(), SECRET, b64(SECRET));
  } finally {
    pty.close();
  }
});

test('pty: Ctrl-C at the password prompt cancels it only; the session goes on', { skip }, async () => {
  const { pty, readHistory } = session();
  const start = server.lines.length;
  try {
    await greet(pty);
    await pty.type('/auth PLAIN carol');
    await pty.key('Enter');
    await pty.waitFor(/password for carol/, 'the password prompt');
    await pty.type('half-typed');
    await pty.key('C-c');
    await pty.waitFor(/cancelled/, 'the prompt cancelled');
    await pty.waitFor(PROMPT, 'the main prompt again');
    await pty.type('NOOP');
    await pty.key('Enter');
    await pty.waitFor(/^<-  250 2\.0\.0 ok/m, 'NOOP sent and answered after the cancel');
    await pty.key('C-d');
    await pty.waitFor(/^EXIT=0$/m, 'Ctrl-D ends the session with exit 0');
    assert.deepEqual(server.lines.slice(start), ['EHLO client.test', 'NOOP', 'QUIT']);
    assertNoLeak('the history', readHistory(), 'half-typed');
  } finally {
    pty.close();
  }
});

test('pty: /send answered step by step; no answer is sent as a command or kept in history', { skip }, async () => {
  const { pty, readHistory } = session();
  const start = server.lines.length;
  try {
    await greet(pty);
    await pty.type('/send');
    await pty.key('Enter');
    for (const [question, answer] of [
      [/From:/, 'ann@client.test'],
      [/To:/, 'bob@example.test'],
      [/Subject:/, 'pty subject'],
      [/Body/, 'pty body line'],
    ] as const) {
      await pty.waitFor(question, `the ${question.source} question`);
      await pty.key('C-u');
      await pty.type(answer);
      await pty.key('Enter');
    }
    await pty.waitFor(/queued as LOG1/, 'the message accepted');
    await pty.waitFor(PROMPT, 'the main prompt again');
    await pty.type('/quit');
    await pty.key('Enter');
    await pty.waitFor(/^EXIT=0$/m, 'exit 0');
    const received = server.lines.slice(start);
    assert.deepEqual(received.slice(0, 4), [
      'EHLO client.test',
      'MAIL FROM:<ann@client.test>',
      'RCPT TO:<bob@example.test>',
      'DATA',
    ]);
    const dot = received.indexOf('.');
    assert.ok(dot > 4, 'the message ended with a dot');
    assert.ok(received.slice(4, dot).includes('pty body line'));
    assert.deepEqual(received.slice(dot), ['.', 'QUIT'], 'nothing typed at the questions went out as a command');
    const history = readHistory();
    assert.match(history, /^\/send$/m);
    assertNoLeak('the history', history, 'ann@client.test', 'pty subject', 'pty body line');
  } finally {
    pty.close();
  }
});

test(
  'pty: /send with a smuggling sequence pasted at the Body question: one message, CRLF only, nothing after the CR sent as a command',
  { skip },
  async () => {
    // The fault: a server that ends DATA at any end-of-data variant, as a vulnerable one does.
    const lenient = await recordingServer({ lenientEndOfData: true });
    const { pty } = session('', lenient.port);
    try {
      await pty.waitFor(PROMPT, 'the prompt');
      await pty.type('EHLO client.test');
      await pty.key('Enter');
      await pty.waitFor(/^<-  250 /m, 'the EHLO reply');
      await pty.type('/send');
      await pty.key('Enter');
      for (const [question, answer] of [
        [/From:/, 'ann@client.test'],
        [/To:/, 'bob@example.test'],
        [/Subject:/, 'pasted'],
      ] as const) {
        await pty.waitFor(question, `the ${question.source} question`);
        await pty.key('C-u');
        await pty.type(answer);
        await pty.key('Enter');
      }
      await pty.waitFor(/Body/, 'the Body question');
      await pty.key('C-u');
      await pty.paste('line1\r.\r\nline2\r.\rMAIL FROM:<evil@attacker.test>');
      await pty.waitFor(/queued as REC1/, 'the message accepted');
      await pty.waitFor(PROMPT, 'the main prompt again');
      await pty.type('/quit');
      await pty.key('Enter');
      await pty.waitFor(/^EXIT=0$/m, 'exit 0');
      assert.equal(lenient.messages.length, 1);
      const wire = lenient.messages[0]!.toString('latin1');
      assert.doesNotMatch(wire, /\r(?!\n)|(?<!\r)\n/, 'CRLF only');
      assert.match(wire, /\r\n\r\nline1\r\n\.\r\n$/, 'the line typed before the CR, then the one end of data');
      assert.deepEqual(lenient.commands, [
        'EHLO client.test',
        'MAIL FROM:<ann@client.test>',
        'RCPT TO:<bob@example.test>',
        'DATA',
        'QUIT',
      ]);
    } finally {
      pty.close();
      await lenient.close();
    }
  },
);

test('pty: /quit after a 5xx reply exits 0 (exit 1 on failures is for scripts)', { skip }, async () => {
  const { pty } = session();
  try {
    await greet(pty);
    await pty.type('MAIL FROM:<refuse@client.test>');
    await pty.key('Enter');
    await pty.waitFor(/^<\*\* 550 5\.7\.1 Sender refused/m, 'the refusal');
    await pty.type('/quit');
    await pty.key('Enter');
    await pty.waitFor(/^EXIT=0$/m, 'exit 0 after a refusal in an interactive session');
  } finally {
    pty.close();
  }
});

test('pty: auth and send ask for the password only once the server offers AUTH', { skip }, async () => {
  // Nothing listens on this port: the connection fails before anyone is asked for anything.
  const closed = await loggingServer();
  const port = closed.port;
  await closed.close();
  const down = new Pty(
    `env -u SMTPKIT_PASSWORD NO_COLOR=1 ${process.execPath} ${BIN} auth 127.0.0.1:${port} --user alice --allow-plaintext`,
  );
  try {
    await down.waitFor(/^EXIT=4$/m, 'exit 4 (connect)');
    assert.doesNotMatch(down.screen(), /password for/);
  } finally {
    down.close();
  }
  const noAuth = await loggingServer({
    answer: (l) => (/^EHLO/i.test(l) ? '250-plain.test\r\n250 8BITMIME\r\n' : undefined),
  });
  const refused = new Pty(
    `env -u SMTPKIT_PASSWORD NO_COLOR=1 ${process.execPath} ${BIN} send 127.0.0.1:${noAuth.port} --from a@client.test --to b@example.test --user alice --allow-plaintext --starttls never`,
  );
  try {
    await refused.waitFor(/^EXIT=7$/m, 'exit 7 (auth)');
    assert.doesNotMatch(refused.screen(), /password for/);
    assert.match(refused.screen(), /offers no AUTH/);
  } finally {
    refused.close();
    await noAuth.close();
  }
});

test('pty: SASL responses typed by hand after a 334 stay out of history and the Up arrow', { skip }, async () => {
  const { pty, readHistory } = session();
  try {
    await greet(pty);
    await pty.type('AUTH LOGIN');
    await pty.key('Enter');
    await pty.waitFor(/^<-  334 VXNlcm5hbWU6/m, 'the user name question');
    await pty.type(b64('dave'));
    await pty.key('Enter');
    await pty.waitFor(/^<-  334 UGFzc3dvcmQ6/m, 'the password question');
    await pty.type(b64(SECRET));
    await pty.key('Enter');
    await pty.waitFor(/^<-  235 /m, 'logged in');
    await pty.waitFor(PROMPT, 'the prompt');
    await pty.key('Up');
    await pty.waitFor(/> AUTH LOGIN\s*$/m, 'Up skips the typed responses and recalls AUTH LOGIN');
    await pty.key('C-u');
    await pty.type('/quit');
    await pty.key('Enter');
    await pty.waitFor(/^EXIT=0$/m, 'exit 0');
    assertNoLeak('the history', readHistory(), b64(SECRET), b64('dave'));
    // What was typed at the main prompt was echoed as typed; the transcript shows it redacted.
    assert.equal(pty.screen().match(/^ -> <redacted>$/gm)?.length, 2);
  } finally {
    pty.close();
  }
});

test(
  'pty: a password typed ahead of its prompt goes to the prompt; a pasted one is discarded, never sent',
  { skip },
  async () => {
    const { pty, readHistory } = session();
    const start = server.lines.length;
    try {
      await greet(pty);
      // Typed at once, without waiting for the prompt to appear.
      await pty.type('/auth PLAIN alice');
      await pty.key('Enter');
      await pty.type(SECRET);
      await pty.key('Enter');
      await pty.waitFor(/auth:alice>\s*$/m, 'logged in with the typed-ahead password');
      // Pasted in one piece: the second line must not reach the server as a command.
      await pty.paste(`/auth PLAIN erin\r${SECRET}\r`);
      await pty.waitFor(/typed ahead of this prompt discarded/, 'the pasted line discarded');
      await pty.waitFor(/password for erin/, 'the prompt waiting for the password');
      await pty.type(SECRET);
      await pty.key('Enter');
      await pty.waitFor(/auth:erin>\s*$/m, 'logged in as erin');
      await pty.type('/quit');
      await pty.key('Enter');
      await pty.waitFor(/^EXIT=0$/m, 'exit 0');
      assert.deepEqual(server.lines.slice(start), [
        'EHLO client.test',
        `AUTH PLAIN ${b64(`\0alice\0${SECRET}`)}`,
        `AUTH PLAIN ${b64(`\0erin\0${SECRET}`)}`,
        'QUIT',
      ]);
      assertNoLeak('the history', readHistory(), SECRET);
      // A paste is echoed as it arrives (it came to the main prompt); what was typed at a
      // prompt, typed ahead or not, never shows.
      assert.equal(pty.screen().split(SECRET).length - 1, 1, 'only the pasted copy is on screen');
    } finally {
      pty.close();
    }
  },
);

test('pty: Ctrl-T at the password prompt does not reveal the password', { skip }, async () => {
  const { pty } = session();
  try {
    await greet(pty);
    await pty.type('/auth PLAIN frank');
    await pty.key('Enter');
    await pty.waitFor(/password for frank/, 'the password prompt');
    await pty.type(SECRET);
    await pty.key('C-t');
    await new Promise((r) => setTimeout(r, 300));
    assertNoLeak('the screen', pty.screen(), SECRET);
    assert.doesNotMatch(pty.screen(), /toggle visibility/);
    await pty.key('Enter');
    await pty.waitFor(/auth:frank>\s*$/m, 'logged in');
    await pty.type('/quit');
    await pty.key('Enter');
    await pty.waitFor(/^EXIT=0$/m, 'exit 0');
  } finally {
    pty.close();
  }
});

test(
  'pty: Ctrl-D at each prompt (user name, password, /send question) cancels that prompt only',
  { skip },
  async () => {
    const { pty } = session();
    const start = server.lines.length;
    try {
      await greet(pty);
      const cancelled = () => pty.screen().match(/^!!! .*cancelled/gm)?.length ?? 0;
      for (const [command, question] of [
        ['/auth PLAIN', /\? user:/],
        ['/auth PLAIN grace', /password for grace/],
        ['/send', /\? From:/],
      ] as const) {
        const before = cancelled();
        await pty.type(command);
        await pty.key('Enter');
        await pty.waitFor(question, `the prompt after ${command}`);
        await pty.key('C-d');
        // Before the fix the prompt waited for ever, the terminal back in line mode.
        for (const end = Date.now() + 8000; cancelled() === before && Date.now() < end;)
          await new Promise((r) => setTimeout(r, 50));
        assert.equal(
          cancelled(),
          before + 1,
          `Ctrl-D cancels the prompt after ${command}; the screen:\n${pty.screen()}`,
        );
        await pty.waitFor(PROMPT, 'the main prompt again');
        assert.equal(pty.terminalState().lineMode, false, 'the main prompt has the terminal in raw mode again');
      }
      await pty.type('NOOP');
      await pty.key('Enter');
      await pty.waitFor(/^<-  250 2\.0\.0 ok/m, 'NOOP sent and answered after the cancels');
      await pty.type('/quit');
      await pty.key('Enter');
      await pty.waitFor(/^EXIT=0$/m, 'exit 0');
      assert.deepEqual(server.lines.slice(start), ['EHLO client.test', 'NOOP', 'QUIT']);
      assert.deepEqual(
        pty.terminalState(),
        { lineMode: true, echo: true, cursorVisible: true },
        'the terminal is left as the shell wants it',
      );
    } finally {
      pty.close();
    }
  },
);

test(
  'pty: Ctrl-D at the password prompt of `smtpkit auth` ends it (exit 2), with the terminal as it was',
  { skip },
  async () => {
    const pty = new Pty(
      `env -u SMTPKIT_PASSWORD NO_COLOR=1 ${process.execPath} ${BIN} auth 127.0.0.1:${server.port} --user heidi --allow-plaintext --starttls never`,
    );
    try {
      await pty.waitFor(/password for heidi/, 'the password prompt');
      await pty.key('C-d');
      await pty.waitFor(/^EXIT=2$/m, 'exit 2 (no password entered)');
      assert.match(pty.screen(), /no password entered \(cancelled\)/);
      assert.deepEqual(pty.terminalState(), { lineMode: true, echo: true, cursorVisible: true });
    } finally {
      pty.close();
    }
  },
);

test(
  'pty: stdout to a file, stdin a terminal: the typed password goes to AUTH only, and a 5xx does not end the session',
  { skip },
  async () => {
    // The transcript goes to the file; the screen (stderr) has the prompts and what was typed at the main prompt.
    const transcript = join(tempDir('smtpkit-pty-out-'), 'out.txt');
    const { pty, readHistory } = session(`> ${transcript}`);
    const start = server.lines.length;
    try {
      await pty.waitFor(PROMPT, 'the main prompt, on stderr');
      await pty.type('EHLO client.test');
      await pty.key('Enter');
      for (const end = Date.now() + 8000; !server.lines.slice(start).includes('EHLO client.test') && Date.now() < end;)
        await new Promise((r) => setTimeout(r, 50));
      await pty.waitFor(PROMPT, 'the main prompt after EHLO');
      // Typed ahead of its prompt: in line mode the terminal itself would echo it.
      await pty.type('/auth PLAIN ivan');
      await pty.key('Enter');
      await pty.type(SECRET);
      await pty.key('Enter');
      for (const end = Date.now() + 8000; server.lines.length < start + 2 && Date.now() < end;)
        await new Promise((r) => setTimeout(r, 50));
      await pty.type('BOGUS');
      await pty.key('Enter');
      await pty.type('NOOP');
      await pty.key('Enter');
      await pty.type('/quit');
      await pty.key('Enter');
      await pty.waitFor(/^EXIT=0$/m, 'exit 0: a person ended the session');
      assert.deepEqual(server.lines.slice(start), [
        'EHLO client.test',
        `AUTH PLAIN ${b64(`\0ivan\0${SECRET}`)}`,
        'BOGUS',
        'NOOP',
        'QUIT',
      ]);
      assertNoLeak('the history', readHistory(), SECRET);
      assertNoLeak('the screen', pty.screen(), SECRET);
      assertNoLeak('the transcript', readFileSync(transcript, 'utf8'), SECRET);
      assert.match(readFileSync(transcript, 'utf8'), /^ -> AUTH PLAIN <redacted>$/m);
    } finally {
      pty.close();
    }
  },
);

test(
  'pty: the server closing while the password is typed: the prompt takes the rest of it, nothing is sent, the session ends',
  { skip },
  async () => {
    const lines: string[] = [];
    let socket: Socket | undefined;
    const closing = await rawServer((s) => {
      socket = s;
      s.write('220 closing.test ESMTP\r\n');
      lineServer(s, (l) => (lines.push(l), /^EHLO/i.test(l) ? '250-closing.test\r\n250 AUTH PLAIN\r\n' : '250 ok\r\n'));
    });
    const { pty } = session('', closing.port);
    try {
      await pty.waitFor(PROMPT, 'the prompt');
      await pty.type('EHLO client.test');
      await pty.key('Enter');
      await pty.waitFor(/^<-  250 AUTH PLAIN +# /m, 'EHLO explained');
      await pty.type('/auth PLAIN judy');
      await pty.key('Enter');
      await pty.waitFor(/password for judy/, 'the password prompt');
      await pty.type('half');
      socket!.destroy();
      await pty.waitFor(/^!!! the server closed the connection$/m, 'the close said on a line of its own');
      // Ending at once would hand the rest of the password, as it is typed, to the shell.
      await pty.type('-and-the-rest');
      await pty.key('Enter');
      await pty.waitFor(/^EXIT=0$/m, 'the session over once the password is entered');
      assert.match(pty.screen(), /^!!! the connection closed while the password was typed: it was not sent$/m);
      assert.doesNotMatch(pty.screen(), /-> AUTH/, 'nothing shown as sent on a closed connection');
      assertNoLeak('the screen', pty.screen(), 'half', '-and-the-rest');
      assert.deepEqual(lines, ['EHLO client.test']);
      assert.deepEqual(pty.terminalState(), { lineMode: true, echo: true, cursorVisible: true });
    } finally {
      pty.close();
      await closing.close();
    }
  },
);

test('pty: a password typed on the /auth line by mistake is refused and kept out of history', { skip }, async () => {
  const { pty, readHistory } = session();
  const start = server.lines.length;
  try {
    await greet(pty);
    await pty.type(`/auth PLAIN kim ${SECRET}`);
    await pty.key('Enter');
    await pty.waitFor(/the password is never typed on the line/, 'the refusal');
    await pty.waitFor(PROMPT, 'the prompt again');
    await pty.key('Up');
    await pty.waitFor(/> EHLO client\.test\s*$/m, 'Up skips the refused line');
    await pty.key('C-u');
    await pty.type('/quit');
    await pty.key('Enter');
    await pty.waitFor(/^EXIT=0$/m, 'exit 0');
    assert.deepEqual(server.lines.slice(start), ['EHLO client.test', 'QUIT']);
    assertNoLeak('the history', readHistory(), SECRET);
  } finally {
    pty.close();
  }
});

test(
  'pty: a password typed ahead of a prompt that never opens (/auth refused) is not sent, shown as sent, or kept',
  { skip },
  async () => {
    const { pty, readHistory } = session();
    const start = server.lines.length;
    try {
      await greet(pty);
      // The server offers no SCRAM: /auth is refused before any prompt, while the password is still being typed.
      await pty.type('/auth SCRAM-SHA-256 liz');
      await pty.key('Enter');
      await pty.type(SECRET);
      await pty.key('Enter');
      await pty.waitFor(/not sent/, 'the typed-ahead line held back');
      // Pasted with a misspelt mechanism: the same.
      await pty.paste(`/auth PLAN liz\r${SECRET}\r`);
      await pty.waitFor(/not sent[^]*not sent/, 'the pasted line held back');
      await pty.waitFor(PROMPT, 'the prompt');
      await pty.type('NOOP');
      await pty.key('Enter');
      await pty.waitFor(/^<-  250 2\.0\.0 ok/m, 'the next command goes out as usual');
      await pty.key('Up');
      await pty.waitFor(/> NOOP\s*$/m, 'Up: NOOP');
      await pty.key('Up');
      await pty.waitFor(/> \/auth PLAN liz\s*$/m, 'Up skips the held-back line');
      await pty.key('C-u');
      await pty.type('/quit');
      await pty.key('Enter');
      await pty.waitFor(/^EXIT=0$/m, 'exit 0');
      assert.deepEqual(server.lines.slice(start), ['EHLO client.test', 'NOOP', 'QUIT']);
      assertNoLeak('the history', readHistory(), SECRET);
      assert.doesNotMatch(pty.screen(), new RegExp(`^ -> ${SECRET}`, 'm'));
    } finally {
      pty.close();
    }
  },
);

test(
  'pty: keys typed while a command waits are not left for the shell when the session ends on its own',
  { skip },
  async () => {
    const silent = await loggingServer({ answer: (l) => (/^HANG/i.test(l) ? '' : undefined) });
    // After smtpkit exits, whatever it left unread in the terminal is what the shell would run.
    const pty = shellSession(silent.port, '--command-timeout 2s');
    try {
      await pty.waitFor(PROMPT, 'the prompt');
      await pty.type('HANG');
      await pty.key('Enter');
      await pty.waitFor(/^ -> HANG$/m, 'HANG sent');
      await pty.type('echo typed-ahead');
      await pty.key('Enter');
      await pty.waitFor(/^LEFT=\[.*\]$/m, 'the shell reading what was left', 10000);
      assert.match(pty.screen(), /^CODE=5$/m, 'the command timeout ends the session (exit 5)');
      assert.match(pty.screen(), /^LEFT=\[''\]$/m, 'nothing typed during the session is left for the shell');
      assert.deepEqual(silent.lines, ['HANG']);
    } finally {
      pty.close();
      await silent.close();
    }
  },
);

test(
  'pty: stderr not a terminal: /auth says the secret must come from SMTPKIT_PASSWORD, in the repl’s words',
  { skip },
  async () => {
    const { pty } = session('2>/dev/null');
    try {
      await greet(pty);
      await pty.type('/auth PLAIN mia');
      await pty.key('Enter');
      await pty.waitFor(
        /^!!! \/auth with stderr not a terminal takes the secret from SMTPKIT_PASSWORD/m,
        'the refusal',
      );
      assert.doesNotMatch(pty.screen(), /--password-file/);
      await pty.type('/quit');
      await pty.key('Enter');
      await pty.waitFor(/^EXIT=0$/m, 'exit 0');
    } finally {
      pty.close();
    }
  },
);

test(
  'pty: Ctrl-C while a command waits for its reply stops the wait and closes the connection, without QUIT; keys typed meanwhile go nowhere',
  { skip },
  async () => {
    const silent = await loggingServer({ answer: (l) => (/^NOOP/i.test(l) ? '' : undefined) });
    const dir = tempDir('smtpkit-pty-');
    const history = join(dir, 'history');
    // The default command timeout is minutes: only Ctrl-C can end this wait within the test's.
    const pty = shellSession(silent.port, '', history);
    try {
      await greet(pty);
      await pty.type('NOOP');
      await pty.key('Enter');
      await pty.waitFor(/^ -> NOOP$/m, 'NOOP sent');
      // Typed while NOOP waits: not for the server, and not for the shell once smtpkit is gone.
      await pty.type('echo LEAKED');
      await pty.key('Enter');
      await new Promise((r) => setTimeout(r, 300));
      await pty.key('C-c');
      await pty.waitFor(
        /stopped waiting for the reply to NOOP \(Ctrl-C\) and closed the connection, without QUIT/,
        'the wait stopped by Ctrl-C',
      );
      await pty.waitFor(/^LEFT=\[.*\]$/m, 'the shell reading what was left', 10000);
      assert.match(pty.screen(), /^CODE=5$/m, 'ended as a connection closed while a command waits (exit 5)');
      assert.match(pty.screen(), /^LEFT=\[''\]$/m, 'nothing typed during the wait is left for the shell');
      assert.deepEqual(
        silent.lines,
        ['EHLO client.test', 'NOOP'],
        'nothing sent after NOOP: no typed-ahead line, no QUIT',
      );
      assertNoLeak('the screen', pty.screen(), 'LEAKED');
      assertNoLeak('the history', existsSync(history) ? readFileSync(history, 'utf8') : '', 'LEAKED');
      assert.deepEqual(pty.terminalState(), { lineMode: true, echo: true, cursorVisible: true });
    } finally {
      pty.close();
      await silent.close();
    }
  },
);

test(
  'pty: Ctrl-C while a command waits, with no line editing (output to files): the terminal sends SIGINT, and the wait stops the same way',
  { skip },
  async () => {
    const silent = await loggingServer({ answer: (l) => (/^NOOP/i.test(l) ? '' : undefined) });
    const dir = tempDir('smtpkit-pty-');
    const [out, err] = [join(dir, 'out'), join(dir, 'err')];
    // stdin a terminal, stdout and stderr files: a person types, in line mode (the terminal echoes).
    const pty = shellSession(silent.port, `>${out} 2>${err}`);
    try {
      for (
        const end = Date.now() + 8000;
        !/^<- {2}220 /m.test(existsSync(out) ? readFileSync(out, 'utf8') : '') && Date.now() < end;
      )
        await new Promise((r) => setTimeout(r, 50));
      await pty.type('EHLO client.test');
      await pty.key('Enter');
      await pty.type('NOOP');
      await pty.key('Enter');
      for (const end = Date.now() + 8000; !silent.lines.includes('NOOP') && Date.now() < end;)
        await new Promise((r) => setTimeout(r, 50));
      await pty.type('echo LEAKED');
      await pty.key('Enter');
      await new Promise((r) => setTimeout(r, 300));
      await pty.key('C-c');
      await pty.waitFor(/^LEFT=\[.*\]$/m, 'the shell reading what was left', 10000);
      // The terminal echoes the key as ^C, without a line break.
      assert.match(pty.screen(), /^(\^C)?CODE=5$/m, `exit 5; stderr:\n${readFileSync(err, 'utf8')}`);
      assert.match(
        readFileSync(err, 'utf8'),
        /stopped waiting for the reply to NOOP \(Ctrl-C\) and closed the connection, without QUIT/,
      );
      assert.match(pty.screen(), /^LEFT=\[''\]$/m, 'nothing typed during the wait is left for the shell');
      assert.deepEqual(silent.lines, ['EHLO client.test', 'NOOP'], 'nothing sent after NOOP');
    } finally {
      pty.close();
      await silent.close();
    }
  },
);

test(
  'pty: Ctrl-C during a TLS handshake the server never finishes stops it, naming the handshake (exit 5)',
  { skip },
  async () => {
    let upgrading = false;
    // Says yes to STARTTLS, then stays silent: the handshake never ends.
    const stall = await loggingServer({
      answer: (l) => {
        if (upgrading) return '';
        if (/^EHLO/i.test(l)) return '250-logging.test\r\n250 STARTTLS\r\n';
        if (/^STARTTLS/i.test(l)) return ((upgrading = true), '220 2.0.0 Ready to start TLS\r\n');
        return undefined;
      },
    });
    const pty = shellSession(stall.port);
    try {
      await greet(pty);
      await pty.type('STARTTLS');
      await pty.key('Enter');
      await pty.waitFor(/^<- {2}220 2\.0\.0 Ready to start TLS/m, 'the 220');
      await new Promise((r) => setTimeout(r, 500));
      await pty.key('C-c');
      await pty.waitFor(/^CODE=\d+$/m, 'smtpkit ended', 10000);
      assert.match(
        pty.screen(),
        /stopped waiting for the TLS handshake \(Ctrl-C\) and closed the connection, without QUIT: a connection whose TLS handshake was abandoned/,
      );
      assert.match(pty.screen(), /^CODE=5$/m);
      assert.deepEqual(stall.lines.slice(0, 2), ['EHLO client.test', 'STARTTLS']);
      assert.deepEqual(pty.terminalState(), { lineMode: true, echo: true, cursorVisible: true });
    } finally {
      pty.close();
      await stall.close();
    }
  },
);

test(
  'pty: Ctrl-C while the repl waits for the greeting stops at once, with a line saying so (exit 4)',
  { skip },
  async () => {
    // Accepts the connection and never says a word.
    const mute = await rawServer(() => {});
    const pty = shellSession(mute.port);
    try {
      await pty.waitFor(/^=== Connected to /m, 'connected');
      await pty.key('C-c');
      await pty.waitFor(/^CODE=\d+$/m, 'smtpkit ended');
      assert.match(pty.screen(), /stopped waiting for the greeting \(Ctrl-C\)/);
      assert.match(pty.screen(), /^CODE=4$/m, 'exit 4, as for no greeting');
      assert.deepEqual(mute.received, [''], 'nothing sent');
      assert.deepEqual(pty.terminalState(), { lineMode: true, echo: true, cursorVisible: true });
    } finally {
      pty.close();
      await mute.close();
    }
  },
);

test(
  'pty: keys typed while a command waits go, when its reply comes, to the next prompt as before (watching for Ctrl-C takes none of them)',
  { skip },
  async () => {
    const lines: string[] = [];
    const slow = await rawServer((s) => {
      s.write('220 slow.test ESMTP\r\n');
      lineServer(s, (l) => {
        lines.push(l);
        if (/^NOOP/i.test(l)) {
          setTimeout(() => s.write('250 2.0.0 late ok\r\n'), 1500);
          return '';
        }
        return /^QUIT/i.test(l) ? '221 bye\r\n' : '250 ok\r\n';
      });
    });
    const { pty, readHistory } = session('', slow.port);
    try {
      await pty.waitFor(PROMPT, 'the prompt');
      await pty.type('NOOP');
      await pty.key('Enter');
      await pty.waitFor(/^ -> NOOP$/m, 'NOOP sent');
      await pty.type('RSET');
      await pty.key('Enter');
      await pty.type('/quit');
      await pty.key('Enter');
      await pty.waitFor(/^EXIT=0$/m, 'exit 0 once the typed-ahead lines ran');
      assert.deepEqual(lines, ['NOOP', 'RSET', 'QUIT']);
      assert.match(pty.screen(), /late ok[^]* -> RSET[^]* -> QUIT/);
      assert.match(readHistory(), /^NOOP\nRSET\n\/quit\n?$/);
    } finally {
      pty.close();
      await slow.close();
    }
  },
);

test(
  'pty: Ctrl-C while the end of a message waits for its reply: the wait stops, nothing more is sent, and the message is said to be of unknown fate',
  { skip },
  async () => {
    const lines: string[] = [];
    let inData = false;
    const mute = await rawServer((s) => {
      s.write('220 mute-dot.test ESMTP\r\n');
      lineServer(s, (l) => {
        lines.push(l);
        // Message text gets no reply, and neither does its end: the server just goes quiet.
        if (inData) return '';
        if (/^DATA/i.test(l)) return ((inData = true), '354 go ahead\r\n');
        return '250 ok\r\n';
      });
    });
    const pty = shellSession(mute.port);
    try {
      await pty.waitFor(PROMPT, 'the prompt');
      for (const line of [
        'MAIL FROM:<a@client.test>',
        'RCPT TO:<b@example.test>',
        'DATA',
        'Subject: t',
        '',
        'body',
        '.',
      ]) {
        await pty.type(line);
        await pty.key('Enter');
        if (line === 'DATA') await pty.waitFor(/^<- {2}354 /m, 'the 354');
      }
      await pty.waitFor(/^ -> \.$/m, 'the end of the message sent');
      await pty.key('C-c');
      await pty.waitFor(/^CODE=\d+$/m, 'smtpkit ended');
      assert.match(pty.screen(), /stopped waiting for the reply to the end of the message \("\."\) \(Ctrl-C\)/);
      assert.match(pty.screen().replace(/\n\*\*\* +/g, ' '), /whether the message was accepted is unknown/);
      assert.match(pty.screen(), /^CODE=5$/m);
      assert.deepEqual(lines.slice(-4), ['Subject: t', '', 'body', '.'], 'nothing after the dot, no QUIT');
    } finally {
      pty.close();
      await mute.close();
    }
  },
);

/** A server that answers one command late (NOOP unless told) and offers AUTH PLAIN; the lines it got. */
async function lateReplyServer({ late: slow = /^NOOP/i, reply = '250 2.0.0 late ok', lateMs = 1500 } = {}) {
  const lines: string[] = [];
  const late = await rawServer((s) => {
    s.write('220 late.test ESMTP\r\n');
    lineServer(s, (l) => {
      lines.push(l);
      if (slow.test(l)) {
        setTimeout(() => s.write(`${reply}\r\n`), lateMs);
        return '';
      }
      if (/^EHLO/i.test(l)) return '250-late.test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n';
      if (/^AUTH/i.test(l)) return '235 2.7.0 ok\r\n';
      return /^QUIT/i.test(l) ? '221 bye\r\n' : '250 ok\r\n';
    });
  });
  return { lines, port: late.port, close: () => late.close() };
}

test(
  'pty: /auth and its password typed while a command waits: the password is not shown, sent, or recalled by Up; it is discarded with a warning',
  { skip },
  async () => {
    const late = await lateReplyServer();
    const { pty, readHistory } = session('', late.port);
    try {
      await greet(pty);
      await pty.type('NOOP');
      await pty.key('Enter');
      await pty.waitFor(/^ -> NOOP$/m, 'NOOP sent');
      // Typed while NOOP waits: both lines reached smtpkit at once when the reply came, and
      // readline echoed the second one and kept it for the Up arrow.
      await pty.type('/auth PLAIN alice');
      await pty.key('Enter');
      await pty.type(SECRET);
      await pty.key('Enter');
      await pty.waitFor(/late ok/, 'the late reply');
      await pty.waitFor(/typed ahead of this prompt discarded/, 'the typed-ahead password discarded');
      await pty.waitFor(/password for alice/, 'the password prompt');
      await new Promise((r) => setTimeout(r, 300));
      await pty.type('other-pw');
      await pty.key('Enter');
      await pty.waitFor(/auth:alice>\s*$/m, 'logged in with the password typed at the prompt');
      await pty.key('Up');
      await pty.waitFor(/auth:alice> \/auth PLAIN alice\s*$/m, 'Up recalls the /auth line');
      await pty.key('Up');
      await pty.waitFor(/auth:alice> NOOP\s*$/m, 'a second Up recalls NOOP, never the password');
      await pty.key('C-u');
      await pty.type('/quit');
      await pty.key('Enter');
      await pty.waitFor(/^EXIT=0$/m, 'exit 0');
      assert.deepEqual(late.lines, ['EHLO client.test', 'NOOP', `AUTH PLAIN ${b64('\0alice\0other-pw')}`, 'QUIT']);
      assertNoLeak('the screen', pty.screen(), SECRET);
      assertNoLeak('the history', readHistory(), SECRET);
    } finally {
      pty.close();
      await late.close();
    }
  },
);

test('pty: a password pasted with /auth is discarded and not recalled by the Up arrow', { skip }, async () => {
  const { pty } = session();
  try {
    await greet(pty);
    await pty.paste(`/auth PLAIN nina\r${SECRET}\r`);
    await pty.waitFor(/typed ahead of this prompt discarded/, 'the pasted line discarded');
    await pty.waitFor(/password for nina/, 'the password prompt');
    await pty.type('other-pw');
    await pty.key('Enter');
    await pty.waitFor(/auth:nina>\s*$/m, 'logged in');
    await pty.key('Up');
    await pty.waitFor(/auth:nina> \/auth PLAIN nina\s*$/m, 'Up recalls the /auth line, not the pasted password');
    await pty.key('C-u');
    await pty.type('/quit');
    await pty.key('Enter');
    await pty.waitFor(/^EXIT=0$/m, 'exit 0');
  } finally {
    pty.close();
  }
});

test(
  'pty: a line typed while a command waits, and half of the next: the rest typed after the reply goes on the end of that half, in order',
  { skip },
  async () => {
    const late = await lateReplyServer();
    const { pty } = session('', late.port);
    try {
      await greet(pty);
      await pty.type('NOOP');
      await pty.key('Enter');
      await pty.waitFor(/^ -> NOOP$/m, 'NOOP sent');
      // Both reached readline at once when the reply came: RSET ran, and the prompt after it
      // put the cursor before "HELP pa", so "rt" went in front of it ("rtHELP pa" was sent).
      await pty.type('RSET');
      await pty.key('Enter');
      await pty.type('HELP pa');
      await pty.waitFor(/late ok[^]* -> RSET/, 'NOOP answered, then RSET sent');
      await new Promise((r) => setTimeout(r, 300));
      await pty.type('rt');
      await pty.key('Enter');
      await pty.waitFor(/^ -> HELP/m, 'the HELP line sent');
      await pty.type('/quit');
      await pty.key('Enter');
      await pty.waitFor(/^EXIT=0$/m, 'exit 0');
      assert.deepEqual(late.lines, ['EHLO client.test', 'NOOP', 'RSET', 'HELP part', 'QUIT']);
    } finally {
      pty.close();
      await late.close();
    }
  },
);

test(
  'pty: a reply nobody asked for, shown while a line is half typed: the rest of the line goes on its end',
  { skip },
  async () => {
    const lines: string[] = [];
    let socket: Socket | undefined;
    const chatty = await rawServer((s) => {
      socket = s;
      s.write('220 chatty.test ESMTP\r\n');
      lineServer(s, (l) => (lines.push(l), /^QUIT/i.test(l) ? '221 bye\r\n' : '250 ok\r\n'));
    });
    const { pty } = session('', chatty.port);
    try {
      await pty.waitFor(PROMPT, 'the prompt');
      await pty.type('HELP pa');
      socket!.write('250 unsolicited\r\n');
      await pty.waitFor(/^<-  250 unsolicited/m, 'the unsolicited reply shown');
      await new Promise((r) => setTimeout(r, 300));
      await pty.type('rt');
      await pty.key('Enter');
      await pty.waitFor(/^ -> HELP/m, 'the HELP line sent');
      await pty.type('/quit');
      await pty.key('Enter');
      await pty.waitFor(/^EXIT=0$/m, 'exit 0');
      assert.deepEqual(lines, ['HELP part', 'QUIT']);
    } finally {
      pty.close();
      await chatty.close();
    }
  },
);

/** What a pasted AUTH LOGIN exchange must never leave behind: the user and password, as pasted. */
const PASTED_LOGIN = `AUTH LOGIN\r${b64('dave')}\r${b64(SECRET)}\r`;

/** A screen, history and wire without the pasted responses; Up recalls AUTH LOGIN, then EHLO. */
async function assertPastedLoginDropped(pty: Pty, readHistory: () => string, received: string[]) {
  await pty.waitFor(PROMPT, 'the prompt');
  await pty.key('Up');
  await pty.waitFor(/> AUTH LOGIN\s*$/m, 'Up recalls AUTH LOGIN, not a pasted response');
  await pty.key('Up');
  await pty.waitFor(/> EHLO client\.test\s*$/m, 'a second Up recalls EHLO');
  await pty.key('C-u');
  await pty.type('NOOP');
  await pty.key('Enter');
  await pty.waitFor(/^ -> NOOP$/m, 'the session goes on');
  await pty.type('/quit');
  await pty.key('Enter');
  await pty.waitFor(/^EXIT=0$/m, 'exit 0');
  assert.deepEqual(received, ['EHLO client.test', 'AUTH LOGIN', 'NOOP', 'QUIT']);
  assertNoLeak('the history', readHistory(), b64('dave'), b64(SECRET));
  assert.doesNotMatch(pty.screen(), /^ -> (<redacted>|ZGF2ZQ==|VHlwZWQt)/m, 'nothing shown as sent after AUTH');
}

for (const refusal of [
  '530 5.7.0 Must issue a STARTTLS command first',
  '503 5.5.1 Error: already authenticated',
  '250 2.0.0 Ok',
]) {
  test(
    `pty: AUTH LOGIN pasted with its user and password, answered ${refusal.slice(0, 3)}: the pasted responses are dropped with a warning, not sent, kept or recalled`,
    { skip },
    async () => {
      const refusing = await loggingServer({ answer: (l) => (/^AUTH/i.test(l) ? `${refusal}\r\n` : undefined) });
      const { pty, readHistory } = session('', refusing.port);
      try {
        await greet(pty);
        await pty.paste(PASTED_LOGIN);
        await pty.waitFor(
          /^!!! 2 lines typed after AUTH discarded, not sent$/m,
          'the pasted responses dropped, with a warning',
        );
        // Warned before AUTH went out in clear, as /auth is (and both are refused without --allow-plaintext).
        assert.match(
          pty.screen(),
          /^!!! AUTH without TLS \(--allow-plaintext\): the credentials cross the network in clear\n -> AUTH LOGIN$/m,
        );
        await assertPastedLoginDropped(pty, readHistory, refusing.lines);
      } finally {
        pty.close();
        await refusing.close();
      }
    },
  );
}

test(
  'pty: AUTH LOGIN answered 334, its pasted user name refused: the pasted password is dropped, not sent as a command',
  { skip },
  async () => {
    const lines: string[] = [];
    let step = '';
    const picky = await rawServer((s) => {
      s.write('220 picky.test ESMTP\r\n');
      lineServer(s, (l) => {
        lines.push(l);
        if (step === 'user') return ((step = ''), '535 5.7.8 Error: authentication failed: no such user\r\n');
        if (/^EHLO/i.test(l)) return '250-picky.test\r\n250-AUTH LOGIN\r\n250 8BITMIME\r\n';
        if (/^AUTH LOGIN/i.test(l)) return ((step = 'user'), '334 VXNlcm5hbWU6\r\n');
        return /^QUIT/i.test(l) ? '221 bye\r\n' : '250 2.0.0 ok\r\n';
      });
    });
    const { pty, readHistory } = session('', picky.port);
    try {
      await greet(pty);
      await pty.paste(PASTED_LOGIN);
      await pty.waitFor(/^!!! 1 line typed after AUTH discarded, not sent$/m, 'the pasted password dropped');
      await pty.waitFor(PROMPT, 'the prompt');
      await pty.type('/quit');
      await pty.key('Enter');
      await pty.waitFor(/^EXIT=0$/m, 'exit 0');
      assert.deepEqual(lines, ['EHLO client.test', 'AUTH LOGIN', b64('dave'), 'QUIT']);
      assertNoLeak('the history', readHistory(), b64('dave'), b64(SECRET));
      assertNoLeak('the screen', pty.screen().replace(PASTED_LOGIN.replace(/\r/g, '\n').trimEnd(), ''), b64(SECRET));
    } finally {
      pty.close();
      await picky.close();
    }
  },
);

test(
  'pty: AUTH LOGIN typed key by key, its user and password typed before the late refusal: neither is sent, shown, kept or recalled',
  { skip },
  async () => {
    // Late enough for both lines to be typed, key by key, on a busy machine.
    const late = await lateReplyServer({
      late: /^AUTH/i,
      reply: '530 5.7.0 Must issue a STARTTLS command first',
      lateMs: 3000,
    });
    const { pty, readHistory } = session('', late.port);
    try {
      await greet(pty);
      await pty.type('AUTH LOGIN');
      await pty.key('Enter');
      await pty.waitFor(/^ -> AUTH LOGIN$/m, 'AUTH LOGIN sent');
      await pty.type(b64('dave'));
      await pty.key('Enter');
      await pty.type(b64(SECRET));
      await pty.key('Enter');
      await pty.waitFor(/^<\*\* 530 /m, 'the late refusal');
      await pty.waitFor(/^!!! 2 lines typed after AUTH discarded, not sent$/m, 'the typed-ahead responses dropped');
      await assertPastedLoginDropped(pty, readHistory, late.lines);
      // Typed while AUTH waited: never echoed, so nowhere on the screen.
      assertNoLeak('the screen', pty.screen(), b64('dave'), b64(SECRET));
    } finally {
      pty.close();
      await late.close();
    }
  },
);

test(
  'pty: a raw AUTH typed over a connection without TLS is refused first, as /auth is, with what was pasted after it',
  { skip },
  async () => {
    const { pty, readHistory } = session('', server.port, { allowPlaintext: false });
    const start = server.lines.length;
    try {
      await greet(pty);
      await pty.type(`AUTH PLAIN ${b64(`\0erin\0${SECRET}`)}`);
      await pty.key('Enter');
      await pty.waitFor(
        /^!!! refusing to send credentials without TLS: the AUTH line was not sent; type \/starttls first \(or start the repl with --allow-plaintext\)$/m,
        'the refusal',
      );
      await pty.paste(PASTED_LOGIN);
      await pty.waitFor(/^!!! 2 lines typed after AUTH discarded, not sent$/m, 'the pasted responses dropped');
      await pty.waitFor(PROMPT, 'the prompt');
      await pty.type('/quit');
      await pty.key('Enter');
      await pty.waitFor(/^EXIT=0$/m, 'exit 0');
      assert.deepEqual(server.lines.slice(start), ['EHLO client.test', 'QUIT']);
      assert.doesNotMatch(pty.screen(), /^ -> AUTH/m);
      assertNoLeak('the history', readHistory(), b64(`\0erin\0${SECRET}`), b64(SECRET));
    } finally {
      pty.close();
    }
  },
);

test('pty: Tab completes in the case typed: eh → ehlo, EH → EHLO, ma → mail from:<', { skip }, async () => {
  const { pty } = session();
  const start = server.lines.length;
  try {
    await pty.waitFor(PROMPT, 'the prompt');
    await pty.type('eh');
    await pty.key('Tab');
    await pty.waitFor(/> ehlo\s*$/m, 'ehlo, in lower case');
    await pty.key('C-u');
    await pty.type('EH');
    await pty.key('Tab');
    await pty.waitFor(/> EHLO\s*$/m, 'EHLO, in upper case');
    await pty.key('C-u');
    await pty.type('eh');
    await pty.key('Tab');
    await pty.type('client.test');
    await pty.key('Enter');
    await pty.waitFor(/^<-  250 8BITMIME/m, 'EHLO answered');
    await pty.type('ma');
    await pty.key('Tab');
    await pty.waitFor(/> mail from:<$/m, 'mail from:<, in lower case');
    await pty.type('a@client.test>');
    await pty.key('Enter');
    await pty.waitFor(/^<-  250 2\.0\.0 ok/m, 'MAIL answered');
    await pty.type('/quit');
    await pty.key('Enter');
    await pty.waitFor(/^EXIT=0$/m, 'exit 0');
    assert.deepEqual(server.lines.slice(start), ['ehlo client.test', 'mail from:<a@client.test>', 'QUIT']);
  } finally {
    pty.close();
  }
});

test(
  'pty: a TAB pasted into a command is never sent (refused, saying so); in message text it is text',
  { skip },
  async () => {
    const { pty, readHistory } = session();
    const start = server.lines.length;
    try {
      await greet(pty);
      await pty.paste('NOOP\tpasted\r');
      await pty.waitFor(
        /^!!! a TAB \(pasted\?\) cannot go in an SMTP command; the line was not sent/m,
        'the pasted TAB refused',
      );
      await pty.waitFor(PROMPT, 'the prompt');
      await pty.key('Up');
      await pty.waitFor(/> EHLO client\.test\s*$/m, 'Up skips the refused line (it may have been a secret)');
      await pty.key('C-u');
      // Typed, Tab completes: it never becomes part of the line.
      await pty.type('NOO');
      await pty.key('Tab');
      await pty.key('Tab');
      await pty.key('Enter');
      await pty.waitFor(/^ -> NOOP$/m, 'NOOP completed and sent');
      await pty.paste('MAIL FROM:<a@client.test>\rRCPT TO:<b@example.test>\rDATA\r');
      await pty.waitFor(/^<-  354 /m, 'DATA accepted');
      await pty.paste('Subject: a\r\tfolded\r\r\tindented body\r.\r');
      await pty.waitFor(/queued as LOG1/, 'the message accepted');
      await pty.waitFor(PROMPT, 'the prompt');
      await pty.type('/quit');
      await pty.key('Enter');
      await pty.waitFor(/^EXIT=0$/m, 'exit 0');
      const received = server.lines.slice(start);
      assert.ok(
        !received.some((l) => l.startsWith('NOOP\t')),
        `a TAB went out in a command: ${JSON.stringify(received)}`,
      );
      assert.deepEqual(received, [
        'EHLO client.test',
        'NOOP',
        'MAIL FROM:<a@client.test>',
        'RCPT TO:<b@example.test>',
        'DATA',
        'Subject: a',
        '\tfolded',
        '',
        '\tindented body',
        '.',
        'QUIT',
      ]);
      assert.doesNotMatch(readHistory(), /\t/);
    } finally {
      pty.close();
    }
  },
);

test('pty: Ctrl-D at the prompt: QUIT is shown on a line of its own, not on the prompt line', { skip }, async () => {
  const { pty } = session();
  try {
    await greet(pty);
    await pty.key('C-d');
    await pty.waitFor(/^EXIT=0$/m, 'exit 0');
    assert.match(pty.screen(), /^ -> QUIT$/m);
    assert.doesNotMatch(pty.screen(), /> +-> QUIT/, 'QUIT shown on the prompt line');
  } finally {
    pty.close();
  }
});

test(
  'pty: no line editing (output to files): AUTH LOGIN refused, the user and password pasted with it still in the terminal are dropped, not sent',
  { skip },
  async () => {
    const refusing = await loggingServer({
      answer: (l) => (/^AUTH/i.test(l) ? '530 5.7.0 Must issue a STARTTLS command first\r\n' : undefined),
    });
    const out = join(tempDir('smtpkit-pty-out-'), 'out.txt');
    // Line mode: the terminal hands over one line per read, so the pasted lines wait in it, unread.
    const { pty, readHistory } = session(`>${out} 2>/dev/null`, refusing.port);
    const transcript = () => (existsSync(out) ? readFileSync(out, 'utf8') : '');
    try {
      for (const end = Date.now() + 8000; !/^<- {2}220 /m.test(transcript()) && Date.now() < end;)
        await new Promise((r) => setTimeout(r, 50));
      await pty.type('EHLO client.test');
      await pty.key('Enter');
      await pty.paste(PASTED_LOGIN);
      for (const end = Date.now() + 8000; !/typed after AUTH/.test(transcript()) && Date.now() < end;)
        await new Promise((r) => setTimeout(r, 50));
      await pty.type('/quit');
      await pty.key('Enter');
      await pty.waitFor(/^EXIT=0$/m, 'exit 0');
      assert.match(transcript(), /^!!! 2 lines typed after AUTH discarded, not sent$/m);
      assert.deepEqual(refusing.lines, ['EHLO client.test', 'AUTH LOGIN', 'QUIT']);
      assertNoLeak('the history', readHistory(), b64('dave'), b64(SECRET));
      assertNoLeak('the transcript', transcript(), b64('dave'), b64(SECRET));
    } finally {
      pty.close();
      await refusing.close();
    }
  },
);

test(
  'pty: AUTH LOGIN pasted with its user and password, answered 334, 334, 235: all three go, in the exchange, and nothing is dropped',
  { skip },
  async () => {
    const { pty, readHistory } = session();
    const start = server.lines.length;
    try {
      await greet(pty);
      await pty.paste(PASTED_LOGIN);
      await pty.waitFor(/^<-  235 /m, 'logged in');
      await pty.waitFor(PROMPT, 'the prompt');
      await pty.key('Up');
      await pty.waitFor(/> AUTH LOGIN\s*$/m, 'Up recalls AUTH LOGIN, not a response');
      await pty.key('C-u');
      await pty.type('/quit');
      await pty.key('Enter');
      await pty.waitFor(/^EXIT=0$/m, 'exit 0');
      assert.deepEqual(server.lines.slice(start), ['EHLO client.test', 'AUTH LOGIN', b64('dave'), b64(SECRET), 'QUIT']);
      assert.doesNotMatch(pty.screen(), /discarded/);
      assert.equal(pty.screen().match(/^ -> <redacted>$/gm)?.length, 2);
      assertNoLeak('the history', readHistory(), b64('dave'), b64(SECRET));
    } finally {
      pty.close();
    }
  },
);

test(
  'pty: lines pasted at once, the last without its Enter: what each sends is on a line of its own, and the unfinished one waits at the prompt',
  { skip },
  async () => {
    const { pty } = session();
    const start = server.lines.length;
    try {
      await pty.waitFor(PROMPT, 'the prompt');
      await pty.paste('NOOP\rRSET\rHELP pa');
      await pty.waitFor(/> HELP pa$/m, 'the unfinished line back at the prompt');
      await pty.type('rt');
      await pty.key('Enter');
      await pty.waitFor(/^ -> HELP part$/m, 'the finished line sent');
      await pty.key('C-d');
      await pty.waitFor(/^EXIT=0$/m, 'exit 0');
      assert.deepEqual(server.lines.slice(start), ['NOOP', 'RSET', 'HELP part', 'QUIT']);
      for (const sent of ['NOOP', 'RSET', 'HELP part', 'QUIT'])
        assert.match(pty.screen(), new RegExp(`^ -> ${sent}$`, 'm'), `${sent} on a line of its own`);
    } finally {
      pty.close();
    }
  },
);

test(
  'pty: Tab typed in message text after DATA is a TAB in the message, never a completed verb',
  { skip },
  async () => {
    const { pty } = session();
    const start = server.lines.length;
    try {
      await greet(pty);
      await pty.paste('MAIL FROM:<a@client.test>\rRCPT TO:<b@example.test>\rDATA\r');
      await pty.waitFor(/^<-  354 /m, 'DATA accepted');
      await pty.waitFor(/DATA>\s*$/m, 'the DATA prompt');
      // "ma" + Tab at a command prompt is "mail from:<"; in a message it is "ma", a TAB, then the rest.
      await pty.type('ma');
      await pty.key('Tab');
      await pty.type('x');
      await pty.key('Enter');
      await pty.key('Tab');
      await pty.type('indented');
      await pty.key('Enter');
      await pty.type('.');
      await pty.key('Enter');
      await pty.waitFor(/queued as LOG1/, 'the message accepted');
      await pty.waitFor(PROMPT, 'the prompt');
      await pty.type('/quit');
      await pty.key('Enter');
      await pty.waitFor(/^EXIT=0$/m, 'exit 0');
      assert.deepEqual(server.lines.slice(start), [
        'EHLO client.test',
        'MAIL FROM:<a@client.test>',
        'RCPT TO:<b@example.test>',
        'DATA',
        'ma\tx',
        '\tindented',
        '.',
        'QUIT',
      ]);
    } finally {
      pty.close();
    }
  },
);
