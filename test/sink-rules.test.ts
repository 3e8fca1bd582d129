/**
 * Deterministic faults: --rule (an address at a stage gets a fixed reply, first match wins,
 * replaced at run time through POST /api/v1/rules) and --rate-limit (messages per client
 * address), seen as a sender sees them: the replies on the wire, the session that ends, the
 * explained transcript, the counts in /metrics.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { globMatch, matchRule, parseRate, parseRule, parseRules, RateLimiter } from '../src/index.js';
import { rawClient, type RawClient } from './helpers/abusive-clients.js';
import { catcher, deliver, getJson, message } from './helpers/catcher.js';
import { runCli } from './helpers/cli.js';
import { sinkProcess } from './helpers/sink-process.js';

/** Greeting and EHLO read; the client is ready for a MAIL. */
async function greeted(port: number, localAddress?: string): Promise<RawClient> {
  const c = await rawClient(port, { localAddress });
  assert.match(await c.nextReply(), /^220 /);
  await c.send('EHLO client.test\r\n');
  assert.match(await c.nextReply(), /^250-/);
  return c;
}

async function say(c: RawClient, line: string): Promise<string> {
  await c.send(`${line}\r\n`);
  return (await c.nextReply()).trimEnd();
}

test('a rule parses into stage, pattern, code and text; bad ones say what is wrong', () => {
  assert.deepEqual(parseRule('rcpt:*@full.test=452 4.2.2 Mailbox full'), {
    rule: 'rcpt:*@full.test=452 4.2.2 Mailbox full',
    stage: 'rcpt',
    pattern: '*@full.test',
    code: 452,
    text: '4.2.2 Mailbox full',
  });
  // The reply starts at the first =CODE: an SRS address keeps its own = signs.
  assert.equal(parseRule('mail:SRS0=HHH=TT=example.com=a@*=550 5.7.1 No').pattern, 'SRS0=HHH=TT=example.com=a@*');
  assert.equal(parseRule('data:*=554').text, '5.0.0 Refused (--rule)');
  for (const [bad, why] of [
    ['rcpt:*@x.test', /write it as STAGE:PATTERN=CODE/],
    ['helo:*=550 no', /the stage is mail, rcpt or data/],
    ['rcpt:=550 no', /no address pattern/],
    ['rcpt:*=199 no', /2xx to 5xx/],
    ['rcpt:*=600 no', /2xx to 5xx/],
    ['rcpt:*=354 go on', /3xx reply would leave the client waiting/],
    ['rcpt:*=550 5.1.1 no\r\nDATA', /no CR, LF or NUL/],
    ['rcpt:*=550 no\x1b[31m', /control character/],
    ['rcpt:*=550 a\u0085b', /U\+0085, a control character/],
    ['rcpt:*=550 a\u202eb', /U\+202E, not ASCII/],
    ['rcpt:*=550 caf\u00e9', /U\+00E9, not ASCII.*printable ASCII/],
    ['rcpt:*=452 5.2.2 Mailbox full', /enhanced code 5\.2\.2 is of class 5, the reply 452 of class 4/],
    [`rcpt:*=550 ${'x'.repeat(501)}`, /over 500 characters/],
  ] as const)
    assert.throws(() => parseRule(bad), why, bad);
  assert.throws(() => parseRules(Array(1001).fill('rcpt:*=550 no')), /at most 1000/);
});

test('patterns: * and ? over the whole address, case-insensitive, linear on hostile input', () => {
  assert.ok(globMatch('*@full.test', 'Ann@FULL.test'));
  assert.ok(!globMatch('*@full.test', 'ann@full.test.evil'));
  assert.ok(globMatch('bounce@*', 'bounce@shop.test'));
  assert.ok(!globMatch('bounce@*', 'nobounce@shop.test'));
  assert.ok(globMatch('user?@x.test', 'user7@x.test'));
  assert.ok(!globMatch('user?@x.test', 'user@x.test'));
  assert.ok(globMatch('*', ''));
  // <> names the null sender (a bounce), whose address is empty.
  const bounces = parseRules(['mail:<>=550 5.7.1 No bounces here']);
  assert.equal(matchRule(bounces, 'mail', [''])?.code, 550);
  assert.equal(matchRule(bounces, 'mail', ['a@b.test']), undefined);
  assert.equal(matchRule(bounces, 'rcpt', ['']), undefined, 'only at its stage');
  const started = performance.now();
  assert.ok(!globMatch(`${'*a'.repeat(50)}b`, 'a'.repeat(5000)));
  assert.ok(performance.now() - started < 500, 'no exponential backtracking');
});

test('the rate limiter: N at once, then N per unit, per client', () => {
  assert.deepEqual(parseRate('10/s'), { count: 10, perMs: 1000 });
  assert.deepEqual(parseRate('100/min'), { count: 100, perMs: 60_000 });
  assert.throws(() => parseRate('10/x'), /10\/s, 100\/m, 1000\/h/);
  assert.throws(() => parseRate('0/s'), /1 or more/);
  const l = new RateLimiter({ count: 10, perMs: 1000 });
  for (let i = 0; i < 10; i++) assert.ok(l.take('192.0.2.1', 0), `message ${i + 1}`);
  assert.ok(!l.take('192.0.2.1', 0), 'the 11th at once is past the rate');
  assert.ok(l.take('192.0.2.2', 0), 'another client has its own');
  assert.ok(!l.take('192.0.2.1', 50), 'half a message later: still none');
  assert.ok(l.take('192.0.2.1', 100), 'a tenth of a second later: one more');
  assert.ok(!l.take('192.0.2.1', 100));
});

test('--rule over SMTP: rcpt, mail and data rules answer as written, first match wins, 2xx rules accept, the session says which rule answered', async () => {
  const c = await catcher({
    sink: {
      rules: parseRules([
        'rcpt:vip@full.test=250 2.1.5 VIP always fits',
        'rcpt:*@full.test=452 4.2.2 Mailbox full',
        'mail:bounce@*=550 5.7.1 Rejected',
        'data:*@spam.test=554 5.6.0 Content rejected',
      ]),
    },
  });
  try {
    const s = await greeted(c.smtpPort);
    assert.equal(await say(s, 'MAIL FROM:<bounce@shop.test>'), '550 5.7.1 Rejected');
    assert.equal(await say(s, 'MAIL FROM:<app@shop.test>'), '250 2.1.0 Ok');
    assert.equal(await say(s, 'RCPT TO:<ann@FULL.test>'), '452 4.2.2 Mailbox full');
    assert.equal(await say(s, 'RCPT TO:<vip@full.test>'), '250 2.1.5 VIP always fits');
    assert.equal(await say(s, 'RCPT TO:<eve@spam.test>'), '250 2.1.5 Ok');
    assert.equal(await say(s, 'DATA'), '354 End data with <CR><LF>.<CR><LF>');
    assert.equal(await say(s, 'Subject: spam\r\n\r\nbuy\r\n.'), '554 5.6.0 Content rejected');
    assert.equal(c.store.size, 0, 'a message refused at the dot is not stored');
    // The same session goes on: the rules refuse, they do not hang up.
    assert.equal(await say(s, 'MAIL FROM:<app@shop.test>'), '250 2.1.0 Ok');
    assert.equal(await say(s, 'RCPT TO:<vip@full.test>'), '250 2.1.5 VIP always fits');
    await say(s, 'DATA');
    assert.match(await say(s, 'Subject: ok\r\n\r\nfine\r\n.'), /^250 2\.0\.0 Ok: queued as /);
    await say(s, 'QUIT');
    s.destroy();
    const [stored] = c.store.list().messages;
    const session = (await getJson(`${c.base}/api/v1/messages/${stored!.id}/session`)).body;
    const notes = session.events
      .filter((e: { type: string }) => e.type === 'info')
      .map((e: { message: string }) => e.message);
    assert.ok(notes.includes('--rule "mail:bounce@*=550 5.7.1 Rejected" answers this MAIL'), notes.join('\n'));
    assert.ok(notes.includes('--rule "data:*@spam.test=554 5.6.0 Content rejected" answers this message'));
    const full = session.events.find(
      (e: { type: string; reply?: { code: number } }) => e.type === 'reply' && e.reply?.code === 452,
    );
    assert.match(full.explanation.enhanced.title, /mailbox full/i, 'the rule’s reply is explained like any other');
    const metrics = await (await fetch(`${c.base}/metrics`)).text();
    assert.match(
      metrics,
      /^smtpkit_sink_refused_total\{fault="rule",rule="rcpt:\*@full\.test=452 4\.2\.2 Mailbox full"\} 1$/m,
    );
    assert.match(metrics, /^smtpkit_sink_refused_total\{fault="rule",rule="mail:bounce@\*=550 5\.7\.1 Rejected"\} 1$/m);
    assert.match(
      metrics,
      /^smtpkit_sink_refused_total\{fault="rule",rule="data:\*@spam\.test=554 5\.6\.0 Content rejected"\} 1$/m,
    );
    assert.doesNotMatch(metrics, /VIP/, 'a rule that accepts refuses nothing');
  } finally {
    await c.close();
  }
});

test('a 421 rule closes the session after its reply (RFC 5321 §3.8)', async () => {
  const c = await catcher({ sink: { rules: parseRules(['mail:*=421 4.3.2 Going down for maintenance']) } });
  try {
    const s = await greeted(c.smtpPort);
    assert.equal(await say(s, 'MAIL FROM:<a@shop.test>'), '421 4.3.2 Going down for maintenance');
    await s.closed;
  } finally {
    await c.close();
  }
});

test('POST /api/v1/rules replaces the rules while sessions run; GET shows them with their counts; bad input changes nothing', async () => {
  const c = await catcher({ sink: { rules: parseRules(['rcpt:*@full.test=452 4.2.2 Mailbox full']) } });
  try {
    const post = (body: string, type = 'application/json') =>
      getJson(`${c.base}/api/v1/rules`, { method: 'POST', headers: { 'content-type': type }, body });
    const s = await greeted(c.smtpPort);
    assert.equal(await say(s, 'MAIL FROM:<a@shop.test>'), '250 2.1.0 Ok');
    assert.equal(await say(s, 'RCPT TO:<ann@full.test>'), '452 4.2.2 Mailbox full');
    let got = await getJson(`${c.base}/api/v1/rules`);
    assert.deepEqual(got.body.rules, [
      {
        rule: 'rcpt:*@full.test=452 4.2.2 Mailbox full',
        stage: 'rcpt',
        pattern: '*@full.test',
        code: 452,
        text: '4.2.2 Mailbox full',
        refused: 1,
      },
    ]);
    got = await post(JSON.stringify({ rules: ['rcpt:*@gone.test=550 5.1.1 No such user'] }));
    assert.equal(got.status, 200);
    assert.deepEqual(
      got.body.rules.map((r: { rule: string }) => r.rule),
      ['rcpt:*@gone.test=550 5.1.1 No such user'],
    );
    // The open session sees the new list at its next command.
    assert.equal(await say(s, 'RCPT TO:<ann@full.test>'), '250 2.1.5 Ok');
    assert.equal(await say(s, 'RCPT TO:<bob@gone.test>'), '550 5.1.1 No such user');
    for (const [body, type, status, why] of [
      ['{"rules": ["rcpt:*=550 no\\r\\nDATA"]}', 'application/json', 400, /no CR, LF or NUL/],
      ['{"rules": ["rcpt:*=354 more"]}', 'application/json', 400, /3xx/],
      ['{"rules": "rcpt:*=550 no"}', 'application/json', 400, /a list of rule strings/],
      ['not json', 'application/json', 400, /not JSON/],
      ['{"rules": []}', 'text/plain', 415, /application\/json/],
      ['rules=x', 'application/x-www-form-urlencoded', 415, /application\/json/],
    ] as const) {
      const r = await post(body, type);
      assert.equal(r.status, status, body);
      assert.match(r.body.error, why);
    }
    assert.deepEqual(
      (await getJson(`${c.base}/api/v1/rules`)).body.rules.map((r: { rule: string }) => r.rule),
      ['rcpt:*@gone.test=550 5.1.1 No such user'],
      'unchanged by the bad posts',
    );
    // The counter of a replaced rule stays (a Prometheus counter never goes down).
    const metrics = await (await fetch(`${c.base}/metrics`)).text();
    assert.match(metrics, /fault="rule",rule="rcpt:\*@full\.test=452 4\.2\.2 Mailbox full"\} 1$/m);
    assert.match(metrics, /fault="rule",rule="rcpt:\*@gone\.test=550 5\.1\.1 No such user"\} 1$/m);
    assert.equal((await post('{"rules": []}')).body.rules.length, 0);
    assert.equal(await say(s, 'RCPT TO:<bob@gone.test>'), '250 2.1.5 Ok');
    s.destroy();
  } finally {
    await c.close();
  }
});

test('--rate-limit: past N messages a client hears 421 4.7.0 at MAIL and is hung up on; another client is not; /metrics counts it', async () => {
  const c = await catcher({ sink: { rateLimit: { count: 2, perMs: 3_600_000, reply: 'mail' } } });
  try {
    await deliver(c.smtpPort, 'one@example.test', message('1'));
    await deliver(c.smtpPort, 'two@example.test', message('2'));
    const s = await greeted(c.smtpPort);
    assert.equal(
      await say(s, 'MAIL FROM:<a@client.test>'),
      '421 4.7.0 sink.localhost Error: too much mail from 127.0.0.1 (--rate-limit 2/h)',
    );
    await s.closed;
    const other = await greeted(c.smtpPort, '127.0.0.2');
    assert.equal(await say(other, 'MAIL FROM:<a@client.test>'), '250 2.1.0 Ok', 'another client has its own count');
    other.destroy();
    assert.match(
      await (await fetch(`${c.base}/metrics`)).text(),
      /^smtpkit_sink_refused_total\{fault="rate-limit"\} 1$/m,
    );
  } finally {
    await c.close();
  }
});

test('--rate-limit-reply rcpt: past the rate MAIL is taken and each RCPT gets 450 4.7.1; the session stays', async () => {
  const c = await catcher({ sink: { rateLimit: { count: 1, perMs: 60_000, reply: 'rcpt' } } });
  try {
    await deliver(c.smtpPort, 'one@example.test', message('1'));
    const s = await greeted(c.smtpPort);
    assert.equal(await say(s, 'MAIL FROM:<a@client.test>'), '250 2.1.0 Ok');
    const refused = '450 4.7.1 <b@example.test>: Error: too much mail from 127.0.0.1 (--rate-limit 1/m)';
    assert.equal(await say(s, 'RCPT TO:<b@example.test>'), refused);
    assert.equal(await say(s, 'RCPT TO:<b@example.test>'), refused);
    assert.equal(await say(s, 'RSET'), '250 2.0.0 Ok');
    assert.equal(await say(s, 'NOOP'), '250 2.0.0 Ok');
    s.destroy();
  } finally {
    await c.close();
  }
});

test('CLI: --rule, --rate-limit and --rate-limit-reply are checked before the sink listens (usage error, exit 2)', async () => {
  for (const [args, why] of [
    [['--rule', 'rcpt:*@x.test'], /--rule: rule "rcpt:\*@x\.test": write it as STAGE:PATTERN=CODE/],
    [['--rule', 'rcpt:*=452 5.2.2 Full'], /--rule: .*enhanced code 5\.2\.2 is of class 5/],
    [['--rate-limit', '10/fortnight'], /--rate-limit: a rate is messages per unit/],
    [['--rate-limit-reply', 'rcpt'], /--rate-limit-reply goes with --rate-limit/],
  ] as const) {
    const r = await runCli(['sink', '--port', '0', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, why);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('CLI: sink --rule and --rate-limit answer on the wire', async () => {
  const sink = await sinkProcess([
    '-q',
    '--rule',
    'rcpt:*@full.test=452 4.2.2 Mailbox full',
    '--rate-limit',
    '1/h',
    '--rate-limit-reply',
    'rcpt',
  ]);
  try {
    const s = await greeted(sink.port);
    assert.equal(await say(s, 'MAIL FROM:<a@client.test>'), '250 2.1.0 Ok');
    assert.equal(await say(s, 'RCPT TO:<a@full.test>'), '452 4.2.2 Mailbox full');
    assert.equal(await say(s, 'RCPT TO:<b@example.test>'), '250 2.1.5 Ok');
    await say(s, 'DATA');
    assert.match(await say(s, 'Subject: x\r\n\r\ny\r\n.'), /^250 /);
    assert.equal(await say(s, 'MAIL FROM:<a@client.test>'), '250 2.1.0 Ok');
    assert.match(await say(s, 'RCPT TO:<b@example.test>'), /^450 4\.7\.1 .*--rate-limit 1\/h/);
    s.destroy();
  } finally {
    assert.equal(await sink.stop(), 0);
  }
});
