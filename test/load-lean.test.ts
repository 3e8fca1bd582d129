import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { scripted, type Script } from './helpers/fault-server.js';
import { eachLine, rawServer } from './helpers/raw-server.js';

/**
 * Load mode's lean executor (src/load/lean.ts) against its reference, the full session road
 * (SMTPKIT_LOAD_LEAN=0): the same bytes on the wire, the same verdicts. What tells the lean
 * road from the other is how it writes: RSET goes in one write with the next MAIL, RCPT and
 * DATA (the session sends RSET on its own and waits for its reply).
 */

const EXTENSIONS = ['PIPELINING', 'SIZE 100000000', '8BITMIME', 'DSN'];

/** A scripted server that also notes, per connection, whether each RSET came in one write with a MAIL. */
async function server(script: Script = {}) {
  const rsetWithMail: boolean[] = [];
  const srv = await rawServer((socket) => {
    eachLine(socket, (line, ahead) => {
      if (line === 'RSET') rsetWithMail.push(ahead.startsWith('MAIL FROM:'));
    });
    scripted({ extensions: EXTENSIONS, ...script })(socket);
  });
  return { ...srv, rsetWithMail };
}

const load = (port: number, extra: string[], lean = true) =>
  runCli(
    [
      'send',
      `127.0.0.1:${port}`,
      '--from',
      'a@client.test',
      '--to',
      'b@example.test',
      '--to',
      'c@example.test',
      '--body',
      'Grüße\n.leading dot\n',
      '--subject',
      'lean',
      '--timeout',
      '3',
      ...extra,
    ],
    { env: { SMTPKIT_LOAD_THREADS: '1', ...(lean ? {} : { SMTPKIT_LOAD_LEAN: '0' }) } },
  );

/** What a connection received, the headers that differ per run (Date, Message-ID) blanked. */
const wire = (texts: string[]) =>
  texts.map((t) => t.replace(/^Date: .*$/gm, 'Date: -').replace(/^Message-ID: .*$/gim, 'Message-ID: -')).sort();

test('load mode: the lean road puts the same commands and message data on the wire as the full session', async () => {
  const args = ['--count', '6', '--concurrency', '2', '--per-connection', '3', '--dsn-notify', 'FAILURE', '--json'];
  const lean = await server();
  const full = await server();
  try {
    const a = await load(lean.port, args);
    const b = await load(full.port, args, false);
    assert.equal(a.code, 0, a.stdout + a.stderr);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    assert.equal(JSON.parse(a.stdout).result.accepted, 6);
    assert.deepEqual(wire(lean.received), wire(full.received));
    // The same bytes, and really from the lean road: it pipelines RSET with the next envelope.
    assert.match(lean.received[0]!, /^EHLO .*\r\nMAIL FROM:<a@client\.test> SIZE=\d+ BODY=8BITMIME\r\n/);
    assert.match(lean.received[0]!, /^RCPT TO:<c@example\.test> NOTIFY=FAILURE ORCPT=rfc822;c@example\.test\r$/m);
    assert.match(lean.received[0]!, /\r\n\.\.leading dot\r\n\.\r\nQUIT\r\n$/);
    assert.deepEqual(lean.rsetWithMail, [true, true, true, true]);
    assert.deepEqual(full.rsetWithMail, [false, false, false, false]);
  } finally {
    await lean.close();
    await full.close();
  }
});

test('load mode: a reply the plan did not expect is handed to the full session, which explains it (exit 5)', async () => {
  // The second message's DATA gets a 250 instead of 354: a broken protocol, mid-plan.
  const script = (): Script => {
    let data = 0;
    return { answer: (line) => (line === 'DATA' && ++data === 2 ? '250 2.0.0 ok, I guess\r\n' : undefined) };
  };
  const args = ['--count', '4', '--concurrency', '1', '--per-connection', '4'];
  const lean = await server(script());
  const full = await server(script());
  try {
    const a = await load(lean.port, [...args, '--json']);
    const b = await load(full.port, [...args, '--json'], false);
    assert.equal(a.code, 5, a.stdout + a.stderr);
    assert.equal(b.code, 5, b.stdout + b.stderr);
    const ra = JSON.parse(a.stdout).result;
    const rb = JSON.parse(b.stdout).result;
    // The same verdict, figure for figure: one message failed, the connection given up, the rest sent on new ones.
    assert.deepEqual([ra.sent, ra.accepted, ra.failed, ra.errors], [rb.sent, rb.accepted, rb.failed, rb.errors]);
    assert.deepEqual([ra.accepted, ra.failed], [3, 1]);
    assert.equal(ra.errors[0].key, 'protocol:data:250');
    assert.ok(ra.errors[0].explanation, JSON.stringify(ra.errors[0]));
    assert.equal(lean.rsetWithMail[0], true, 'the lean road had sent the second envelope');
    // The transcript names the reply and explains it.
    const again = await server(script());
    const text = await load(again.port, args).finally(() => again.close());
    assert.equal(text.code, 5, text.stdout + text.stderr);
    assert.match(text.stdout, /!!! 1 × 250 to \.: 2\.0\.0 ok, I guess\n {4}# \S/);
  } finally {
    await lean.close();
    await full.close();
  }
});

test('load mode: refused recipients mid-plan fail that message only; the connection goes on (exit 8)', async () => {
  const script = (): Script => {
    let rcpt = 0;
    let data = 0;
    // The second message's two recipients, and so its DATA.
    return {
      answer: (line) =>
        line.startsWith('RCPT') && [3, 4].includes(++rcpt)
          ? '550 5.1.1 no such user\r\n'
          : line === 'DATA' && ++data === 2
            ? '554 5.5.1 no valid recipients\r\n'
            : undefined,
    };
  };
  const args = ['--count', '3', '--concurrency', '1', '--per-connection', '3', '--json'];
  const lean = await server(script());
  const full = await server(script());
  try {
    const a = await load(lean.port, args);
    const b = await load(full.port, args, false);
    assert.equal(a.code, 8, a.stdout + a.stderr);
    const ra = JSON.parse(a.stdout).result;
    const rb = JSON.parse(b.stdout).result;
    assert.deepEqual([ra.accepted, ra.failed, ra.errors], [rb.accepted, rb.failed, rb.errors]);
    assert.deepEqual([ra.accepted, ra.failed], [2, 1]);
    assert.equal(lean.received.length, 1, 'one connection for all three');
    assert.deepEqual(wire(lean.received), wire(full.received));
    assert.equal(lean.rsetWithMail[0], true);
  } finally {
    await lean.close();
    await full.close();
  }
});

test('load mode: replies that arrive one byte at a time (multi-line EHLO included) are put together', async () => {
  const srv = await server({ dribble: true });
  try {
    const r = await load(srv.port, ['--count', '4', '--concurrency', '2', '--per-connection', '2', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual([JSON.parse(r.stdout).result.accepted, JSON.parse(r.stdout).result.failed], [4, 0]);
    assert.deepEqual(srv.rsetWithMail, [true, true]);
  } finally {
    await srv.close();
  }
});

test('load mode: a server that stops answering hits the connection deadline, told as the session tells it', async () => {
  // The first message goes through; the second gets a reply to RSET, then nothing.
  const script = (): Script => {
    let mail = 0;
    return {
      answer: (line) => {
        if (line.startsWith('MAIL')) mail++;
        return mail >= 2 ? '' : undefined;
      },
    };
  };
  const args = ['--count', '2', '--concurrency', '1', '--per-connection', '2', '--timeout', '1', '--json'];
  const lean = await server(script());
  const full = await server(script());
  try {
    const a = await load(lean.port, args);
    const b = await load(full.port, args, false);
    assert.equal(a.code, 5, a.stdout + a.stderr);
    const ra = JSON.parse(a.stdout).result;
    const rb = JSON.parse(b.stdout).result;
    assert.deepEqual([ra.accepted, ra.failed, ra.errors], [rb.accepted, rb.failed, rb.errors]);
    assert.equal(ra.errors[0].key, 'protocol:envelope:missing-replies');
    assert.match(
      ra.errors[0].example,
      /answered 0 of 4 pipelined commands and nothing more within 1 ?s: 4 replies missing \(MAIL, RCPT, RCPT, DATA\)/,
    );
    // One deadline: about a second, not one per command still owed.
    assert.ok(ra.seconds < 2.5, String(ra.seconds));
    assert.deepEqual(lean.rsetWithMail, [true]);
  } finally {
    await lean.close();
    await full.close();
  }
  // Silent from the start: the greeting deadline.
  const mute = await rawServer(() => {});
  try {
    const r = await load(mute.port, ['--count', '2', '--concurrency', '2', '--timeout', '1', '--json']);
    assert.equal(r.code, 4, r.stdout + r.stderr);
    const { errors, failed } = JSON.parse(r.stdout).result;
    assert.equal(failed, 2);
    assert.equal(errors[0].key, 'connect:banner:timeout');
    assert.match(errors[0].example, /sent no greeting within 1 ?s/);
  } finally {
    await mute.close();
  }
});

test('load mode: replies the lean counter cannot vouch for are judged by the full parser, as on the session road', async () => {
  // Each fault hits the second message's RCPT, mid-plan; the verdict must be the session's own.
  const faults: Record<string, string> = {
    'codes disagree': '250-first line\r\n251 second line\r\n',
    'not a reply': 'hello there\r\n',
    'a code out of range': '260 2.0.0 odd\r\n',
    'a line too long': `250 ${'x'.repeat(9000)}\r\n`,
  };
  for (const [name, reply] of Object.entries(faults)) {
    const script = (): Script => {
      let rcpt = 0;
      return { answer: (line) => (line.startsWith('RCPT') && ++rcpt === 3 ? reply : undefined) };
    };
    const args = ['--count', '2', '--concurrency', '1', '--per-connection', '2', '--json'];
    const lean = await server(script());
    const full = await server(script());
    try {
      const a = await load(lean.port, args);
      const b = await load(full.port, args, false);
      assert.equal(a.code, 5, `${name}: ${a.stdout}${a.stderr}`);
      const ra = JSON.parse(a.stdout).result;
      const rb = JSON.parse(b.stdout).result;
      assert.deepEqual([ra.accepted, ra.failed, ra.errors], [rb.accepted, rb.failed, rb.errors], name);
      assert.deepEqual([ra.accepted, ra.failed], [1, 1], name);
      assert.deepEqual(lean.rsetWithMail, [true], name);
    } finally {
      await lean.close();
      await full.close();
    }
  }
});
