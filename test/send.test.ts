import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { capturePeer, PASSWORD, USER, type CapturePeer } from './helpers/capture-peer.js';
import { TLS } from './helpers/paths.js';
import { rawServer } from './helpers/raw-server.js';
import { tempDir } from './helpers/process-group.js';

let peer: CapturePeer;
let small: CapturePeer;
let ascii: CapturePeer;
const dir = tempDir('smtpkit-send-');
before(async () => {
  peer = await capturePeer();
  small = await capturePeer({ size: 1000 });
  ascii = await capturePeer({ hideSMTPUTF8: true, hide8BITMIME: true });
});
after(() => Promise.all([peer.close(), small.close(), ascii.close()]));

const at = (p: CapturePeer) => `127.0.0.1:${p.port}`;
const send = (p: CapturePeer, ...args: string[]) =>
  runCli(['send', at(p), '--ca-file', TLS.ca, '--from', 'ann@client.test', ...args]);

test('a message arrives exactly: headers, CRLF, dot-stuffing undone by the server', async () => {
  const before = peer.messages.length;
  const r = await send(
    peer,
    '--to',
    'bob@example.test',
    '--cc',
    'carl@example.test',
    '--bcc',
    'dora@example.test',
    '--subject',
    'Hello',
    '--header',
    'X-Run: 7',
    '--body',
    'line 1\n.starts with a dot\n..two dots\nend',
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /^=== message accepted by 127\.0\.0\.1:\d+ for 3 of 3 recipient\(s\), queue id TEST123: 250 OK: queued as TEST123$/m,
  );
  const m = peer.messages[before]!;
  assert.equal(m.from, 'ann@client.test');
  assert.deepEqual(m.to, ['bob@example.test', 'carl@example.test', 'dora@example.test']);
  const text = m.data.toString();
  assert.match(
    text,
    /^Date: .+\r\nFrom: ann@client\.test\r\nTo: bob@example\.test\r\nCc: carl@example\.test\r\nSubject: Hello\r\nMessage-ID: <.+@client\.test>\r\nMIME-Version: 1\.0\r\nX-Run: 7\r\n/,
  );
  assert.ok(!/^Bcc:/im.test(text), 'Bcc stays in the envelope');
  assert.ok(
    text.endsWith('\r\n\r\nline 1\r\n.starts with a dot\r\n..two dots\r\nend\r\n'),
    JSON.stringify(text.slice(-60)),
  );
});

test('pipelining: MAIL and every RCPT go in one batch when offered; --no-pipelining waits for each', async () => {
  const batched = await send(peer, '--to', 'a@example.test,b@example.test', '--json');
  const events = JSON.parse(batched.stdout).events.map(
    (e: { type: string; command?: string }) => `${e.type}:${e.command ?? ''}`,
  );
  const i = events.indexOf('sent:MAIL');
  assert.deepEqual(events.slice(i, i + 6), [
    'sent:MAIL',
    'sent:RCPT',
    'sent:RCPT',
    'reply:MAIL',
    'reply:RCPT',
    'reply:RCPT',
  ]);
  const lockstep = await send(peer, '--to', 'a@example.test,b@example.test', '--json', '--no-pipelining');
  const e2 = JSON.parse(lockstep.stdout).events.map(
    (e: { type: string; command?: string }) => `${e.type}:${e.command ?? ''}`,
  );
  const j = e2.indexOf('sent:MAIL');
  assert.deepEqual(e2.slice(j, j + 4), ['sent:MAIL', 'reply:MAIL', 'sent:RCPT', 'reply:RCPT']);
});

test('authenticated send after STARTTLS, with secrets redacted', async () => {
  const r = await runCli(
    ['send', at(peer), '--ca-file', TLS.ca, '--from', 'ann@client.test', '--to', 'bob@example.test', '--user', USER],
    { env: { SMTPKIT_PASSWORD: PASSWORD } },
  );
  assert.equal(r.code, 0, r.stdout);
  assert.equal(peer.messages.at(-1)?.user, USER);
  assert.ok(!r.stdout.includes(PASSWORD));
});

test('attachments and HTML: multipart/mixed that decodes back to the file', async () => {
  const file = join(dir, 'report.pdf');
  const content = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
  writeFileSync(file, content);
  const r = await send(peer, '--to', 'bob@example.test', '--html', '--body', '<p>Hi</p>', '--attach', file);
  assert.equal(r.code, 0, r.stderr);
  const text = peer.messages.at(-1)!.data.toString();
  const boundary = /Content-Type: multipart\/mixed; boundary="([^"]+)"/.exec(text)![1]!;
  const parts = text.split(`--${boundary}`);
  assert.match(
    parts[1]!,
    /Content-Type: text\/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n<p>Hi<\/p>\r\n/,
  );
  assert.match(
    parts[2]!,
    /Content-Type: application\/pdf\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="report\.pdf"/,
  );
  assert.deepEqual(Buffer.from(parts[2]!.split('\r\n\r\n')[1]!.replace(/\r\n/g, ''), 'base64'), content);
});

test('UTF-8: 8BITMIME and SMTPUTF8 used when offered; quoted-printable and a clear refusal when not', async () => {
  const r = await send(peer, '--to', 'jörg@example.test', '--subject', 'Grüße', '--body', 'Grüße aus Köln', '-v');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^ ~> MAIL FROM:<ann@client\.test> BODY=8BITMIME SMTPUTF8$/m);
  const m = peer.messages.at(-1)!;
  assert.deepEqual(m.to, ['jörg@example.test']);
  assert.match(m.data.toString(), /Subject: =\?UTF-8\?B\?R3LDvMOfZQ==\?=\r\n/);
  assert.match(m.data.toString(), /Content-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln\r\n$/);

  const qp = await send(ascii, '--to', 'bob@example.test', '--body', 'Grüße');
  assert.equal(qp.code, 0, qp.stderr);
  assert.match(
    ascii.messages.at(-1)!.data.toString(),
    /Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe\r\n$/,
  );
  const refused = await send(ascii, '--to', 'jörg@example.test');
  assert.equal(refused.code, 8);
  assert.match(refused.stderr, /non-ASCII characters but the server does not offer SMTPUTF8/);
  assert.doesNotMatch(refused.stdout, /MAIL FROM/);
});

test('over the SIZE limit: refused before MAIL, exit 8', async () => {
  const r = await send(small, '--to', 'bob@example.test', '--body', 'x'.repeat(2000));
  assert.equal(r.code, 8);
  assert.match(r.stderr, /the message is \d+ bytes but the server takes at most 1000 \(SIZE\); nothing was sent/);
  assert.doesNotMatch(r.stdout, /MAIL FROM/);
});

test('recipients: some refused is a warning (exit 0), --strict makes it exit 8, all refused is exit 8', async () => {
  const some = await send(peer, '--to', 'bob@example.test,reject-me@example.test', '--json');
  assert.equal(some.code, 0);
  const doc = JSON.parse(some.stdout);
  assert.deepEqual(
    doc.result.recipients.map((r: { address: string; accepted: boolean; code: number }) => [
      r.address,
      r.accepted,
      r.code,
    ]),
    [
      ['bob@example.test', true, 250],
      ['reject-me@example.test', false, 550],
    ],
  );
  assert.equal(doc.result.queueId, 'TEST123');
  assert.ok(
    doc.events.some(
      (e: { type: string; message?: string }) =>
        e.type === 'warning' && /1 of 2 recipients refused: reject-me@example\.test \(550/.test(e.message ?? ''),
    ),
  );
  const strict = await send(peer, '--to', 'bob@example.test,reject-me@example.test', '--strict');
  assert.equal(strict.code, 8);
  const none = await send(peer, '--to', 'reject-a@example.test', '--to', 'reject-b@example.test');
  assert.equal(none.code, 8);
  assert.match(none.stderr, /accepted none of the 2 recipient\(s\)/);
  assert.doesNotMatch(none.stdout, /-> DATA|~> DATA/);
});

test('sender refused and message refused after the dot: exit 8', async () => {
  const sender = await runCli(['send', at(peer), '--from', 'reject@client.test', '--to', 'bob@example.test']);
  assert.equal(sender.code, 8);
  assert.match(sender.stderr, /the server refused the sender: 550/);
  const content = await send(peer, '--to', 'bob@example.test', '--body', 'REJECT-THIS-MESSAGE');
  assert.equal(content.code, 8);
  assert.match(content.stdout, /^<~\* 554 Message content rejected$/m);
  assert.match(content.stdout, /# The message was refused \(often by a content or spam filter\)/);
});

test('--quit-after stops where asked and exits 0 without delivering', async () => {
  const count = peer.messages.length;
  for (const [step, last] of [
    ['connect', /<-  220 /],
    ['ehlo', /<-  250 STARTTLS/],
    ['tls', /^=== TLS /m],
    ['mail', /<~  250 Accepted/],
    ['rcpt', /<~  250 Accepted/],
    ['data', /<~  354 /],
  ] as const) {
    const r = await send(peer, '--to', 'bob@example.test', '--quit-after', step);
    assert.equal(r.code, 0, `${step}: ${r.stderr}`);
    assert.match(r.stdout, last, step);
    assert.match(r.stdout, new RegExp(`stopped after ${step} as asked`));
  }
  const mailOnly = await send(peer, '--to', 'bob@example.test', '--quit-after', 'mail');
  assert.doesNotMatch(mailOnly.stdout, /RCPT TO/);
  assert.equal(peer.messages.length, count, 'nothing was delivered');
});

test('--data sends a raw message as it is (bare LF fixed, dots stuffed); stdin works with -', async () => {
  const raw = 'From: x@client.test\nTo: bob@example.test\nSubject: raw\n\nbody\n.\nend\n';
  const file = join(dir, 'raw.eml');
  writeFileSync(file, raw);
  const r = await send(peer, '--to', 'bob@example.test', '--data', file);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(peer.messages.at(-1)!.data.toString(), raw.replace(/\n/g, '\r\n'));
  const piped = await runCli(
    ['send', at(peer), '--from', 'ann@client.test', '--to', 'bob@example.test', '--data', '-'],
    { input: raw },
  );
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(peer.messages.at(-1)!.data.toString(), raw.replace(/\n/g, '\r\n'));
});

test('--dry-run prints the message and contacts nobody; bad input is exit 2 before connecting', async () => {
  const r = await runCli([
    'send',
    '--dry-run',
    '--from',
    'ann@client.test',
    '--to',
    'Bob <bob@example.test>',
    '--subject',
    'Dry',
    '--body',
    'text',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^=== Message \(\d+ bytes\)$/m);
  assert.match(r.stdout, /^Date: .*\r\nFrom: ann@client\.test\r\nTo: Bob <bob@example\.test>\r\nSubject: Dry\r\n/);
  assert.ok(r.stdout.endsWith('\r\n\r\ntext\r\n'));
  const server = await rawServer((s) => s.write('220 x\r\n'));
  try {
    for (const args of [
      ['--to', 'bob@example.test\r\nRCPT TO:<evil@x>'],
      ['--to', 'bob@example.test', '--header', 'X-A: 1\r\nBcc: evil@x'],
      ['--to', 'bob@example.test', '--from', 'a@b>\nDATA'],
      ['--from', 'a@b.test'],
      ['--to', 'b@x.test', '--quit-after', 'never'],
      ['--to', 'b@x.test', '--attach', '/nonexistent.bin'],
    ]) {
      const bad = await runCli(['send', `127.0.0.1:${server.port}`, ...args]);
      assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
    }
    assert.equal(server.received.length, 0, 'no bad input reached the server');
  } finally {
    await server.close();
  }
});

test('DSN, BDAT and REQUIRETLS parameters go on the wire as RFC 3461/3030/8689 say', async () => {
  const lines: string[] = [];
  let bdatBytes = 0;
  const server = await rawServer((s) => {
    s.write('220 raw.test ESMTP\r\n');
    let expecting = 0;
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (;;) {
        if (expecting) {
          if (buf.length < expecting) return;
          bdatBytes += expecting;
          buf = buf.slice(expecting);
          expecting = 0;
          s.write('250 2.0.0 chunk ok\r\n');
          continue;
        }
        const i = buf.indexOf('\r\n');
        if (i < 0) return;
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        lines.push(line);
        const bdat = /^BDAT (\d+)/.exec(line);
        if (bdat) expecting = Number(bdat[1]);
        else if (line.startsWith('EHLO')) s.write('250-raw.test\r\n250-DSN\r\n250-CHUNKING\r\n250 SIZE 100000\r\n');
        else if (line.startsWith('QUIT')) s.write('221 bye\r\n');
        else s.write('250 ok\r\n');
        if (bdat && Number(bdat[1]) === 0) {
          expecting = 0;
          s.write('250 ok\r\n');
        }
      }
    });
  });
  try {
    const r = await runCli([
      'send',
      `127.0.0.1:${server.port}`,
      '--from',
      'a@client.test',
      '--to',
      'b+x@example.test',
      '--dsn-notify',
      'success,failure',
      '--dsn-ret',
      'hdrs',
      '--envid',
      'id=42',
      '--bdat',
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      lines.find((l) => l.startsWith('MAIL'))!,
      /^MAIL FROM:<a@client\.test> SIZE=\d+ RET=HDRS ENVID=id\+3D42$/,
    );
    assert.equal(
      lines.find((l) => l.startsWith('RCPT')),
      'RCPT TO:<b+x@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Bx@example.test',
    );
    assert.ok(lines.some((l) => /^BDAT \d+ LAST$/.test(l)));
    assert.ok(!lines.includes('DATA'));
    assert.ok(bdatBytes > 100);
    const tls = await runCli([
      'send',
      `127.0.0.1:${server.port}`,
      '--from',
      'a@client.test',
      '--to',
      'b@example.test',
      '--requiretls',
    ]);
    assert.equal(tls.code, 8);
    assert.match(tls.stderr, /REQUIRETLS needs a TLS session/);
  } finally {
    await server.close();
  }
});

test('--dry-run --data -: the message streams from standard input, and the size line says its size is unknown, not "undefined"', async () => {
  const r = await runCli(
    ['send', '--dry-run', '--from', 'ann@example.test', '--to', 'bob@example.test', '--data', '-'],
    { input: 'Subject: x\r\n\r\nhi\r\n' },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /undefined/);
  assert.match(r.stderr, /^=== Message \(size unknown: read from standard input\)$/m);
  assert.match(r.stdout, /^Subject: x\r\n\r\nhi\r\n/);
});
