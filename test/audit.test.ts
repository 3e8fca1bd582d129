import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { lineServer, rawServer, type RawServer } from './helpers/raw-server.js';

/** probe --relay-test (many address forms) and --enum-test, against servers that say yes to anything, to some, and Postfix. */
interface Attempt {
  form: string;
  commands: string[];
  reply: string;
  accepted: boolean;
}
interface CheckJson {
  name: string;
  status: string;
  message: string;
  attempts?: Attempt[];
}

let permissive: RawServer; // 250 to everything, whatever the syntax
let percentOnly: RawServer; // refuses outside domains, but falls for the %-hack
let quiet: RawServer; // VRFY 252 for all, RCPT 250 for all: tells nobody apart

const smtp = (accept: (line: string) => boolean) => (line: string) => {
  if (/^QUIT/i.test(line)) return null;
  if (/^EHLO/i.test(line)) return '250-fake.test\r\n250 PIPELINING\r\n';
  if (/^VRFY/i.test(line)) return '252 2.0.0 Cannot VRFY user, but will accept message\r\n';
  if (/^EXPN/i.test(line)) return '502 5.5.1 EXPN not available\r\n';
  if (/^RCPT/i.test(line)) return accept(line) ? '250 2.1.5 Ok\r\n' : '554 5.7.1 Relay access denied\r\n';
  return '250 2.0.0 Ok\r\n';
};

before(async () => {
  permissive = await rawServer((s) => {
    s.write('220 fake.test ESMTP\r\n');
    lineServer(
      s,
      smtp(() => true),
    );
  });
  percentOnly = await rawServer((s) => {
    s.write('220 fake.test ESMTP\r\n');
    lineServer(
      s,
      smtp((l) => /%/.test(l) || /@example\.test>$/.test(l)),
    );
  });
  quiet = await rawServer((s) => {
    s.write('220 fake.test ESMTP\r\n');
    lineServer(
      s,
      smtp(() => true),
    );
  });
});

after(async () => {
  await permissive.close();
  await percentOnly.close();
  await quiet.close();
});

const check = (doc: { results: { checks: CheckJson[] }[] }, name: string) =>
  doc.results[0]!.checks.find((c) => c.name === name)!;

test('--relay-test against a server that accepts anything: every form fails the check (exit 1), each attempt in JSON, RSET after RCPT, nothing sent', async () => {
  const r = await runCli(['probe', `127.0.0.1:${permissive.port}`, '--relay-test', '--format', 'json']);
  assert.equal(r.code, 1, r.stderr);
  const relay = check(JSON.parse(r.stdout), 'open-relay');
  assert.equal(relay.status, 'fail');
  const forms = relay.attempts!.map((a) => a.form);
  assert.ok(forms.length >= 10, forms.join(' '));
  for (const f of [
    'outside-to-outside',
    'percent-hack',
    'bang-path',
    'source-route',
    'quoted-at',
    'ip-literal',
    'null-sender',
    'postmaster-sender',
    'local-sender',
  ])
    assert.ok(forms.includes(f), f);
  assert.ok(relay.attempts!.every((a) => a.accepted && a.commands.length === 2 && a.reply.startsWith('250')));
  const route = relay.attempts!.find((a) => a.form === 'source-route')!;
  assert.deepEqual(route.commands, [
    'MAIL FROM:<relay-probe@smtpkit.invalid>',
    'RCPT TO:<@fake.test:victim@relay-test.smtpkit.invalid>',
  ]);
  assert.equal(relay.attempts!.find((a) => a.form === 'null-sender')!.commands[0], 'MAIL FROM:<>');
  assert.match(
    relay.message,
    /^OPEN RELAY: .*percent-hack \(RCPT TO:<victim%relay-test\.smtpkit\.invalid@fake\.test>: 250 Ok\)/,
  );
  // What the server received: every RCPT followed by RSET, never DATA or BDAT.
  const wire = permissive.received.join('');
  assert.doesNotMatch(wire, /^(DATA|BDAT)/im);
  const lines = wire.split('\r\n');
  lines.forEach((l, i) => {
    if (/^RCPT/i.test(l) && !/^RCPT/.test(lines[i + 1] ?? '')) assert.match(lines[i + 1] ?? '', /^RSET$/, `after ${l}`);
  });
});

test('--relay-test names only the form that got through (the %-hack here)', async () => {
  const r = await runCli(['probe', `127.0.0.1:${percentOnly.port}`, '--relay-test']);
  assert.equal(r.code, 1);
  assert.match(
    r.stdout,
    /^ {2}✖ open-relay +OPEN RELAY: the server accepted a recipient in an outside domain without AUTH: percent-hack \(RCPT TO:<victim%relay-test\.smtpkit\.invalid@fake\.test>: 250 Ok\); percent-hack-ip-literal /m,
  );
  assert.doesNotMatch(r.stdout, /outside-to-outside \(/);
});

test('--enum-test: a server that answers everyone alike discloses nothing (pass), and sends nothing', async () => {
  const r = await runCli([
    'probe',
    `127.0.0.1:${quiet.port}`,
    '--enum-test',
    '--rcpt',
    'someone@example.test',
    '--format',
    'json',
  ]);
  assert.equal(r.code, 0, r.stdout);
  const doc = JSON.parse(r.stdout);
  assert.equal(check(doc, 'vrfy').status, 'pass');
  assert.equal(check(doc, 'expn').status, 'pass');
  assert.equal(check(doc, 'rcpt-enumeration').status, 'pass');
  assert.deepEqual(
    check(doc, 'vrfy').attempts!.map((a) => a.commands[0]!.replace(/[0-9a-f]{12}/, 'X')),
    ['VRFY someone@example.test', 'VRFY smtpkit-nobody-X@example.test'],
  );
  assert.doesNotMatch(quiet.received.join(''), /^(DATA|BDAT)/im);
});

test('--rcpt with CR/LF is refused before connecting (exit 2)', async () => {
  const r = await runCli(['probe', `127.0.0.1:${quiet.port}`, '--enum-test', '--rcpt', 'a@example.test\r\nDATA']);
  assert.equal(r.code, 2);
});

const ENV_FILE = process.env.SMTPKIT_INTEROP_ENV ?? '/tmp/smtpkit-interop/env.json';
const env: { smtp: number; ca: string; user: string } | undefined = existsSync(ENV_FILE)
  ? JSON.parse(readFileSync(ENV_FILE, 'utf8'))
  : undefined;
const skip = env ? false : `no Postfix is up (${ENV_FILE} is missing)`;

test(
  'Postfix refuses relaying in every form (pass), and VRFY and RCPT tell its users apart (warn)',
  { skip },
  async () => {
    const r = await runCli([
      'probe',
      `127.0.0.1:${env!.smtp}`,
      '--ca-file',
      env!.ca,
      '--relay-test',
      '--enum-test',
      '--rcpt',
      env!.user,
      '--format',
      'json',
    ]);
    const doc = JSON.parse(r.stdout);
    const relay = check(doc, 'open-relay');
    assert.equal(relay.status, 'pass', relay.message);
    assert.ok(relay.attempts!.length >= 10);
    assert.ok(
      relay.attempts!.every((a) => !a.accepted && /^5\d\d /.test(a.reply)),
      JSON.stringify(relay.attempts),
    );
    assert.match(relay.message, /Relay access denied \(16 of 16 address forms refused\)/);
    const vrfy = check(doc, 'vrfy');
    assert.equal(vrfy.status, 'warn');
    assert.match(vrfy.message, /VRFY real: 252 .*; random: 550 .*User unknown/);
    assert.equal(check(doc, 'expn').status, 'pass');
    const rcpt = check(doc, 'rcpt-enumeration');
    assert.equal(rcpt.status, 'warn');
    assert.match(rcpt.message, /RCPT TO real: 250 .*; random: 550 /);
    assert.equal(r.code, 0, 'warnings alone keep exit 0');
  },
);
