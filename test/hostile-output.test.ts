import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { runCli, type CliResult } from './helpers/cli.js';
import { dnsServer, type DnsServer } from './helpers/dns-server.js';
import { BIDI, CLEAR, CLIPBOARD, HOSTILE, hostileServer, TITLE } from './helpers/hostile-server.js';
import { TLS } from './helpers/paths.js';
import { sinkProcess } from './helpers/sink-process.js';
import { checkXml } from './helpers/xml-check.js';

/*
 * Hostile output: servers, DNS answers and sink clients that put escape sequences, C1
 * controls and bidi overrides in every field, against every command and format. Whatever
 * reaches stdout or stderr must hold no raw control character; our own colours (with
 * FORCE_COLOR) are the only escape sequences allowed, and only SGR ones.
 */
// C0 except TAB and LF, DEL, C1, and the bidi embeddings, overrides, isolates and marks.
// eslint-disable-next-line no-control-regex
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/g;
// What the hostile text looks like once shown safely: proof it did reach the output.
const ESCAPED = /\\x1b\]0;pwned\\x07|\\x1b\[2J|\\u202e|\\u009b|\\x9b/;

function assertClean(label: string, text: string, colour = false) {
  const shown = colour ? text.replace(SGR, '') : text;
  const m = RAW.exec(shown);
  if (m) {
    const at = m.index;
    assert.fail(
      `${label}: raw U+${m[0].charCodeAt(0).toString(16).padStart(4, '0')} reached the output near ${JSON.stringify(shown.slice(Math.max(0, at - 40), at + 20))}`,
    );
  }
}

function assertShown(label: string, r: CliResult) {
  assertClean(`${label} (stdout)`, r.stdout);
  assertClean(`${label} (stderr)`, r.stderr);
  assert.match(r.stdout + r.stderr, ESCAPED, `${label}: the hostile text should be visible, escaped`);
}

let server: { port: number; close(): Promise<void> };
let dns: DnsServer;
const MX = `mx${TITLE}x.hostile.test`;
before(async () => {
  server = await hostileServer();
  dns = await dnsServer({
    'hostile.test': [
      { type: 'MX', exchange: MX, priority: 10 },
      { type: 'TXT', data: `v=spf1 ${HOSTILE} -all` },
    ],
    [MX.toLowerCase()]: [{ type: 'A', address: '127.0.0.1' }],
    '_dmarc.hostile.test': [{ type: 'TXT', data: `v=DMARC1; p=none; rua=mailto:${HOSTILE}` }],
    '_mta-sts.hostile.test': [{ type: 'TXT', data: `v=STSv1; id=${HOSTILE}` }],
    '_smtp._tls.hostile.test': [{ type: 'TXT', data: `v=TLSRPTv1; rua=mailto:${CLIPBOARD}` }],
    '1.0.0.127.in-addr.arpa': [{ type: 'PTR', domain: `ptr${CLEAR}.hostile.test` }],
  });
});
after(() => Promise.all([server.close(), dns.close()]));

const at = () => `127.0.0.1:${server.port}`;
const dnsFlags = () => ['--resolver', `127.0.0.1:${dns.port}`, '--dns-timeout', '1s'];
const tlsFlags = () => ['--ca-file', TLS.ca];
const env = { SMTPKIT_PASSWORD: 'secret-token' };

test('hostile server: ehlo, starttls, auth --list, auth (LOGIN, XOAUTH2) show every field escaped', async () => {
  for (const args of [
    ['ehlo', at()],
    ['ehlo', at(), '-v'],
    ['ehlo', at(), '--brief'],
    ['starttls', at(), ...tlsFlags()],
    ['auth', at(), '--list', ...tlsFlags()],
    ['auth', at(), '--user', 'u', '--mech', 'LOGIN', ...tlsFlags()],
    ['auth', at(), '--user', 'u', '--mech', 'XOAUTH2', ...tlsFlags()],
  ]) {
    const r = await runCli(args, { env });
    assertShown(args.join(' '), r);
  }
  // The pieces the issue named: AUTH and LIMITS parameters, the TLS capability diff, the XOAUTH2 error.
  const list = await runCli(['auth', at(), '--list', ...tlsFlags()]);
  assert.match(list.stdout, /^=== AUTH before TLS: .*X\\x1b\]0;pwned\\x07MECH/im);
  const st = await runCli(['starttls', at(), ...tlsFlags()]);
  assert.match(st.stdout, /^<-  250-LIMITS RCPTMAX=5\\x1b\]52;c;cHduZWQ=\\x07 MAILMAX=\\u202egnp\.exe/m);
  assert.match(st.stdout, /^=== After TLS the server added XNEW\\x1b\]0;pwned\\x07/im);
  const x = await runCli(['auth', at(), '--user', 'u', '--mech', 'XOAUTH2', ...tlsFlags()], { env });
  assert.match(
    x.stdout,
    /XOAUTH2 error from the server: .*401\\u001b\[2J|XOAUTH2 error from the server: .*401\\x1b\[2J/,
  );
});

test('hostile server: send -v, --brief, --json; the repl in script mode', async () => {
  const send = [
    'send',
    at(),
    '--from',
    'a@client.test',
    '--to',
    'b@evil.test',
    '--user',
    'u',
    '--mech',
    'PLAIN',
    ...tlsFlags(),
  ];
  assertShown('send -v', await runCli([...send, '-v'], { env }));
  assertShown('send --brief', await runCli([...send, '--brief'], { env }));
  const noAuth = ['send', at(), '--from', 'a@client.test', '--to', 'b@evil.test', ...tlsFlags()];
  assertShown('send', await runCli(noAuth));
  assertShown('send -v (no auth)', await runCli([...noAuth, '-v']));
  const json = await runCli([...noAuth, '--json']);
  assertClean('send --json', json.stdout);
  const doc = JSON.parse(json.stdout);
  // Escaped for the terminal, yet the same strings for a program.
  assert.equal(doc.greeting.lines[0], `evil.test ESMTP ${HOSTILE}`);
  const repl = await runCli(['repl', at(), '--keep-going'], {
    input: `EHLO client.test\nMAIL FROM:<a@client.test>\nRCPT TO:<b@evil.test>\nVRFY x\n/caps\n/explain 550 5.7.1 ${CLEAR}\nQUIT\n`,
  });
  assertShown('repl (script)', repl);
});

test('hostile server: probe in every format, --strict too; JUnit stays well-formed XML', async () => {
  const probe = [
    'probe',
    at(),
    '--transcript',
    '--from',
    'a@client.test',
    '--rcpt',
    'b@evil.test',
    '--ptr',
    ...dnsFlags(),
    ...tlsFlags(),
  ];
  for (const format of ['text', 'json', 'junit', 'nagios']) {
    for (const strict of [[], ['--strict']]) {
      const r = await runCli([...probe, '--format', format, ...strict]);
      assertClean(`probe --format ${format} ${strict.join('')} (stdout)`, r.stdout);
      assertClean(`probe --format ${format} ${strict.join('')} (stderr)`, r.stderr);
      if (format === 'junit') checkXml(r.stdout);
      if (format === 'json') JSON.parse(r.stdout);
      if (format === 'text') assert.match(r.stdout, ESCAPED);
    }
  }
});

test('hostile DNS: mx-lookup --checks --ptr, send through the MX, ehlo and starttls --mx', async () => {
  const mx = await runCli(['mx-lookup', 'hostile.test', '--checks', '--ptr', ...dnsFlags()]);
  assertShown('mx-lookup --checks', mx);
  const mxJson = await runCli(['mx-lookup', 'hostile.test', '--checks', '--ptr', '--json', ...dnsFlags()]);
  assertClean('mx-lookup --json', mxJson.stdout);
  JSON.parse(mxJson.stdout);
  const port = ['--port', String(server.port), '--timeout', '3s'];
  for (const args of [
    ['send', '--from', 'a@client.test', '--to', 'b@hostile.test', ...dnsFlags(), ...port, ...tlsFlags()],
    ['ehlo', '--mx', 'hostile.test', ...dnsFlags(), ...port],
    ['starttls', '--mx', 'hostile.test', ...dnsFlags(), ...port, ...tlsFlags()],
  ]) {
    const r = await runCli(args);
    assertShown(args.slice(0, 2).join(' '), r);
  }
});

test('hostile colours: with FORCE_COLOR the only escape sequences are our own SGR ones', async () => {
  for (const args of [
    ['starttls', at(), ...tlsFlags()],
    ['send', at(), '--from', 'a@client.test', '--to', 'b@evil.test', '-v', ...tlsFlags()],
    ['mx-lookup', 'hostile.test', '--checks', ...dnsFlags()],
    ['probe', at(), '--transcript', ...tlsFlags()],
  ]) {
    const r = await runCli(args, { env: { NO_COLOR: '', FORCE_COLOR: '1' } });
    assert.match(r.stdout, SGR, `${args[0]}: colours are on`);
    assertClean(`${args[0]} in colour (stdout)`, r.stdout, true);
    assertClean(`${args[0]} in colour (stderr)`, r.stderr, true);
  }
});

/** Writes a whole client script to the sink in one go, and hangs up a moment later. */
function talkTo(port: number, script: string): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  return new Promise<void>((resolve) => {
    socket.on('data', () => {});
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
    socket.write(script);
    setTimeout(() => socket.end(), 1500);
  });
}

test('hostile sink client: the sink’s session log and message lines are escaped', async () => {
  const sink = await sinkProcess([]);
  try {
    await talkTo(
      sink.port,
      [
        `EHLO evil${TITLE}.test`,
        `MAIL FROM:<a${CLEAR}@evil.test>`,
        `RCPT TO:<b${BIDI}@sink.test>`,
        'DATA',
        `Subject: ${HOSTILE}`,
        `From: ${CLIPBOARD}`,
        '',
        `body ${HOSTILE}`,
        '.',
        `NOOP ${HOSTILE}`,
        'QUIT',
        '',
      ].join('\r\n'),
    );
  } finally {
    await sink.stop();
  }
  assertClean('sink stdout', sink.stdout());
  assertClean('sink stderr', sink.stderr());
  assert.match(sink.stdout(), ESCAPED);
});

test('the sink’s message line shows a hostile Subject escaped exactly once, its quotes unbreakable', async () => {
  const sink = await sinkProcess([]);
  try {
    await talkTo(
      sink.port,
      [
        'EHLO a.test',
        'MAIL FROM:<a@a.test>',
        'RCPT TO:<b@sink.test>',
        'DATA',
        'Subject: A\x1b[2JB\u009bC"D\\E',
        '',
        'body',
        '.',
        'QUIT',
        '',
      ].join('\r\n'),
    );
  } finally {
    await sink.stop();
  }
  assertClean('sink stdout', sink.stdout());
  // ESC and the C1 CSI once as \x1b and \x9b (not \\x1b); a quote and a backslash as in JSON.
  const line = /^=== #\d+ message \w+: .*$/m.exec(sink.stdout())?.[0] ?? '';
  assert.ok(line.endsWith(', subject "A\\x1b[2JB\\x9bC\\"D\\\\E"'), line);
});
