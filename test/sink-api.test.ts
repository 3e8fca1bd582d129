import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
// The library face: what a Node test suite would import to run a catcher in its own process.
import { readMessage } from '../src/index.js';
import { envelope, oversizedData, rawClient, streamLines } from './helpers/abusive-clients.js';
import { apiBase, catcher, deliver, getJson, message } from './helpers/catcher.js';
import { MiB, NODE_HEADROOM, watchPeakRss } from './helpers/peak-rss.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/process-group.js';
import { sinkProcess } from './helpers/sink-process.js';

const dir = tempDir('smtpkit-sink-api-');
const hasSwaks = spawnSync('swaks', ['--version']).status === 0;

/** Raw bytes to the API, and what it answered before closing (or within `ms`). */
function rawHttp(base: string, request: string | Buffer, ms = 5000): Promise<string> {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve(got);
    }, ms);
    s.on('data', (d) => (got += d));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    s.on('error', reject);
    s.write(request);
  });
}

test('messages: newest first with envelope, headers decoded, TLS/AUTH flags, session id; filters to, from, subject, since, limit', async () => {
  const c = await catcher();
  const first = await deliver(c.smtpPort, 'one@example.test', message('Your order #1'));
  const second = await deliver(
    c.smtpPort,
    'two@example.test',
    message(
      '=?utf-8?B?UGFzc3dvcmQgcmVzZXQg8J+UkQ==?=',
      'Message-ID: <m2@shop.test>\r\nDate: Sun, 06 Dec 2026 11:00:00 +0000\r\n',
    ),
  );
  const list = await getJson(`${c.base}/api/v1/messages`);
  assert.equal(list.status, 200);
  assert.match(list.headers.get('content-type')!, /^application\/json/);
  assert.deepEqual(
    list.body.messages.map((m: { id: string }) => m.id),
    [second, first],
  );
  const m = list.body.messages[0];
  assert.deepEqual(m.envelope, { mailFrom: 'a@client.test', rcptTo: ['two@example.test'] });
  assert.equal(m.subject, 'Password reset 🔑');
  assert.equal(m.from, 'App <app@shop.test>');
  assert.equal(m.messageId, '<m2@shop.test>');
  assert.equal(m.date, 'Sun, 06 Dec 2026 11:00:00 +0000');
  assert.equal(m.tls, false);
  assert.equal(m.auth, false);
  assert.equal(typeof m.session, 'number');
  assert.ok(m.size > 50 && Date.parse(m.receivedAt) > 0);

  const q = async (query: string) =>
    (await getJson(`${c.base}/api/v1/messages?${query}`)).body.messages.map((x: { id: string }) => x.id);
  assert.deepEqual(await q('to=ONE@'), [first], 'to: a RCPT TO substring, any case');
  assert.deepEqual(await q('to=customer'), [second, first], 'to: the To: header counts too');
  assert.deepEqual(await q('subject=order'), [first]);
  assert.deepEqual(await q('subject=reset%20%F0%9F%94%91'), [second], 'subject: the decoded text');
  assert.deepEqual(await q('from=shop.test'), [second, first]);
  assert.deepEqual(await q('from=nobody'), []);
  assert.deepEqual(await q('limit=1'), [second]);
  assert.deepEqual(await q(`since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`), []);
  assert.deepEqual(await q(`since=${Date.parse(list.body.messages[1].receivedAt)}`), [second, first]);
  const typo = await getJson(`${c.base}/api/v1/messages?subjet=order`);
  assert.equal(typo.status, 400, 'an unknown parameter is refused: a typo must not match everything');
  assert.match(typo.body.error, /unknown parameter "subjet"/);
  assert.equal((await getJson(`${c.base}/api/v1/messages?since=yesterday`)).status, 400);
  assert.equal((await getJson(`${c.base}/api/v1/messages?limit=0`)).status, 400);
});

test('one message: headers, text and HTML parts, attachments (multipart, base64, quoted-printable, RFC 2231 names); hostile text comes back escaped', async () => {
  const c = await catcher();
  const hostile = '</script><script>alert(1)</script> \u202Eevil\u2028';
  const raw = [
    'From: a@shop.test',
    'To: b@example.test',
    `Subject: =?utf-8?B?${Buffer.from(hostile).toString('base64')}?=`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="outer"',
    '',
    'preamble',
    '--outer',
    'Content-Type: multipart/alternative; boundary=inner',
    '',
    '--inner',
    'Content-Type: text/plain; charset=iso-8859-1',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Caf=E9 au lait, a long line that is soft=',
    ' broken.',
    '--inner',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('<p>Café <img src="https://tracker.test/x.gif"></p>').toString('base64'),
    '--inner--',
    '--outer',
    'Content-Type: application/pdf',
    "Content-Disposition: attachment; filename*=utf-8''Rechnung%20M%C3%A4rz.pdf",
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('%PDF-1.4 fake').toString('base64'),
    '--outer',
    'Content-Type: image/png; name="logo.png"',
    'Content-Disposition: inline',
    'Content-ID: <logo@shop.test>',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.alloc(300, 7).toString('base64'),
    '--outer--',
  ].join('\r\n');
  const id = await deliver(c.smtpPort, 'b@example.test', raw);
  const r = await getJson(`${c.base}/api/v1/messages/${id}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.subject, hostile, 'the JSON parses back to exactly what was sent');
  assert.ok(!/[<>\u202e\u2028]/.test(r.text), 'but no <, >, bidi control or line separator is raw in the answer');
  assert.equal(r.body.text, 'Café au lait, a long line that is soft broken.');
  assert.equal(r.body.html, '<p>Café <img src="https://tracker.test/x.gif"></p>');
  assert.deepEqual(r.body.attachments, [
    {
      index: 0,
      name: 'Rechnung März.pdf',
      type: 'application/pdf',
      size: 13,
      disposition: 'attachment',
      contentId: null,
    },
    { index: 1, name: 'logo.png', type: 'image/png', size: 300, disposition: 'inline', contentId: 'logo@shop.test' },
  ]);
  assert.deepEqual(r.body.headers.slice(0, 2), [
    { name: 'From', value: 'a@shop.test' },
    { name: 'To', value: 'b@example.test' },
  ]);
  const pdf = await fetch(`${c.base}/api/v1/messages/${id}/attachments/0`);
  assert.equal(pdf.headers.get('content-type'), 'application/octet-stream');
  assert.equal(Buffer.from(await pdf.arrayBuffer()).toString(), '%PDF-1.4 fake');
  assert.equal((await getJson(`${c.base}/api/v1/messages/${id}/attachments/2`)).status, 404);
});

test('the MIME reader keeps going on broken input: no closing boundary, bad base64, endless nesting', () => {
  const unclosed = readMessage(
    Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nstill here'),
  );
  assert.equal(unclosed.text, 'still here');
  let deep = 'Content-Type: text/plain\r\n\r\nbottom';
  for (let i = 0; i < 40; i++)
    deep = `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n${deep}\r\n--b${i}--`;
  const nested = readMessage(Buffer.from(deep));
  assert.equal(nested.text, null);
  assert.equal(nested.unreadParts, 1, 'nesting past the limit is counted, not followed');
  const bad = readMessage(
    Buffer.from(
      'Content-Type: application/zip; name=a.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64***',
    ),
  );
  assert.equal(bad.attachments[0]!.name, 'a.zip');
  const bare = readMessage(Buffer.from('Subject: bare LF\nFrom: x@y.test\n\nbody\n'));
  assert.deepEqual(bare.headers, [
    ['Subject', 'bare LF'],
    ['From', 'x@y.test'],
  ]);
  assert.equal(bare.text, 'body\n');
});

test('/raw is byte-exact and /session is the SMTP conversation that delivered the message, each reply explained', async () => {
  const c = await catcher({ sink: { rejectRcpt: /^refused@/ } });
  const client = await rawClient(c.smtpPort);
  await client.waitFor(/^220 /m);
  await client.send(
    'EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<refused@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n',
  );
  await client.waitFor(/^354 /m);
  // 8-bit bytes, a dot-stuffed line, trailing spaces and a long line come back as they were received.
  // A bare LF (noted, kept as sent by default) too.
  const body = Buffer.concat([
    Buffer.from('Subject: raw\r\n\r\n..leading dot\r\ntrailing   \r\nbare\n'),
    Buffer.from([0xe9, 0xff, 0x0d, 0x0a]),
    Buffer.from(`${'x'.repeat(1500)}\r\n`),
  ]);
  await client.send(Buffer.concat([body, Buffer.from('.\r\n')]));
  const id = /queued as ([0-9A-F]+)/.exec(await client.waitFor(/queued as/))![1]!;
  await client.send('QUIT\r\n');
  await client.closed;
  const raw = Buffer.from(await (await fetch(`${c.base}/api/v1/messages/${id}/raw`)).arrayBuffer());
  assert.deepEqual(
    raw,
    Buffer.concat([
      Buffer.from('Subject: raw\r\n\r\n.leading dot\r\ntrailing   \r\nbare\n'),
      Buffer.from([0xe9, 0xff, 0x0d, 0x0a]),
      Buffer.from(`${'x'.repeat(1500)}\r\n`),
    ]),
  );
  const summary = (await getJson(`${c.base}/api/v1/messages/${id}`)).body;
  assert.deepEqual(
    summary.lineEndings,
    { bareLf: 1, bareCr: 0, normalized: false },
    "the sink's line-ending finding is in the message",
  );
  const s = await getJson(`${c.base}/api/v1/messages/${id}/session`);
  assert.equal(s.status, 200);
  assert.equal(s.body.ended, true);
  const replies = s.body.events.filter((e: { type: string }) => e.type === 'reply');
  const refused = replies.find((e: { reply: { code: number } }) => e.reply.code === 550);
  assert.equal(refused.command, 'RCPT');
  assert.match(refused.explanation.summary, /recipient/i);
  assert.equal(refused.explanation.enhanced.code, '5.1.1');
  assert.ok(
    replies.every((e: { explanation?: { summary: string } }) => e.explanation?.summary),
    'every reply has its explanation',
  );
  assert.deepEqual(
    s.body.events.filter((e: { type: string }) => e.type === 'sent').map((e: { command: string }) => e.command),
    ['EHLO', 'MAIL', 'RCPT', 'RCPT', 'DATA', '.', 'QUIT'],
  );
});

test(
  'swaks sends a message; /raw returns it byte-exact (through the CLI: sink --http 127.0.0.1:0 prints the port)',
  { skip: hasSwaks ? false : 'swaks is not installed' },
  async () => {
    const sink = await sinkProcess(['--http', '127.0.0.1:0', '-q']);
    try {
      const base = await apiBase(sink);
      // Ends without CRLF: swaks ends DATA with CRLF . CRLF, whose first CRLF ends the last line.
      const data =
        'From: swaks@client.test\r\nTo: b@example.test\r\nSubject: from swaks\r\nX-Note: .dots, tabs\tand 8-bit: caf\xc3\xa9\r\n\r\n.a line swaks dot-stuffs\r\nlast line';
      const file = join(dir, 'swaks.eml');
      writeFileSync(file, Buffer.from(data, 'latin1'));
      const swaks = spawnSync(
        'swaks',
        [
          '--server',
          `127.0.0.1:${sink.port}`,
          '--from',
          'swaks@client.test',
          '--to',
          'b@example.test',
          '--data',
          `@${file}`,
          '--timeout',
          '10',
        ],
        { encoding: 'utf8', timeout: 20_000 },
      );
      assert.equal(swaks.status, 0, swaks.stdout + swaks.stderr);
      assert.match(swaks.stdout, / -> \.\.a line swaks dot-stuffs/, 'swaks did stuff the dot on the wire');
      const id = /<- {2}250 2\.0\.0 Ok: queued as ([0-9A-F]{12})/.exec(swaks.stdout)![1]!;
      const raw = Buffer.from(await (await fetch(`${base}/api/v1/messages/${id}/raw`)).arrayBuffer());
      assert.deepEqual(raw, Buffer.from(`${data}\r\n`, 'latin1'));
      const list = await getJson(`${base}/api/v1/messages?from=swaks`);
      assert.equal(list.body.messages[0].subject, 'from swaks');
      assert.equal((await getJson(`${base}/healthz`)).body.status, 'ok');
      assert.match(
        sink.stdout(),
        /^=== #\d+ message [0-9A-F]{12}: from <swaks@client\.test>/m,
        'the sink still prints its line',
      );
    } finally {
      assert.equal(await sink.stop(), 0);
    }
  },
);

test('CLI: --http with --json: the message line on stdout carries no copy of the message', async () => {
  const sink = await sinkProcess(['--http', '127.0.0.1:0', '--json']);
  try {
    await apiBase(sink);
    await deliver(sink.port, 'b@example.test', message('json line'));
    const until = Date.now() + 5000;
    while (!sink.stdout().includes('\n') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const line = JSON.parse(sink.stdout().split('\n')[0]!);
    assert.deepEqual(line.to, ['b@example.test']);
    assert.equal(line.raw, undefined);
    assert.ok(sink.stdout().length < 1000, sink.stdout());
  } finally {
    assert.equal(await sink.stop(), 0);
  }
});

test('wait: answers at once for a message already stored, wakes on one sent after the call (not on one that does not match), 408 at its timeout', async () => {
  const c = await catcher();
  const early = await deliver(c.smtpPort, 'early@example.test', message('Welcome'));
  const already = await getJson(`${c.base}/api/v1/wait?to=early@&timeout=5s`);
  assert.equal(already.status, 200);
  assert.equal(already.body.message.id, early, 'a message stored before the call counts');

  const since = new Date().toISOString();
  const pending = getJson(
    `${c.base}/api/v1/wait?to=late@example.test&subject=code&since=${encodeURIComponent(since)}&timeout=10s`,
  );
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(c.store.waiting, 1);
  await deliver(c.smtpPort, 'late@example.test', message('Something else'));
  await deliver(c.smtpPort, 'other@example.test', message('Your code'));
  let storedAt = 0;
  c.sink.once('message', () => (storedAt = performance.now()));
  const late = await deliver(c.smtpPort, 'late@example.test', message('Your code is 123456'));
  const woke = await pending;
  const wakeMs = performance.now() - storedAt;
  assert.equal(woke.status, 200);
  assert.equal(woke.body.message.id, late);
  assert.equal(woke.body.message.subject, 'Your code is 123456');
  assert.ok(wakeMs < 1000, `woke ${wakeMs.toFixed(1)} ms after the message was stored`);
  assert.equal(c.store.waiting, 0);

  const started = performance.now();
  const timedOut = await getJson(`${c.base}/api/v1/wait?to=nobody@example.test&timeout=300ms`);
  const ms = performance.now() - started;
  assert.equal(timedOut.status, 408);
  assert.match(timedOut.body.error, /no matching message within 300ms/);
  assert.ok(ms >= 290 && ms < 3000, `408 after ${ms.toFixed(0)} ms`);
  assert.equal(c.store.waiting, 0, 'the timed-out wait is gone');

  const tooLong = await getJson(`${c.base}/api/v1/wait?timeout=301s`);
  assert.equal(tooLong.status, 400);
  assert.match(tooLong.body.error, /over the limit of 300s/);
  assert.equal((await getJson(`${c.base}/api/v1/wait?timeout=soon`)).status, 400);
});

test('a wait whose client goes away is dropped at once', async () => {
  const c = await catcher();
  const gone = new AbortController();
  const pending = fetch(`${c.base}/api/v1/wait?to=x@&timeout=60s`, { signal: gone.signal }).catch(() => 'aborted');
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(c.store.waiting, 1);
  gone.abort();
  assert.equal(await pending, 'aborted');
  const until = Date.now() + 2000;
  while (c.store.waiting && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  assert.equal(c.store.waiting, 0);
});

test('--max-messages: the oldest are evicted and counted; DELETE by filter, by id and all; /metrics in the Prometheus text format', async () => {
  const c = await catcher({ store: { maxMessages: 3 }, sink: { rejectRcpt: /^no@/ } });
  const ids: string[] = [];
  for (let i = 0; i < 5; i++)
    ids.push(await deliver(c.smtpPort, i % 2 ? 'odd@example.test' : 'even@example.test', message(`n${i}`)));
  const list = await getJson(`${c.base}/api/v1/messages`);
  assert.deepEqual(
    list.body.messages.map((m: { id: string }) => m.id),
    ids.slice(2).reverse(),
  );
  assert.equal(list.body.evicted, 2);
  assert.equal((await getJson(`${c.base}/api/v1/messages/${ids[0]}`)).status, 404, 'an evicted message is gone');

  const refused = await rawClient(c.smtpPort);
  await refused.waitFor(/^220 /m);
  await refused.send('EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<no@example.test>\r\nQUIT\r\n');
  await refused.waitFor(/^550 5\.1\.1 /m);
  await refused.closed;

  const metrics = await fetch(`${c.base}/metrics`);
  assert.equal(metrics.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  const text = await metrics.text();
  assert.match(text, /^# TYPE smtpkit_sink_messages_received_total counter\nsmtpkit_sink_messages_received_total 5$/m);
  assert.match(text, /^smtpkit_sink_messages_evicted_total 2$/m);
  assert.match(text, /^smtpkit_sink_messages_stored 3$/m);
  assert.match(text, /^smtpkit_sink_sessions_total 6$/m);
  assert.match(text, /^smtpkit_sink_refused_total\{fault="reject-rcpt"\} 1$/m);

  const byFilter = await getJson(`${c.base}/api/v1/messages?to=even@`, { method: 'DELETE' });
  assert.deepEqual(byFilter.body, { deleted: 2, stored: 1 });
  assert.deepEqual((await getJson(`${c.base}/api/v1/messages/${ids[3]}`, { method: 'DELETE' })).body, {
    deleted: 1,
    stored: 0,
  });
  assert.equal((await getJson(`${c.base}/api/v1/messages/${ids[3]}`, { method: 'DELETE' })).status, 404);
  await deliver(c.smtpPort, 'x@example.test', message('again'));
  assert.deepEqual((await getJson(`${c.base}/api/v1/messages`, { method: 'DELETE' })).body, { deleted: 1, stored: 0 });
  assert.match(await (await fetch(`${c.base}/metrics`)).text(), /^smtpkit_sink_messages_deleted_total 4$/m);
});

test('HTTP discipline: JSON 404 and 405, oversized header 431, oversized body 413, too many at once 503, a slow header block 408', async () => {
  const c = await catcher({
    api: { maxConcurrent: 2, headersTimeoutMs: 500, requestTimeoutMs: 20_000, maxHeaderBytes: 4096 },
  });
  const missing = await getJson(`${c.base}/nope`);
  assert.equal(missing.status, 404);
  assert.match(missing.body.error, /not found: \/nope/);
  const unknown = await getJson(`${c.base}/api/v1/messages/NOSUCHID`);
  assert.equal(unknown.status, 404);
  assert.match(unknown.body.error, /no message "NOSUCHID"/);
  assert.match(
    await rawHttp(c.base, 'GET /api/v1/messages/%E0%A4%A HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
    /^HTTP\/1\.1 400 [^]*not a valid percent-encoded/,
  );
  assert.match(
    await rawHttp(c.base, 'GET //evil.test/api/v1/messages HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
    /^HTTP\/1\.1 404 /,
    'a path starting with // is no host',
  );
  const post = await getJson(`${c.base}/api/v1/messages`, { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD, DELETE');
  assert.match(post.body.error, /POST is not allowed here/);

  const big = await rawHttp(
    c.base,
    `GET /api/v1/messages HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`,
  );
  assert.match(big, /^HTTP\/1\.1 431 /);
  const body = await rawHttp(
    c.base,
    `DELETE /api/v1/messages HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10000000\r\n\r\n`,
  );
  assert.match(body, /^HTTP\/1\.1 413 /);
  assert.equal(c.store.size, 0);

  const holders = [0, 1].map(() => fetch(`${c.base}/api/v1/wait?to=hold@&timeout=5s`));
  await new Promise((r) => setTimeout(r, 200));
  const busy = await getJson(`${c.base}/api/v1/messages`);
  assert.equal(busy.status, 503);
  assert.equal(busy.headers.get('retry-after'), '1');
  assert.match(busy.body.error, /2 requests are being served/);
  await deliver(c.smtpPort, 'hold@example.test', message('release'));
  assert.deepEqual(
    (await Promise.all(holders)).map((r) => r.status),
    [200, 200],
  );
  assert.equal((await getJson(`${c.base}/api/v1/messages`)).status, 200, 'served again once the slots are free');

  const started = performance.now();
  const slow = await rawHttp(c.base, 'GET /api/v1/messages HTTP/1.1\r\nHost: localhost\r\n', 5000);
  const ms = performance.now() - started;
  assert.match(slow, /^HTTP\/1\.1 408 /, 'a client that never ends its header block is cut off');
  assert.ok(ms < 3000, `cut off after ${ms.toFixed(0)} ms`);
});

test('--http-token: every request but /healthz needs the Bearer token', async () => {
  const token = 'correct-horse-battery-staple';
  const c = await catcher({ api: { token } });
  const none = await getJson(`${c.base}/api/v1/messages`);
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="smtpkit sink"');
  assert.equal(
    (await getJson(`${c.base}/api/v1/messages`, { headers: { authorization: 'Bearer wrong-token-of-some-length' } }))
      .status,
    401,
  );
  assert.equal((await getJson(`${c.base}/metrics`, { headers: { authorization: `Basic ${token}` } })).status, 401);
  assert.equal(
    (await getJson(`${c.base}/api/v1/messages`, { headers: { authorization: `Bearer ${token}` } })).status,
    200,
  );
  assert.equal((await getJson(`${c.base}/healthz`)).status, 200);
  assert.match(
    await (await fetch(`${c.base}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text(),
    /^smtpkit_sink_api_unauthorized_total 3$/m,
  );
});

test('CLI: --http off loopback is refused without --allow-remote and --http-token; --http-token and --max-messages need --http', async () => {
  const cases: Array<[string[], RegExp]> = [
    [
      ['--http', '0.0.0.0:0'],
      /--http 0\.0\.0\.0 is not a loopback address: an API open to the network needs --allow-remote and --http-token/,
    ],
    [['--http', '0.0.0.0:0', '--allow-remote'], /needs --http-token/],
    [['--http', '127.0.0.1:0', '--http-token', 'short'], /--http-token takes 16 to 512 visible ASCII characters/],
    [['--http-token', 'a-long-enough-token'], /--http-token goes with --http/],
    [['--max-messages', '10'], /--max-messages goes with --http/],
    [['--http', '127.0.0.1:0', '--max-messages', '0'], /--max-messages takes a whole number/],
    [['--http', 'localhost'], /--http "localhost": give host:port/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(['sink', '--port', '0', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stdout + r.stderr, /a-long-enough-token/, 'the token is never printed');
  }
});

test(
  '--http under abuse: a 60 MiB message over --max-size is not kept (552, memory flat); 40 messages of 4 MiB with --max-messages 3 keep 3',
  { skip: process.platform !== 'linux' ? 'reads /proc' : false },
  async () => {
    const sink = await sinkProcess([
      '--http',
      '127.0.0.1:0',
      '-q',
      '--max-size',
      String(8 * MiB),
      '--max-messages',
      '3',
    ]);
    const rss = watchPeakRss(sink.child.pid!);
    try {
      const base = await apiBase(sink);
      const big = await oversizedData(sink.port, 60 * MiB);
      await big.closed;
      assert.match(big.text(), /^552 5\.3\.4 /m);
      assert.equal((await getJson(`${base}/api/v1/messages`)).body.total, 0);
      const oversizedPeak = rss.peak();
      for (let i = 0; i < 40; i++) {
        const c = await rawClient(sink.port);
        await envelope(c);
        await c.send('DATA\r\n');
        await c.waitFor(/^354 /m);
        await c.send(`Subject: n${i}\r\n\r\n`);
        await streamLines(c, 4 * MiB);
        await c.send('\r\n.\r\n');
        await c.waitFor(/queued as/);
        c.destroy();
      }
      const list = await getJson(`${base}/api/v1/messages`);
      assert.deepEqual(
        list.body.messages.map((m: { subject: string }) => m.subject),
        ['n39', 'n38', 'n37'],
      );
      assert.equal(list.body.evicted, 37);
      const peak = rss.stop();
      assert.ok(
        oversizedPeak < 120 * MiB + NODE_HEADROOM,
        `peak RSS ${Math.round(oversizedPeak / MiB)} MiB after the 60 MiB message`,
      );
      assert.ok(
        peak < 180 * MiB + NODE_HEADROOM,
        `peak RSS ${Math.round(peak / MiB)} MiB after 160 MiB of messages, 12 MiB kept`,
      );
    } finally {
      rss.stop();
      await sink.stop();
    }
  },
);

test('CLI: --http [::1]:0 with --http-token serves IPv6 loopback, the token required and never printed', async () => {
  const token = 'a-token-for-the-cli-test-0123';
  const sink = await sinkProcess(['--http', '[::1]:0', '--http-token', token]);
  try {
    const base = await apiBase(sink);
    assert.match(base, /^http:\/\/\[::1\]:\d+$/);
    assert.match(sink.stdout(), /Bearer token required/);
    assert.equal((await getJson(`${base}/api/v1/messages`)).status, 401);
    assert.equal(
      (await getJson(`${base}/api/v1/messages`, { headers: { authorization: `Bearer ${token}` } })).status,
      200,
    );
  } finally {
    assert.equal(await sink.stop(), 0);
    assert.ok(!(sink.stdout() + sink.stderr()).includes(token));
  }
});

test('--http with --save: a restarted sink reads its saved messages back (envelope kept beside each .eml); DELETE removes the files; an .eml saved without it still reads', async () => {
  const save = mkdtempSync(join(dir, 'save-'));
  const first = await sinkProcess(['--http', '127.0.0.1:0', '-q', '--save', save]);
  let ids: string[];
  try {
    await apiBase(first);
    ids = [
      await deliver(first.port, 'one@example.test', message('first')),
      await deliver(first.port, 'two@example.test', message('second')),
    ];
  } finally {
    assert.equal(await first.stop(), 0);
  }
  // An .eml from a run without --http: no summary beside it.
  const plain = '2026-01-02T03-04-05-678Z-ABCDEF000001.eml';
  writeFileSync(join(save, plain), 'Subject: older\r\nTo: old@example.test\r\n\r\nhi\r\n');
  const second = await sinkProcess(['--http', '127.0.0.1:0', '-q', '--save', save, '--max-messages', '3']);
  try {
    const base = await apiBase(second);
    assert.match(second.stdout(), /; 3 saved message\(s\) read back/);
    const list = (await getJson(`${base}/api/v1/messages`)).body.messages;
    assert.deepEqual(
      list.map((m: { id: string }) => m.id),
      [ids[1], ids[0], 'ABCDEF000001'],
    );
    assert.deepEqual(list[0].envelope, { mailFrom: 'a@client.test', rcptTo: ['two@example.test'] });
    assert.equal(list[0].restored, true);
    assert.deepEqual(
      [list[2].subject, list[2].receivedAt, list[2].envelope],
      ['older', '2026-01-02T03:04:05.678Z', { mailFrom: '', rcptTo: [] }],
    );
    const raw = Buffer.from(await (await fetch(`${base}/api/v1/messages/${ids[0]}/raw`)).arrayBuffer());
    assert.equal(raw.toString(), `${message('first')}\r\n`);
    assert.deepEqual(
      (await getJson(`${base}/api/v1/messages/${ids[0]}/session`)).body.events,
      [],
      'the conversation was not kept',
    );
    assert.equal((await getJson(`${base}/api/v1/wait?to=two@&timeout=1s`)).body.message.id, ids[1]);
    const fresh = await deliver(second.port, 'three@example.test', message('third'));
    assert.deepEqual(
      (await getJson(`${base}/api/v1/messages`)).body.messages.map((m: { id: string }) => m.id),
      [fresh, ids[1], ids[0]],
    );
    assert.deepEqual((await getJson(`${base}/api/v1/messages?to=one@`, { method: 'DELETE' })).body, {
      deleted: 1,
      stored: 2,
    });
    const until = Date.now() + 2000;
    while (readdirSync(save).some((n) => n.includes(ids[0]!)) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      readdirSync(save).filter((n) => n.includes(ids[0]!)),
      [],
      'the deleted message and its summary left the directory',
    );
    assert.ok(readdirSync(save).includes(plain), 'an evicted message stays on disk');
  } finally {
    assert.equal(await second.stop(), 0);
  }
});
