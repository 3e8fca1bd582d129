import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LOCALHOST_CERT } from '../src/sink/localhost-cert.js';
import { runCli } from './helpers/cli.js';
import { hostileServer } from './helpers/hostile-server.js';
import { BIN, readFixture, TLS } from './helpers/paths.js';
import { hasTmux, onTerminal, Pty } from './helpers/pty.js';
import { sinkProcess, type SinkProcess } from './helpers/sink-process.js';

/*
 * A transcript that reads true, as a person sees it: at a terminal (tmux) where wrapping
 * matters, piped otherwise. Wrapped lines keep the arrow of their direction and whole bytes
 * of a fingerprint; what was explained (a failure, EHLO lines, a certificate chain) is
 * referred to, not printed again; `smtpkit demo` fits on a screen; a message line typed in
 * the REPL shows once.
 */
const skip = hasTmux ? false : 'tmux is not installed';

let server: { port: number; close(): Promise<void> };
let sink: SinkProcess;
let dir: string;
before(async () => {
  server = await hostileServer(true);
  sink = await sinkProcess(['--tls', '--auth', 'demo:demo-password']);
  dir = mkdtempSync(join(tmpdir(), 'smtpkit-transcript-'));
  writeFileSync(join(dir, 'localhost.pem'), LOCALHOST_CERT);
});
after(async () => {
  await server.close();
  await sink.stop();
  rmSync(dir, { recursive: true, force: true });
});

const smtpkit = (args: string) => `env NO_COLOR=1 SMTPKIT_PASSWORD=golden-secret ${process.execPath} ${BIN} ${args}`;
const toHostile = (command: string) =>
  `${command} 127.0.0.1:${server.port} --ehlo client.test --sni mail.test --ca-file ${TLS.ca} --tls-max 1.2`;
const count = (text: string, what: string) => text.split(what).length - 1;

test(
  'pty: a --brief reply too long to sit beside its command wraps under its own arrow, never under the arrow of a sent line',
  { skip },
  async () => {
    const args = `${toHostile('send')} --user golden --mech PLAIN --from ann@client.test --to bob@example.test --body hi --brief`;
    const screen = await onTerminal(smtpkit(args), 60, 'smtpkit send --brief');
    const lines = screen.trimEnd().split('\n');
    // Words only the server says: its EHLO summary, the AUTH reply, the queue id.
    for (const word of ['STARTTLS)', 'successful', 'EVIL1']) {
      assert.ok(
        lines.some((l) => /^<[-~*]/.test(l) && l.includes(word)),
        `"${word}" on a reply's line:\n${screen}`,
      );
      for (const l of lines.filter((l) => /^ [-~]>/.test(l)))
        assert.ok(!l.includes(word), `the server's "${word}" under the arrow of a sent line: ${l}\n${screen}`);
    }
    assert.ok(
      lines.every((l) => l.length <= 60),
      screen,
    );
  },
);

test(
  'pty: a certificate fingerprint longer than the line is cut only between bytes, after a colon',
  { skip },
  async () => {
    const piped = await runCli(toHostile('starttls').split(' '));
    assert.equal(piped.code, 0, piped.stderr);
    const fingerprints = [...piped.stdout.matchAll(/SHA-256 ([0-9A-F]{2}(?::[0-9A-F]{2})+)/g)].map((m) => m[1]!);
    assert.equal(fingerprints.length, 2, piped.stdout);
    for (const width of [60, 80]) {
      const screen = await onTerminal(smtpkit(toHostile('starttls')), width, 'smtpkit starttls');
      // The screen's text without markers: a line may end only after one of the fingerprint's colons.
      const flat = screen
        .split('\n')
        .map((l) => l.replace(/^=== +/, ''))
        .join('\n');
      for (const fp of fingerprints)
        assert.match(
          flat,
          new RegExp(fp.split(':').join(':\n?')),
          `${fp} cut inside a byte at ${width} columns:\n${screen}`,
        );
    }
  },
);

test('the same explanation is not repeated: a probe with its relay test explains the 530 once and shows the certificate chain once', async () => {
  const r = await runCli([
    'probe',
    `localhost:${sink.port}`,
    '-4',
    '--ca-file',
    join(dir, 'localhost.pem'),
    '--transcript',
    '--relay-test',
  ]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const out = r.stdout;
  assert.equal(count(out, '530 5.7.0 Authentication required\n'), 16, out);
  // Explained in full once, with what to try; each repeat points to it.
  assert.equal(count(out, '# The server wants STARTTLS or AUTH before accepting a sender.'), 1, out);
  assert.equal(count(out, '# 5.7.0 Other or undefined security status'), 1, out);
  assert.equal(count(out, '# try: '), 1, out);
  assert.equal(count(out, '    # explained above\n'), 15, out);
  // Five connections, five handshakes: the chain in full once, then one line each.
  assert.equal(count(out, '=== TLS TLSv'), 5, out);
  assert.equal(count(out, 'Certificate 0:'), 1, out);
  assert.equal(count(out, 'SHA-256 '), 1, out);
  assert.match(
    out,
    /^=== Certificate chain shown above \(CN=localhost[^\n]*\); trusted yes; name localhost matches yes$/m,
  );
  assert.equal(count(out, '=== Certificate chain shown above'), 4, out);
  // EHLO lines are explained beside them on the first connection only.
  assert.equal(count(out, 'commands may be sent in batches'), 1, out);
  assert.equal(count(out, 'login is possible with PLAIN'), 1, out);
  assert.match(out, /^<-  250-sink\.localhost +# extensions explained above$/m);
});

test('a batch of probe targets is one run: the second target’s transcript refers to what the first one explained', async () => {
  const ca = join(dir, 'localhost.pem');
  const r = await runCli([
    'probe',
    `localhost:${sink.port}`,
    `127.0.0.1:${sink.port}`,
    '--ca-file',
    ca,
    '--transcript',
  ]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const [first = '', second = ''] = r.stdout.split(/^=== OK.*\n/m);
  assert.match(first, /^=== Certificate 0: /m);
  assert.match(first, /commands may be sent in batches/);
  assert.match(second, /^=== Certificate chain shown above \(CN=localhost/m);
  assert.match(second, /^<- {2}250-sink\.localhost +# extensions explained above$/m);
  assert.doesNotMatch(second, /commands may be sent in batches|Certificate 0:/);
});

test('explain - with two recipients refused alike explains the refusal once and refers the second to it', async () => {
  const bounce = readFixture('bounce-postfix.eml');
  const bob = bounce.slice(
    bounce.indexOf('Final-Recipient: rfc822; bob@'),
    bounce.indexOf('Final-Recipient: rfc822; carol@'),
  );
  const r = await runCli(['explain', '-'], { input: bounce.replace(bob, `${bob}${bob.replace(/bob@/g, 'dan@')}`) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(count(r.stdout, '5.1.1 Bad destination mailbox address'), 1, r.stdout);
  assert.equal(count(r.stdout, 'try: the recipient is unknown'), 1, r.stdout);
  assert.match(r.stdout, /^ {4}recipient dan@gmail\.example, [^\n]*\n {4}\(explained above\)$/m);
  // A different refusal is explained in full.
  assert.match(r.stdout, /^ {4}recipient carol@outlook\.example, [^\n]*\n {4}550: /m);
});

test(
  'pty: smtpkit demo fits in 80 lines at 120 columns, the send explained; --verbose shows the probe’s transcript too',
  { skip },
  async () => {
    const screen = (await onTerminal(smtpkit('demo'), 120, 'smtpkit demo')).trimEnd();
    const lines = screen.split('\n');
    assert.ok(lines.length <= 80, `${lines.length} lines at 120 columns:\n${screen}`);
    assert.ok(lines.every((l) => l.length <= 120));
    // The probe's table and the send's whole explained transcript are there.
    assert.match(screen, /^ {2}✔ open-relay +relaying refused/m);
    assert.match(screen, /^<~ {2}235 2\.7\.0 Authentication successful\n {4}# Authentication succeeded/m);
    assert.match(screen, /^=== Certificate 0: CN=localhost/m);
    assert.match(screen, /^### The sink took 1 message\(s\)\. More: `smtpkit demo --verbose`\./m);
    assert.doesNotMatch(screen, /relay-probe/);

    const verbose = await runCli(['demo', '--verbose'], { limitMs: 30_000 });
    assert.equal(verbose.code, 0, verbose.stderr);
    // Every connection of the probe (its relay test's too), then the send's.
    assert.match(verbose.stdout, /^ ~> MAIL FROM:<relay-probe@smtpkit\.invalid>\n<~\* 530 /m);
    assert.ok(count(verbose.stdout, '=== Connecting to ') > 2, verbose.stdout);
    assert.match(verbose.stdout, /^ {2}✔ open-relay/m);
    assert.match(verbose.stdout, /^<~ {2}235 2\.7\.0 Authentication successful$/m);
  },
);

test(
  'pty: a message line typed in the REPL after DATA shows once, as sent, whatever its length',
  { skip },
  async () => {
    const width = 60;
    const pty = new Pty(
      `env NO_COLOR=1 SMTPKIT_HISTORY=/dev/null ${process.execPath} ${BIN} repl 127.0.0.1:${server.port} --no-history; echo EXIT=$?`,
      { width },
    );
    const prompt = `127.0.0.1:${server.port} DATA> `;
    // One line shorter than the row, one that fills it exactly, one that wraps.
    const exact = `X-Exact: ${'e'.repeat(width - prompt.length - 'X-Exact: '.length)}`;
    const message = ['Subject: shown once', exact, `X-Long: ${'word '.repeat(16).trim()}`, '', 'body line'];
    try {
      await pty.waitFor(/^127\.0\.0\.1:\d+>\s*$/m, 'the prompt');
      for (const line of ['EHLO client.test', 'MAIL FROM:<ann@client.test>', 'RCPT TO:<bob@example.test>', 'DATA']) {
        await pty.type(line);
        await pty.key('Enter');
        await pty.waitFor(new RegExp(`^<- {2}${line === 'DATA' ? '354' : '250'} `, 'm'), `the reply to ${line}`);
      }
      for (const line of message) {
        await pty.type(line);
        await pty.key('Enter');
        await pty.waitFor(new RegExp(`^ -> ${line.slice(0, 20)}`, 'm'), `"${line}" sent`);
      }
      await pty.type('.');
      await pty.key('Enter');
      await pty.waitFor(/^<- {2}250 2\.0\.0 queued/m, 'the message accepted');
      await pty.waitFor(/^127\.0\.0\.1:\d+>\s*$/m, 'the prompt again');
      const screen = pty.screen();
      const joined = screen.replace(/\n -> {3}/g, ' ');
      for (const line of message.filter(Boolean))
        assert.equal(count(joined, line), 1, `"${line}" shown once:\n${screen}`);
      assert.equal(screen.match(/^ ->\s*$/gm)?.length, 1, `the empty line sent once:\n${screen}`);
      assert.doesNotMatch(screen, /DATA> \S/, `no typed message line left beside its prompt:\n${screen}`);
      // What was on screen before the message is untouched.
      assert.match(screen, /^ -> DATA\n<- {2}354 Ok\n {4}# The server is ready for the message/m);
      assert.match(screen, /^ -> \.\n<- {2}250 2\.0\.0 queued/m);
    } finally {
      pty.close();
    }
  },
);
