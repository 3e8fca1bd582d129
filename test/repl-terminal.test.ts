import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loggingServer, type LoggingServer } from './helpers/logging-server.js';
import { BIN } from './helpers/paths.js';
import { hasTmux, Pty } from './helpers/pty.js';

/**
 * The REPL at a real terminal (tmux), typed into key by key. Each test asserts on the three
 * places a secret could leak: what the server received, the history file, and the screen.
 */
const skip = hasTmux ? false : 'tmux is not installed';
if (!hasTmux && process.env.CI) throw new Error('CI must run the terminal tests, but tmux is missing: did .ci/run install it?');

const SECRET = 'Typed-S3cret-pw';
const b64 = (s: string) => Buffer.from(s).toString('base64');

let server: LoggingServer;
before(async () => {
  server = await loggingServer({
    answer: (line) => (/^MAIL FROM:<refuse@/i.test(line) ? '550 5.7.1 Sender refused\r\n' : undefined),
  });
});
after(() => server.close());

function session(extra = '') {
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-pty-'));
  const history = join(dir, 'history');
  // No SMTPKIT_PASSWORD: the secret must be typed at the prompt.
  const pty = new Pty(`env -u SMTPKIT_PASSWORD NO_COLOR=1 SMTPKIT_HISTORY=${history} ${process.execPath} ${BIN} repl 127.0.0.1:${server.port} --allow-plaintext ${extra}`);
  const readHistory = () => (existsSync(history) ? readFileSync(history, 'utf8') : '');
  return { pty, readHistory };
}

const PROMPT = /^127\.0\.0\.1:\d+( [a-zA-Z: ]+)?>\s*$/m;

function assertNoLeak(where: string, text: string, ...secrets: string[]) {
  for (const s of secrets) assert.ok(!text.includes(s), `${where} contains ${JSON.stringify(s)}:\n${text}`);
}

test('pty: /auth PLAIN with the password typed at the prompt sends it in AUTH only', { skip }, async () => {
  const { pty, readHistory } = session();
  const start = server.lines.length;
  try {
    await pty.waitFor(PROMPT, 'the prompt');
    await pty.type('EHLO client.test');
    await pty.key('Enter');
    await pty.waitFor(/# The server accepted EHLO/, 'EHLO explained');
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
    assert.match(pty.screen(), /^ -> AUTH PLAIN <redacted>$/m);
  } finally {
    pty.close();
  }
});

test('pty: /auth LOGIN sends the user name once and the password once', { skip }, async () => {
  const { pty, readHistory } = session();
  const start = server.lines.length;
  try {
    await pty.waitFor(PROMPT, 'the prompt');
    await pty.type('EHLO client.test');
    await pty.key('Enter');
    await pty.waitFor(/# The server accepted EHLO/, 'EHLO explained');
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
    await pty.waitFor(PROMPT, 'the prompt');
    await pty.type('EHLO client.test');
    await pty.key('Enter');
    await pty.waitFor(/# The server accepted EHLO/, 'EHLO explained');
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
    await pty.waitFor(PROMPT, 'the prompt');
    await pty.type('EHLO client.test');
    await pty.key('Enter');
    await pty.waitFor(/# The server accepted EHLO/, 'EHLO explained');
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
    assert.deepEqual(received.slice(0, 4), ['EHLO client.test', 'MAIL FROM:<ann@client.test>', 'RCPT TO:<bob@example.test>', 'DATA']);
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

test('pty: /quit after a 5xx reply exits 0 (exit 1 on failures is for scripts)', { skip }, async () => {
  const { pty } = session();
  try {
    await pty.waitFor(PROMPT, 'the prompt');
    await pty.type('EHLO client.test');
    await pty.key('Enter');
    await pty.waitFor(/# The server accepted EHLO/, 'EHLO explained');
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
  const down = new Pty(`env -u SMTPKIT_PASSWORD NO_COLOR=1 ${process.execPath} ${BIN} auth 127.0.0.1:${port} --user alice --allow-plaintext`);
  try {
    await down.waitFor(/^EXIT=4$/m, 'exit 4 (connect)');
    assert.doesNotMatch(down.screen(), /password for/);
  } finally {
    down.close();
  }
  const noAuth = await loggingServer({ answer: (l) => (/^EHLO/i.test(l) ? '250-plain.test\r\n250 8BITMIME\r\n' : undefined) });
  const refused = new Pty(`env -u SMTPKIT_PASSWORD NO_COLOR=1 ${process.execPath} ${BIN} send 127.0.0.1:${noAuth.port} --from a@client.test --to b@example.test --user alice --allow-plaintext --starttls never`);
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
    await pty.waitFor(PROMPT, 'the prompt');
    await pty.type('EHLO client.test');
    await pty.key('Enter');
    await pty.waitFor(/# The server accepted EHLO/, 'EHLO explained');
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

test('pty: a password typed ahead of its prompt goes to the prompt; a pasted one is discarded, never sent', { skip }, async () => {
  const { pty, readHistory } = session();
  const start = server.lines.length;
  try {
    await pty.waitFor(PROMPT, 'the prompt');
    await pty.type('EHLO client.test');
    await pty.key('Enter');
    await pty.waitFor(/# The server accepted EHLO/, 'EHLO explained');
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
    assert.deepEqual(server.lines.slice(start), ['EHLO client.test', `AUTH PLAIN ${b64(`\0alice\0${SECRET}`)}`, `AUTH PLAIN ${b64(`\0erin\0${SECRET}`)}`, 'QUIT']);
    assertNoLeak('the history', readHistory(), SECRET);
    // A paste is echoed as it arrives (it came to the main prompt); what was typed at a
    // prompt, typed ahead or not, never shows.
    assert.equal(pty.screen().split(SECRET).length - 1, 1, 'only the pasted copy is on screen');
  } finally {
    pty.close();
  }
});

test('pty: Ctrl-T at the password prompt does not reveal the password', { skip }, async () => {
  const { pty } = session();
  try {
    await pty.waitFor(PROMPT, 'the prompt');
    await pty.type('EHLO client.test');
    await pty.key('Enter');
    await pty.waitFor(/# The server accepted EHLO/, 'EHLO explained');
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
