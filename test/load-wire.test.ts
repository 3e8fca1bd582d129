import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { eachLine, lineServer, rawServer } from './helpers/raw-server.js';

/**
 * A server that notes whether QUIT came in the same write as the end of a message. With
 * `hold` it answers the dot only once QUIT is in too: a client that waits for the 250 before
 * sending QUIT never gets it. `pipelining` decides whether EHLO offers PIPELINING (without
 * it a client may not send QUIT before the 250 is in).
 */
async function quitWatcher(pipelining: boolean, hold = pipelining) {
  type Seen = { quitWithDot: boolean; closedBy: 'reset' | 'fin' | undefined };
  const seen: Seen[] = [];
  const server = await rawServer((s, index) => {
    const mine: Seen = (seen[index] = { quitWithDot: false, closedBy: undefined });
    s.write('220 quit.test ESMTP\r\n');
    let inData = false;
    let dotAnswered = false;
    s.on('error', (e: NodeJS.ErrnoException) => (mine.closedBy ??= e.code === 'ECONNRESET' ? 'reset' : undefined));
    s.on('end', () => (mine.closedBy ??= 'fin'));
    eachLine(s, (line, ahead) => {
      if (inData) {
        if (line !== '.') return;
        inData = false;
        if (ahead.startsWith('QUIT\r\n')) {
          mine.quitWithDot = true;
          dotAnswered = true;
          s.write('250 2.0.0 queued as Q1\r\n');
        } else if (!hold) {
          dotAnswered = true;
          s.write('250 2.0.0 queued as Q1\r\n');
        }
        return;
      }
      const verb = line.split(' ')[0]!.toUpperCase();
      if (verb === 'RSET' || verb === 'MAIL') dotAnswered = false;
      if (verb === 'EHLO') s.write(`250-quit.test\r\n${pipelining ? '250-PIPELINING\r\n' : ''}250 8BITMIME\r\n`);
      else if (verb === 'DATA') {
        inData = true;
        s.write('354 go on\r\n');
      } else if (verb === 'QUIT') {
        // Held answers go first; the connection stays open to see how the client leaves.
        if (!dotAnswered) s.write('250 2.0.0 queued as Q1\r\n');
        s.write('221 2.0.0 bye\r\n');
      } else s.write('250 2.0.0 ok\r\n');
    });
  });
  return { server, seen };
}

test('load mode sends QUIT with the last message when PIPELINING is offered, and leaves with a reset (no TIME_WAIT pile-up)', async () => {
  const { server, seen } = await quitWatcher(true);
  try {
    const r = await runCli(
      [
        'send',
        `127.0.0.1:${server.port}`,
        '--from',
        'a@client.test',
        '--to',
        'b@example.test',
        '--count',
        '4',
        '--concurrency',
        '2',
        '--timeout',
        '3',
        '--json',
      ],
      { env: { SMTPKIT_LOAD_THREADS: '1' } },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual([JSON.parse(r.stdout).result.accepted, JSON.parse(r.stdout).result.failed], [4, 0]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(seen.length, 4);
    for (const s of seen) assert.deepEqual(s, { quitWithDot: true, closedBy: 'reset' });
  } finally {
    await server.close();
  }
  // Several messages per connection: RSET between them, QUIT only with the last.
  const many = await quitWatcher(true, false);
  try {
    const r = await runCli(
      [
        'send',
        `127.0.0.1:${many.server.port}`,
        '--from',
        'a@client.test',
        '--to',
        'b@example.test',
        '--count',
        '6',
        '--concurrency',
        '2',
        '--per-connection',
        '3',
        '--timeout',
        '3',
        '--json',
      ],
      { env: { SMTPKIT_LOAD_THREADS: '1' } },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(many.seen.length, 2);
    for (const text of many.server.received) {
      assert.equal(text.match(/^QUIT\r$/gm)?.length, 1, text);
      assert.equal(text.match(/^RSET\r$/gm)?.length, 2, text);
      assert.match(text, /\r\n\.\r\nQUIT\r\n$/);
    }
  } finally {
    await many.server.close();
  }
});

test('without PIPELINING load mode waits for the 250 before QUIT', async () => {
  const { server, seen } = await quitWatcher(false);
  try {
    const r = await runCli(
      [
        'send',
        `127.0.0.1:${server.port}`,
        '--from',
        'a@client.test',
        '--to',
        'b@example.test',
        '--count',
        '3',
        '--concurrency',
        '1',
        '--timeout',
        '3',
        '--json',
      ],
      { env: { SMTPKIT_LOAD_THREADS: '1' } },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(JSON.parse(r.stdout).result.accepted, 3);
    assert.equal(seen.length, 3);
    for (const s of seen) assert.equal(s.quitWithDot, false);
  } finally {
    await server.close();
  }
});

test('a single send still ends with QUIT after the 250 and a normal close, never a reset', async () => {
  const { server, seen } = await quitWatcher(true, false);
  try {
    const r = await runCli([
      'send',
      `127.0.0.1:${server.port}`,
      '--from',
      'a@client.test',
      '--to',
      'b@example.test',
      '--timeout',
      '3',
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(seen, [{ quitWithDot: false, closedBy: 'fin' }]);
  } finally {
    await server.close();
  }
});

test('load mode: the data latency ends at the reply to the dot, not at the 221 to the QUIT that rode with it', async () => {
  // The dot is answered at once; the QUIT only by closing, 3 s later, with no 221. The
  // message was accepted when its 250 came: its figures must not wait for the goodbye.
  const server = await rawServer((s) => {
    s.write('220 slowbye.test ESMTP\r\n');
    let inData = false;
    lineServer(s, (line) => {
      if (inData) {
        if (line !== '.') return '';
        inData = false;
        return '250 2.0.0 queued as Q1\r\n';
      }
      const verb = line.split(' ')[0]!.toUpperCase();
      if (verb === 'EHLO') return '250-slowbye.test\r\n250 PIPELINING\r\n';
      if (verb === 'DATA') {
        inData = true;
        return '354 go on\r\n';
      }
      if (verb === 'QUIT') {
        setTimeout(() => s.destroy(), 3000);
        return '';
      }
      return '250 2.0.0 ok\r\n';
    });
  });
  try {
    const r = await runCli(
      [
        'send',
        `127.0.0.1:${server.port}`,
        '--from',
        'a@client.test',
        '--to',
        'b@example.test',
        '--count',
        '2',
        '--concurrency',
        '2',
        '--timeout',
        '10',
        '--json',
      ],
      { env: { SMTPKIT_LOAD_THREADS: '1' } },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const { accepted, latencyMs } = JSON.parse(r.stdout).result;
    assert.equal(accepted, 2);
    assert.ok(
      server.received.every((t) => /\r\n\.\r\nQUIT\r\n$/.test(t)),
      'QUIT rode with the dot',
    );
    // Not a speed check: 3000 ms here is the server's silence after QUIT, not the message.
    assert.ok(latencyMs.data.max < 2000 && latencyMs.message.max < 2000, JSON.stringify(latencyMs));
  } finally {
    await server.close();
  }
});
