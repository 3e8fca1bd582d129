import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ENHANCED_CODES } from '../src/explain/enhanced-codes.js';
import { CAUSE_SOURCES, causesFor } from '../src/explain/causes.js';
import { explainCode, explainEnhanced, explainReply } from '../src/explain/explain.js';
import { explainPasted } from '../src/explain/pasted.js';
import { COMMAND_CODES, GENERIC_CODES } from '../src/explain/reply-codes.js';
import { runCli } from './helpers/cli.js';
import { readFixture } from './helpers/paths.js';

const listed = (name: string) =>
  readFixture(name)
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));

test('every enumerated code of the IANA registry has a title and an explanation', () => {
  const codes = listed('iana-enhanced-codes.txt');
  assert.equal(codes.length, 81);
  for (const code of codes) {
    const key = code.slice(2);
    const entry = ENHANCED_CODES[key];
    assert.ok(entry && entry[0] && entry[1].length > 20, `no explanation for ${code}`);
    for (const cls of ['2', '4', '5']) assert.equal(explainEnhanced(`${cls}${code.slice(1)}`)?.title, entry[0]);
  }
  assert.equal(Object.keys(ENHANCED_CODES).length, codes.length, 'a code we explain is not in the registry');
});

test('every basic reply code of RFC 5321 and the extensions has its own explanation', () => {
  for (const code of listed('basic-reply-codes.txt'))
    assert.ok(GENERIC_CODES[Number(code)], `no explanation for ${code}`);
});

test('every command/reply pair the RFCs list is explained for that command', () => {
  for (const line of listed('command-replies.txt')) {
    const [command, code] = line.split('\t');
    assert.ok(COMMAND_CODES[`${command} ${code}`], `no explanation of ${code} as the answer to ${command}`);
  }
});

test('the same code means different things after different commands', () => {
  assert.notEqual(explainCode(250, 'RCPT'), explainCode(250, 'EHLO'));
  assert.match(explainCode(250, 'RCPT'), /recipient was accepted/);
  assert.match(explainCode(250, '.'), /message was accepted/);
  assert.match(explainCode(554, 'CONNECT'), /refuses this client/);
});

test('unknown codes are read by their first digit, unregistered enhanced codes by subject', () => {
  assert.match(explainCode(299), /Success/);
  assert.match(explainCode(599), /Permanent failure/);
  assert.match(
    explainEnhanced('4.7.99')?.text ?? '',
    /Not in the IANA registry; its subject is about security or policy/,
  );
  assert.match(explainEnhanced('5.7.1')?.text ?? '', /permanent failure/);
  assert.match(explainEnhanced('4.2.2')?.text ?? '', /temporary failure/);
});

test('530 5.7.0 before TLS hints at STARTTLS; after TLS at AUTH', () => {
  const reply = { code: 530, enhanced: '5.7.0', lines: ['5.7.0 Must issue a STARTTLS command first'] };
  assert.match(explainReply(reply, 'MAIL').hint ?? '', /wants TLS first.*STARTTLS/);
  const authReply = { code: 530, enhanced: '5.7.0', lines: ['5.7.0 Authentication required'] };
  assert.match(explainReply(authReply, 'MAIL', true).hint ?? '', /authenticate/);
});

test('smtpkit explain reads a code pair, a lone enhanced code and a pasted line', async () => {
  const pair = await runCli(['explain', '550', '5.7.1']);
  assert.equal(pair.code, 0);
  assert.match(pair.stdout, /550: Not done/);
  assert.match(pair.stdout, /5\.7\.1 Delivery not authorized, message refused/);
  const lone = await runCli(['explain', '5.7.26']);
  assert.match(lone.stdout, /Multiple authentication checks failed/);
  assert.match(lone.stdout, /try: check DKIM/);
  const pasted = await runCli([
    'explain',
    '--command',
    'RCPT',
    '450 4.2.0 <a@b>: Recipient address rejected: Greylisted',
  ]);
  assert.match(pasted.stdout, /450 \(to RCPT\): The recipient is temporarily unavailable/);
  assert.match(pasted.stdout, /try: greylisting/);
  const json = JSON.parse((await runCli(['explain', '--json', '535 5.7.8 Error: authentication failed'])).stdout);
  assert.equal(json.code, 535);
  assert.equal(json.explanation.enhanced.title, 'Authentication credentials invalid');
  const bad = await runCli(['explain', 'what', 'is', 'this']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /cannot read "what is this" as a reply/);
  assert.equal(bad.stdout, '');
});

test('explain reads a continuation line, a "#" or "Status:" prefix, and names the cause (exit 0)', async () => {
  const dmarc = await runCli([
    'explain',
    '--json',
    "550-5.7.1 [192.0.2.1] Unauthenticated email from example.test is not accepted due to domain's DMARC policy",
  ]);
  assert.equal(dmarc.code, 0, dmarc.stderr);
  const d = JSON.parse(dmarc.stdout);
  assert.equal(d.code, 550);
  assert.equal(d.enhanced, '5.7.1');
  assert.equal(d.causes[0].id, 'dmarc');
  const hashed = await runCli([
    'explain',
    '# 550 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org',
  ]);
  assert.equal(hashed.code, 0, hashed.stderr);
  assert.match(hashed.stdout, /cause: your sending IP is on a Spamhaus blocklist/);
  assert.match(hashed.stdout, /https:\/\/check\.spamhaus\.org\//);
  const status = JSON.parse((await runCli(['explain', '--json', 'Status: 5.2.2'])).stdout);
  assert.equal(status.enhanced, '5.2.2');
  assert.equal(status.causes[0].id, 'mailbox-full');
  const multi = JSON.parse(
    (
      await runCli([
        'explain',
        '--json',
        '550-5.1.1 The email account that you tried to reach does not exist.\n550 5.1.1 Please try double-checking - gsmtp',
      ])
    ).stdout,
  );
  assert.equal(multi.items.length, 1);
  assert.equal(multi.causes[0].id, 'user-unknown');
});

test('explain - reads a whole Postfix bounce: each DSN recipient with its status, remote MTA and cause', async () => {
  const r = await runCli(['explain', '-', '--json'], { input: readFixture('bounce-postfix.eml') });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(
    doc.items.map((i: { recipient: string; code: number; enhanced: string; remoteMta: string }) => [
      i.recipient,
      i.code,
      i.enhanced,
      i.remoteMta,
    ]),
    [
      ['bob@gmail.example', 550, '5.1.1', 'gmail-smtp-in.l.google.example'],
      ['carol@outlook.example', 550, '5.7.606', 'outlook.example'],
    ],
  );
  assert.equal(doc.items[1].causes[0].id, 'microsoft-banned-ip');
  assert.equal(doc.items[1].causes[0].delist, 'https://sender.office.com/');
  // No argument with standard input not a terminal reads it too (explain < bounce.eml).
  const text = await runCli(['explain'], { input: readFixture('bounce-postfix.eml') });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /recipient bob@gmail\.example, reported by gmail-smtp-in\.l\.google\.example/);
  assert.match(text.stdout, /cause: Microsoft \(Exchange Online\) has banned your sending IP/);
});

test('explain - reads reply lines of a bounce without a DSN part, with the command they answered', async () => {
  const r = await runCli(['explain', '-', '--json'], { input: readFixture('bounce-exim.txt') });
  assert.equal(r.code, 0, r.stderr);
  const items = JSON.parse(r.stdout).items;
  assert.deepEqual(
    items.map((i: { code: number; verb: string; recipient: string }) => [i.recipient, i.code, i.verb]),
    [
      ['dave@example.test', 554, 'RCPT'],
      ['erin@example.test', 451, '.'],
    ],
  );
  assert.equal(items[0].causes[0].id, 'barracuda');
  assert.equal(items[1].causes[0].id, 'greylisting');
  // A Postfix notification alone: "said:" replies wrapped over indented lines.
  const body = readFixture('bounce-postfix.eml').split('--B\nContent-Description: Delivery report')[0]!;
  const p = JSON.parse((await runCli(['explain', '-', '--json'], { input: body })).stdout);
  assert.deepEqual(
    p.items.map((i: { enhanced: string; verb: string }) => [i.enhanced, i.verb]),
    [
      ['5.1.1', 'RCPT'],
      ['5.7.606', 'RCPT'],
    ],
  );
  assert.match(p.items[1].input, /To request removal from this list/);
  const empty = await runCli(['explain', '-'], { input: 'hello\nnothing here\n' });
  assert.equal(empty.code, 2);
});

test('well-known causes: blocklists, Gmail and Microsoft codes, greylisting, quota, unknown users; every row cites a source', () => {
  const ids = (code: number | undefined, enhanced: string | null, text: string) =>
    causesFor(code, enhanced, text).map((c) => c.id);
  assert.deepEqual(ids(554, '5.7.1', 'rejected because 192.0.2.1 is listed by pbl.spamhaus.org'), ['spamhaus-pbl']);
  assert.deepEqual(ids(554, '5.7.1', 'Client host blocked using xbl.spamhaus.org'), ['spamhaus-xbl']);
  assert.deepEqual(ids(554, '5.7.1', 'listed in sbl.spamhaus.org'), ['spamhaus-sbl']);
  assert.deepEqual(ids(554, null, 'Blocked - see https://www.spamcop.net/bl.shtml?192.0.2.1'), ['spamcop']);
  assert.deepEqual(ids(554, null, 'rejected by SORBS'), ['sorbs']);
  assert.deepEqual(ids(550, null, 'Your IP is listed at dnsbl-1.uceprotect.net'), ['uceprotect']);
  assert.deepEqual(ids(550, '5.7.26', 'This mail has been blocked because the sender is unauthenticated.'), [
    'gmail-dmarc',
  ]);
  assert.deepEqual(ids(550, '5.7.1', 'This message is unauthenticated'), ['gmail-unauthenticated']);
  assert.deepEqual(
    ids(421, '4.7.0', 'Our system has detected an unusual rate of unsolicited mail originating from your IP address'),
    ['rate-limit'],
  );
  assert.deepEqual(ids(550, '5.7.708', 'Service unavailable. Access denied, traffic not accepted from this IP.'), [
    'microsoft-708',
  ]);
  assert.deepEqual(ids(550, '5.7.606', 'Access denied, banned sending IP [192.0.2.1]'), ['microsoft-banned-ip']);
  assert.deepEqual(
    ids(450, '4.2.0', '<a@b>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/'),
    ['greylisting'],
  );
  assert.deepEqual(ids(451, '4.7.1', 'Please try again later'), ['greylisting']);
  assert.deepEqual(ids(452, '4.2.2', 'The email account that you tried to reach is over quota'), ['mailbox-full']);
  assert.deepEqual(ids(550, '5.1.1', 'User unknown'), ['user-unknown']);
  assert.deepEqual(ids(550, '5.7.23', 'SPF check failed'), ['spf']);
  assert.deepEqual(ids(550, '5.7.20', 'No valid DKIM signature'), ['dkim']);
  assert.deepEqual(ids(250, '2.0.0', 'Ok: queued as ABC'), []);
  for (const { id, source } of CAUSE_SOURCES) assert.match(source, /^https?:\/\/\S+$/, `${id} has no source`);
});

test('explain - refuses more standard input than a bounce holds (4 MiB) with exit 2', async () => {
  const { spawn } = await import('node:child_process');
  const { BIN } = await import('./helpers/paths.js');
  const child = spawn(process.execPath, [BIN, 'explain', '-'], {
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' },
  });
  // smtpkit stops reading at the limit: the rest of our write meets a closed pipe.
  child.stdin.on('error', () => {});
  child.stdin.end(`550 5.1.1 unknown\n${'x'.repeat(5 * 1024 * 1024)}`);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 2);
  assert.match(stderr, /standard input is over 4 MiB/);
});

test('explain reads swaks and smtpkit transcript markers and Postfix log lines', async () => {
  const swaks = JSON.parse((await runCli(['explain', '--json', '<** 550 5.7.1 Relay access denied'])).stdout);
  assert.equal(swaks.code, 550);
  const ours = JSON.parse((await runCli(['explain', '--json', '<~  452 4.2.2 Mailbox full'])).stdout);
  assert.equal(ours.causes[0].id, 'mailbox-full');
  const log =
    'Jun  7 19:24:09 mx postfix/smtpd[2561]: NOQUEUE: reject: RCPT from unknown[192.0.2.1]: 554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using bl.spamcop.net; from=<a@example.test> to=<b@example.test> proto=ESMTP helo=<x>';
  const p = JSON.parse((await runCli(['explain', '--json', '-'], { input: `${log}\n` })).stdout);
  assert.equal(p.verb, 'RCPT');
  assert.equal(p.enhanced, '5.7.1');
  assert.equal(p.causes[0].id, 'spamcop');
  assert.doesNotMatch(p.input, /from=</);
});

test('codes outside RFC 5321 are explained from their first digit and enhanced code, said to be non-standard (exit 0)', async () => {
  const r571 = await runCli(['explain', '--json', '571 5.7.1 Message refused, DMARC verification Failed.']);
  assert.equal(r571.code, 0, r571.stderr);
  const d = JSON.parse(r571.stdout);
  assert.equal(d.code, 571);
  assert.equal(d.enhanced, '5.7.1');
  assert.match(d.explanation.summary, /not a standard SMTP reply code.*Permanent failure/is);
  assert.equal(d.causes[0].id, 'dmarc');
  const bare = await runCli(['explain', '570']);
  assert.equal(bare.code, 0, bare.stderr);
  assert.match(bare.stdout, /570: Not a standard SMTP reply code/);
  const lone = await runCli(['explain', '5.2.3 Message too large']);
  assert.equal(lone.code, 0, lone.stderr);
  assert.match(lone.stdout, /5\.2\.3 Message length exceeds administrative limit/);
  assert.match(lone.stdout, /note: no basic reply code/);
  const j = JSON.parse((await runCli(['explain', '--json', '5.2.3 Message too large'])).stdout);
  assert.equal(j.code, null);
  assert.equal(j.enhanced, '5.2.3');
  assert.match(j.explanation.note, /no basic reply code/);
});

test('a labelled set of real bounce lines from many providers: every line is read (no exit 2) and gets its cause', () => {
  const rows = readFixture('bounce-lines.tsv')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('\t') as [string, string, string]);
  assert.ok(rows.length >= 80, `only ${rows.length} labelled lines`);
  const providers = new Set(rows.map(([, p]) => p.split(/[ +/]/)[0]));
  assert.ok(providers.size >= 25, `only ${providers.size} providers`);
  const missed: string[] = [];
  const named = new Map<string, number>();
  for (const [label, provider, line] of rows) {
    let first: string | undefined;
    try {
      first = explainPasted(line)[0]?.causes[0]?.id;
    } catch (err) {
      missed.push(`${provider}: exit ${(err as { exitCode?: number }).exitCode ?? '?'}: ${line}`);
      continue;
    }
    if (first === label) named.set(label, (named.get(label) ?? 0) + 1);
    else missed.push(`${provider}: expected ${label}, got ${first ?? 'no cause'}: ${line}`);
  }
  assert.deepEqual(missed, [], `${missed.length} of ${rows.length} lines missed`);
  // The causes this set was built to show, each named at least twice.
  for (const cause of [
    'reverse-dns',
    'spam-content',
    'virus',
    'policy',
    'relay-denied',
    'mailbox-disabled',
    'system-full',
    'rate-limit',
    'not-rfc5322',
    'host-unknown',
  ]) {
    assert.ok((named.get(cause) ?? 0) >= 2, `${cause} named ${named.get(cause) ?? 0} times`);
  }
});

test('every cause row cites a source, and each wording it matches names where it was seen', () => {
  for (const row of CAUSE_SOURCES) {
    assert.match(row.source, /^https?:\/\/\S+$/, `${row.id} has no source`);
    for (const [wording, seenAt] of row.seen) {
      assert.ok(wording.length >= 3 && seenAt.length >= 2, `${row.id}: ${wording} / ${seenAt}`);
      // Wordings are compared with the reply text lower-cased and its white space collapsed.
      assert.equal(wording, wording.toLowerCase().replace(/\s+/g, ' '), `${row.id}: ${wording} can never match`);
    }
  }
  const ids = new Set(CAUSE_SOURCES.filter((r) => r.seen.length).map((r) => r.id));
  for (const id of [
    'reverse-dns',
    'spam-content',
    'virus',
    'policy',
    'relay-denied',
    'mailbox-disabled',
    'system-full',
    'rate-limit',
    'not-rfc5322',
    'host-unknown',
  ])
    assert.ok(ids.has(id), `${id} has no wordings`);
});

test('explain - reads a qmail bounce ((#5.1.2) codes, a non-standard 571) and a Sendmail transcript (<<< replies after >>> RCPT)', async () => {
  const q = await runCli(['explain', '-', '--json'], { input: readFixture('bounce-qmail.txt') });
  assert.equal(q.code, 0, q.stderr);
  const items = JSON.parse(q.stdout).items;
  assert.deepEqual(
    items.map((i: { recipient: string; code: number | null; enhanced: string; causes: { id: string }[] }) => [
      i.recipient,
      i.code,
      i.enhanced,
      i.causes[0]?.id,
    ]),
    [
      ['bob@example.invalid', null, '5.1.2', 'host-unknown'],
      ['carol@example.net', 571, '5.7.1', 'virus'],
      ['dave@example.org', 554, '5.7.1', 'spam-content'],
      ['erin@example.com', 553, '5.7.1', 'relay-denied'],
    ],
  );
  const s = JSON.parse(
    (await runCli(['explain', '-', '--json'], { input: readFixture('bounce-sendmail.txt') })).stdout,
  );
  const refused = s.items.filter((i: { code: number }) => i.code === 550);
  assert.equal(refused.length, 1, 'the echoed reply is the same refusal, shown once');
  assert.equal(refused[0].verb, 'RCPT');
  assert.equal(refused[0].causes[0].id, 'relay-denied');
  // Words alone, with no code at all, still name a cause.
  const words = await runCli([
    'explain',
    'Host or domain name not found. Name service error for name=example.invalid type=MX: Host not found',
  ]);
  assert.equal(words.code, 0, words.stderr);
  assert.match(words.stdout, /cause: .*domain/);
  // In a whole message with no reply in it, a bare "policy" in some header is no cause.
  const noise = await runCli(['explain', '-'], {
    input:
      'Authentication-Results: mx.example.com; dkim-adsp=none (unprotected policy)\nX-Virus-Scanned: amavisd-new at example.com\nSubject: hello\n',
  });
  assert.equal(noise.code, 2, noise.stdout);
});

test('explain - completes a DSN that kept only the first line of a reply (Sendmail) from the session transcript', async () => {
  const r = await runCli(['explain', '-', '--json'], { input: readFixture('bounce-sendmail-dsn.txt') });
  assert.equal(r.code, 0, r.stderr);
  const [item, ...rest] = JSON.parse(r.stdout).items;
  assert.equal(rest.length, 0);
  assert.equal(item.recipient, 'bob@example.net');
  assert.equal(item.remoteMta, 'aspmx.l.google.example');
  assert.equal(item.verb, 'DATA');
  assert.match(item.input, /content and attachment content guidelines/);
  assert.equal(item.causes[0].id, 'virus');
});

test('explain - reads a Gmail bounce saved in quoted-printable: the reply cut by soft line breaks is whole again', async () => {
  const r = await runCli(['explain', '-', '--json'], { input: readFixture('bounce-gmail-qp.txt') });
  assert.equal(r.code, 0, r.stderr);
  const [item, ...rest] = JSON.parse(r.stdout).items;
  assert.equal(rest.length, 0);
  assert.equal(item.code, 550);
  assert.equal(item.enhanced, '5.7.1');
  assert.match(
    item.input,
    /^550 5\.7\.1 <bob@example\.co\.jp>\.\.\. Relaying denied\. Proper authentication required\./,
  );
  assert.equal(item.causes[0].id, 'relay-denied');
});

test('explain - a DSN that says only "Status: 5.0.0" is explained from the words of its human part, not from the returned headers', async () => {
  const r = await runCli(['explain', '-', '--json'], { input: readFixture('bounce-exim-dsn.txt') });
  assert.equal(r.code, 0, r.stderr);
  const items = JSON.parse(r.stdout).items;
  assert.deepEqual(
    items.map((i: { input: string; recipient: string; causes: { id: string }[] }) => [
      i.input,
      i.recipient,
      i.causes.map((c) => c.id),
    ]),
    [
      ['mailbox is full: retry timeout exceeded', 'bob@example.org', ['mailbox-full-text']],
      ['5.0.0', 'bob@example.org', []],
    ],
  );
});

test('explain - reads a bounce whose text parts are base64 (Exchange, Outlook.com), any language; a base64 attachment stays unread', async () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64').replace(/.{76}/g, '$&\r\n');
  const outlook = [
    'From: postmaster@outlook.example',
    'Subject: Undeliverable: hello',
    'Content-Type: multipart/mixed; boundary="NDR"',
    '',
    '--NDR',
    'Content-Type: text/plain; charset="utf-8"',
    'Content-Transfer-Encoding: base64',
    '',
    b64(
      "Delivery has failed to these recipients or groups:\r\n\r\ncarol@outlook.example\r\nLa remise a échoué.\r\n\r\nRemote Server returned '550 5.7.606 Access denied, banned sending IP [198.51.100.1]. To request removal from this list please visit https://sender.office.com/'\r\n",
    ),
    '',
    '--NDR',
    'Content-Type: image/png',
    'Content-Transfer-Encoding: base64',
    '',
    b64('550 5.7.1 not a reply: the bytes of an image\x01\x02'),
    '',
    '--NDR--',
    '',
  ].join('\r\n');
  const r = await runCli(['explain', '-', '--json'], { input: outlook });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(
    doc.items.map((i: { code: number; enhanced: string }) => [i.code, i.enhanced]),
    [[550, '5.7.606']],
  );
  assert.equal(doc.items[0].causes[0].id, 'microsoft-banned-ip');
  // Japanese, in a base64 part of a multipart/report: the reply inside is read, in its words.
  const japanese = [
    'Content-Type: multipart/report; report-type=delivery-status; boundary="X"',
    '',
    '--X',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    b64('配信できませんでした。\n宛先: taro@example.jp\n552 5.2.2 メールボックスが一杯です\n'),
    '--X--',
    '',
  ].join('\n');
  const text = await runCli(['explain'], { input: japanese });
  assert.equal(text.code, 0, text.stdout + text.stderr);
  assert.match(text.stdout, /^552 5\.2\.2 メールボックスが一杯です$/m);
  assert.match(text.stdout, /cause: the recipient’s mailbox is full/);
});

test('explain - reads the reply Gmail quotes in brackets after the MX host and address, even cut by quoted-printable and in French', async () => {
  const gmail = [
    'From: Mail Delivery Subsystem <mailer-daemon@googlemail.example>',
    'Subject: Delivery Status Notification (Failure)',
    'Content-Type: text/plain; charset="UTF-8"',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    '** Message not delivered **',
    '',
    'The recipient server did not accept our requests to connect. Learn more at =',
    'https://support.google.com/mail/answer/7720 [mx.example.fr. 192.0.2.1: 421-4=',
    '.7.0 [192.0.2.2] Notre syst=C3=A8me a d=C3=A9tect=C3=A9 un nombre inhabituel=',
    ' de connexions 421 4.7.0 trop de connexions]',
    '',
  ].join('\r\n');
  const r = await runCli(['explain', '-', '--json'], { input: gmail });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(
    doc.items.map((i: { code: number; enhanced: string }) => [i.code, i.enhanced]),
    [[421, '4.7.0']],
  );
  assert.match(doc.items[0].input, /^421-4\.7\.0 \[192\.0\.2\.2\] Notre système .* trop de connexions$/);
  const v6 = await runCli(['explain', '-'], {
    input:
      'The recipient server did not accept our requests.\n[mx1.example.com. 2001:db8::25: 550 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org]\n',
  });
  assert.equal(v6.code, 0, v6.stdout + v6.stderr);
  assert.match(v6.stdout, /^550 5\.7\.1 Service unavailable; client host blocked using zen\.spamhaus\.org$/m);
  assert.match(v6.stdout, /cause: your sending IP is on a Spamhaus blocklist/);
});
