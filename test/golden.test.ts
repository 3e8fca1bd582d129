import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { hostileServer } from './helpers/hostile-server.js';
import { BIN, fixture, TLS } from './helpers/paths.js';
import { hasTmux, onTerminal } from './helpers/pty.js';

/*
 * Golden transcripts, read off a real terminal (tmux) 60 and 120 columns wide: the wording
 * and the layout people see. UPDATE_GOLDEN=1 rewrites the files; review the diff. TLS is
 * capped at 1.2 so the key exchange (and so where lines wrap) is the same on every OpenSSL.
 */
let server: { port: number; close(): Promise<void> };
before(async () => {
  server = await hostileServer(true);
});
after(() => server.close());

const skip = hasTmux ? false : 'tmux is not installed';
const common = () => [
  `127.0.0.1:${server.port}`,
  '--ehlo',
  'client.test',
  '--sni',
  'mail.test',
  '--ca-file',
  TLS.ca,
  '--tls-max',
  '1.2',
];
const COMMANDS: Record<string, () => string[]> = {
  ehlo: () => ['ehlo', ...common()],
  starttls: () => ['starttls', ...common()],
  send: () => [
    'send',
    ...common(),
    '--user',
    'golden',
    '--mech',
    'PLAIN',
    '--from',
    'ann@client.test',
    '--to',
    'bob@example.test',
    '--subject',
    'Golden',
    '--body',
    'hi',
  ],
  'send-brief': () => [
    'send',
    ...common(),
    '--user',
    'golden',
    '--mech',
    'PLAIN',
    '--from',
    'ann@client.test',
    '--to',
    'bob@example.test',
    '--subject',
    'Golden',
    '--body',
    'hi',
    '--brief',
  ],
};

/** What changes from run to run: ports, times, dates, ids. */
function normalise(screen: string): string {
  return (
    screen
      // Timings differ in length from run to run, so where their line wraps does too: one line here.
      .replace(/^(=== Timings:.*)((?:\n===   .*)*)/m, (_m, first: string, rest: string) =>
        [first, ...rest.split('\n===   ').filter(Boolean)].join(' '),
      )
      .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT')
      .replace(/port \d+/g, 'port N')
      .replace(/\d+(\.\d+)? ms\b/g, 'N ms')
      .replace(/\d+ days left/g, 'N days left')
      .replace(/\d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d/g, 'DATE to DATE')
      .replace(/Date: .*/g, 'Date: DATE')
      // The Date header is a byte shorter on days 1-9, so the message's size moves with the calendar.
      .replace(/SIZE=\d+/g, 'SIZE=N')
      .replace(/\[message: \d+ bytes/g, '[message: N bytes')
      .replace(/Message-ID: <[^>\s]*>?/g, 'Message-ID: <ID>')
      .replace(/\b\d{5}\b/g, 'N')
      .replace(/\s+$/, '\n')
  );
}

const smtpkitOnTerminal = (args: string[], width: number) =>
  onTerminal(
    `env NO_COLOR=1 SMTPKIT_PASSWORD=golden-secret ${process.execPath} ${BIN} ${args.join(' ')}`,
    width,
    `smtpkit ${args[0]}`,
  );

const MARKER = /^( ->| ~>|<- |<~ |<\*\*|<~\*|===|!!!|\*\*\*| +#)/;

for (const [name, args] of Object.entries(COMMANDS)) {
  test(`golden: ${name} at 60 and 120 columns`, { skip }, async () => {
    // Off a terminal nothing is wrapped: the words every wrapped line must keep whole.
    const piped = await runCli(args(), { env: { SMTPKIT_PASSWORD: 'golden-secret' } });
    assert.equal(piped.code, 0, piped.stderr);
    const digits = (w: string) => w.replace(/\d+(\.\d+)?/g, 'N');
    const words = new Set(normalise(piped.stdout).split(/\s+/).map(digits));
    for (const width of [60, 120]) {
      const screen = await smtpkitOnTerminal(args(), width);
      const lines = screen.trimEnd().split('\n');
      for (const line of lines) {
        assert.ok(line.length <= width, `wider than ${width}: ${line}`);
        assert.match(line, MARKER, `a line without a marker at ${width} columns`);
        // A word too long for any line (a fingerprint) is the only thing that may be cut.
        for (const w of normalise(line).split(/\s+/))
          if (w && w.length < width - 20)
            assert.ok(
              words.has(digits(w)) || /^[#=]+$|^(->|~>|<-|<~|<\*\*|<~\*)$/.test(w),
              `"${w}" is a cut word (${width} columns): ${line}`,
            );
      }
      const file = fixture(`golden/${name}-${width}.txt`);
      const got = normalise(screen);
      if (process.env.UPDATE_GOLDEN || !existsSync(file)) writeFileSync(file, got);
      assert.equal(
        got,
        readFileSync(file, 'utf8'),
        `${name} at ${width} columns differs from ${file} (UPDATE_GOLDEN=1 rewrites it)`,
      );
    }
  });
}

test('help text wraps to the terminal: 60 columns', { skip }, async () => {
  const screen = await smtpkitOnTerminal(['send', '--help'], 60);
  for (const line of screen.trimEnd().split('\n')) assert.ok(line.length <= 60, `wider than 60: ${line}`);
  assert.match(screen, /--brief/);
});

test('the STARTTLS+AUTH+send transcript reads short: at most 70 lines, 25 with --brief', async () => {
  const full = await runCli(COMMANDS.send!(), { env: { SMTPKIT_PASSWORD: 'golden-secret' } });
  const brief = await runCli(COMMANDS['send-brief']!(), { env: { SMTPKIT_PASSWORD: 'golden-secret' } });
  assert.equal(full.code, 0, full.stderr);
  assert.ok(full.stdout.split('\n').length - 1 <= 70, `${full.stdout.split('\n').length - 1} lines`);
  assert.ok(brief.stdout.split('\n').length - 1 <= 25, `${brief.stdout.split('\n').length - 1} lines with --brief`);
  // Explained once: PIPELINING is in the two EHLO replies and explained beside the first only.
  const st = await runCli(COMMANDS.starttls!());
  assert.equal(st.stdout.match(/PIPELINING/g)?.length, 2);
  assert.equal(st.stdout.match(/commands may be sent in batches/g)?.length, 1);
});
