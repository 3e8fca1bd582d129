import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SmtpkitError, type FailureKind, type ErrorClass } from '../src/errors.js';
import type { Reply } from '../src/protocol/reply.js';
import type { SmtpEvent } from '../src/session/events.js';
import { faults, harness, type Script } from './helpers/fault-server.js';
import { MAX_IDLE_REPLIES, type SessionOptions } from '../src/session/session.js';
import { login, type AuthPlan } from '../src/flows/establish.js';

/**
 * SmtpSession in-process against scripted servers with one named fault each; assertions
 * are on typed results (class, kind, phase, reply), not on English.
 */
function failsWith(errorClass: ErrorClass, kind?: FailureKind, check: (e: SmtpkitError) => void = () => {}) {
  return (e: unknown) => {
    assert.ok(e instanceof SmtpkitError, `not a SmtpkitError: ${String(e)}`);
    assert.equal(e.errorClass, errorClass, e.message);
    if (kind) assert.equal(e.kind, kind, e.message);
    check(e);
    return true;
  };
}

async function withSession(
  script: Script,
  fn: (h: Awaited<ReturnType<typeof harness>>) => Promise<void>,
  options: Partial<SessionOptions> = {},
) {
  const h = await harness(script, options);
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

const message = (size = 64) =>
  (async function* () {
    yield Buffer.from(`Subject: t\r\n\r\n${'x'.repeat(size)}\r\n.\r\n`);
  })();

test('unsolicited reply after the greeting: protocol error naming it, never handed to EHLO', async () => {
  await withSession(faults.unsolicitedAfterGreeting(), async ({ session, events }) => {
    await session.connect();
    await assert.rejects(
      session.ehlo(),
      failsWith('protocol', 'unsolicited', (e) => assert.equal(e.reply?.code, 250)),
    );
    assert.ok(!events.some((e) => e.type === 'reply' && e.command === 'EHLO'), 'no reply was given to EHLO');
    assert.ok(
      events.some((e) => e.type === 'reply' && e.command === 'UNSOLICITED'),
      'the stray reply is in the transcript',
    );
  });
});

test('354 and "250 queued" in one write, 554 after the dot: never success', async () => {
  await withSession(faults.earlyQueuedReply(), async ({ session }) => {
    await session.connect();
    await session.ehlo();
    await session.command('MAIL FROM:<a@client.test>');
    await session.command('RCPT TO:<b@fake.test>');
    const result = session.command('DATA').then(async (r) => {
      assert.equal(r.code, 354);
      return session.sendMessage(message(), '.');
    });
    await assert.rejects(
      result,
      failsWith('protocol', 'unsolicited', (e) => assert.match(e.reply?.lines[0] ?? '', /queued as EARLY/)),
    );
  });
});

test('a stray reply in the same write as the awaited ones is in the transcript after them, in wire order', async () => {
  const order = (events: SmtpEvent[]) =>
    events.flatMap((e) => (e.type === 'reply' ? [`${e.command} ${e.reply.lines[0]}`] : []));
  // The greeting and a stray 250 in one write: the greeting first.
  await withSession(faults.unsolicitedAfterGreeting(), async ({ session, events }) => {
    await session.connect();
    await assert.rejects(session.ehlo());
    assert.deepEqual(order(events), ['CONNECT fake.test ESMTP', 'UNSOLICITED surprise']);
  });
  // Two pipelined replies and a stray in one write: the second reply was not read yet when the stray came.
  await withSession(faults.strayAfterPipelinedBatch(), async ({ session, events }) => {
    await session.connect();
    await session.ehlo();
    const batch = session
      .pipeline([{ line: 'MAIL FROM:<a@client.test>' }, { line: 'RCPT TO:<b@fake.test>' }])
      .then(() => session.command('DATA'));
    await assert.rejects(
      batch,
      failsWith('protocol', 'unsolicited', (e) => assert.match(e.reply?.lines[0] ?? '', /stray/)),
    );
    assert.deepEqual(order(events).slice(2), ['MAIL 2.1.0 sender ok', 'RCPT 2.1.5 rcpt ok', 'UNSOLICITED 2.0.0 stray']);
  });
});

test('one reply too many to a pipelined batch: protocol error, not "refused DATA: 250"', async () => {
  await withSession(faults.extraPipelinedReply(), async ({ session }) => {
    await session.connect();
    await session.ehlo();
    const batch = session
      .pipeline([{ line: 'MAIL FROM:<a@client.test>' }, { line: 'RCPT TO:<b@fake.test>' }])
      .then(() => session.command('DATA'));
    await assert.rejects(
      batch,
      failsWith('protocol', 'unsolicited', (e) => assert.match(e.reply?.lines[0] ?? '', /ok again/)),
    );
  });
});

test('too few replies to a pipelined batch: protocol error after the command timeout, naming how many are missing', async () => {
  await withSession(faults.missingPipelinedReply('c@fake.test'), async ({ session }) => {
    await session.connect();
    await session.ehlo();
    const batch = session.pipeline(
      [{ line: 'MAIL FROM:<a@client.test>' }, { line: 'RCPT TO:<b@fake.test>' }, { line: 'RCPT TO:<c@fake.test>' }],
      'envelope',
    );
    await assert.rejects(
      batch,
      failsWith('protocol', 'missing-replies', (e) => {
        assert.equal(e.phase, 'envelope');
        assert.match(e.message, /2 of 3 pipelined commands/);
        assert.match(e.message, /1 reply missing \(RCPT\)/);
        assert.deepEqual(e.hint, { kind: 'timeout', wait: 'command' });
      }),
    );
  });
});

test('421 unasked: reported as the server closing, with its reply', async () => {
  await withSession(faults.unsolicited421AfterEhlo(), async ({ session }) => {
    await session.connect();
    await session.ehlo();
    await new Promise((r) => setTimeout(r, 150));
    await assert.rejects(
      session.command('NOOP'),
      failsWith('protocol', 'closing', (e) => assert.equal(e.reply?.code, 421)),
    );
  });
});

test('an interactive session (watchIdle) still shows a reply between commands instead of failing', async () => {
  await withSession(faults.unsolicited421AfterEhlo(), async ({ session }) => {
    const seen: Reply[] = [];
    session.watchIdle((e) => e.kind === 'reply' && seen.push(e.reply));
    await session.connect();
    await session.ehlo();
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(
      seen.map((r) => r.code),
      [421],
    );
  });
});

test('garbage after the 220 to STARTTLS: discarded unread, the failure is TLS (exit 6) in phase tls', async () => {
  await withSession(faults.garbageAfterStartTls(), async ({ session, events }) => {
    await session.connect();
    await session.ehlo();
    await assert.rejects(
      session.starttls(),
      failsWith('tls', undefined, (e) => assert.equal(e.phase, 'tls')),
    );
    assert.ok(events.some((e) => e.type === 'warning' && /discarded unread/.test(e.message)));
    assert.ok(
      !events.some((e) => e.type === 'reply' && e.command === 'UNSOLICITED'),
      'the plaintext was never parsed as a reply',
    );
  });
});

test('a handshake that stalls: TLS error in phase tls after the TLS timeout', async () => {
  await withSession(faults.handshakeStall(), async ({ session }) => {
    await session.connect();
    await session.ehlo();
    await assert.rejects(
      session.starttls(),
      failsWith('tls', 'timeout', (e) => {
        assert.equal(e.phase, 'tls');
        assert.deepEqual(e.hint, { kind: 'timeout', wait: 'tls' });
      }),
    );
  });
});

test('a TLS 1.0-only server: without --tls-min a TLS error naming the versions; with TLSv1 it is reached', async () => {
  await withSession(faults.tls10Only(), async ({ session }) => {
    await session.connect();
    await session.ehlo();
    await assert.rejects(
      session.starttls(),
      failsWith('tls', undefined, (e) => {
        assert.equal(e.phase, 'tls');
        assert.deepEqual(e.hint, { kind: 'tls-old-version' });
        assert.match(e.message, /TLS 1\.2 to 1\.3/);
      }),
    );
  });
  const tls = {
    sni: undefined,
    ca: undefined,
    minVersion: 'TLSv1',
    maxVersion: undefined,
    cert: undefined,
    key: undefined,
    verify: false,
  } as const;
  await withSession(
    faults.tls10Only(),
    async ({ session }) => {
      await session.connect();
      await session.ehlo();
      const facts = await session.starttls();
      assert.equal(facts.protocol, 'TLSv1');
    },
    { tls },
  );
});

const plan = (mechanism: AuthPlan['mechanism'], secret = 'pencil'): AuthPlan => ({
  user: 'user',
  secret: async () => secret,
  mechanism,
  allowPlaintext: true,
  showSecrets: false,
  loginInitial: false,
});
const b64 = (s: string) => Buffer.from(s).toString('base64');

test('LOGIN asked a third question ("Token:"): answered with "*", exit 7, the password sent once only', async () => {
  await withSession(faults.loginThirdQuestion(), async ({ session, server }) => {
    await session.connect();
    await session.ehlo();
    await assert.rejects(
      login(session, plan('LOGIN')),
      failsWith('auth', undefined, (e) => assert.equal(e.phase, 'auth')),
    );
    const lines = server.received.join('').split('\r\n');
    assert.equal(lines.filter((l) => l === b64('pencil')).length, 1, lines.join(' | '));
    assert.ok(lines.includes('*'), 'the exchange was cancelled');
  });
});

test('CRAM-MD5 with an empty challenge: cancelled, exit 7, no digest sent', async () => {
  await withSession(faults.cramEmptyChallenge(), async ({ session, server }) => {
    await session.connect();
    await session.ehlo();
    await assert.rejects(login(session, plan('CRAM-MD5')), failsWith('auth'));
    const lines = server.received.join('').split('\r\n');
    assert.deepEqual(lines.slice(lines.indexOf('AUTH CRAM-MD5'), lines.indexOf('AUTH CRAM-MD5') + 2), [
      'AUTH CRAM-MD5',
      '*',
    ]);
  });
});

test('SCRAM with 10,000,000 iterations: refused with exit 7 before any work, the exchange cancelled', async () => {
  await withSession(faults.scramHugeIterations(), async ({ session, server }) => {
    await session.connect();
    await session.ehlo();
    await assert.rejects(
      login(session, plan('SCRAM-SHA-256')),
      failsWith('auth', undefined, (e) => assert.match(e.message, /600000/)),
    );
    assert.ok(server.received.join('').includes('\r\n*\r\n'));
  });
});

test('SCRAM within the cap but slower than the command timeout: exit 7 on time, the event loop never blocked', async () => {
  await withSession(faults.scramHugeIterations(600_000), async ({ session }) => {
    await session.connect();
    await session.ehlo();
    // 600,000 rounds of SHA-256 take hundreds of ms; the command timeout is far shorter.
    session.options.timeouts.command = 50;
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    try {
      await assert.rejects(login(session, plan('SCRAM-SHA-256')), failsWith('auth', 'timeout'));
    } finally {
      clearInterval(ticker);
    }
    assert.ok(ticks > 0, 'timers ran while PBKDF2 worked');
  });
});

test('a 334 that is not base64: exit 7, cancelled', async () => {
  await withSession(faults.nonBase64Challenge(), async ({ session, server }) => {
    await session.connect();
    await session.ehlo();
    await assert.rejects(
      login(session, plan('LOGIN')),
      failsWith('auth', undefined, (e) => assert.match(e.message, /not base64/)),
    );
    assert.ok(server.received.join('').includes('\r\n*\r\n'));
  });
});

test('a greeting that keeps coming: the greeting timeout still ends the wait, with its hint', async () => {
  await withSession(
    faults.endlessGreeting(),
    async ({ session }) => {
      await assert.rejects(
        session.connect(),
        failsWith('connect', 'timeout', (e) => assert.deepEqual(e.hint, { kind: 'timeout', wait: 'greeting' })),
      );
    },
    { timeouts: { connect: 2000, greeting: 300, command: 1000, tls: 1000 } },
  );
});

test('a 552 in the middle of the message, then a close: the certain outcome (refused, exit 8), not "connection closed"', async () => {
  await withSession(faults.refuseMidMessage(), async ({ session }) => {
    await session.connect();
    await session.ehlo();
    await session.command('MAIL FROM:<a@client.test>');
    await session.command('RCPT TO:<b@fake.test>');
    assert.equal((await session.command('DATA')).code, 354);
    const big = (async function* () {
      for (let i = 0; i < 64; i++) yield Buffer.alloc(256 * 1024, 0x61);
      yield Buffer.from('\r\n.\r\n');
    })();
    await assert.rejects(
      session.sendMessage(big, '.'),
      failsWith('rejected', 'refused', (e) => assert.equal(e.reply?.code, 552)),
    );
  });
});

test('an interactive session flooded between commands: a few replies are shown, then the session ends (bounded)', async () => {
  await withSession(
    { onConnect: (ctx) => setTimeout(() => ctx.write('250 flood\r\n'.repeat(5000)), 100) },
    async ({ session, events }) => {
      const closed: unknown[] = [];
      session.watchIdle((e) => e.kind === 'closed' && closed.push(e.error));
      await session.connect();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(closed.length, 1);
      assert.ok(closed[0] instanceof SmtpkitError && closed[0].kind === 'unsolicited');
      assert.ok(events.filter((e) => e.type === 'reply' && e.command === 'UNSOLICITED').length <= MAX_IDLE_REPLIES + 1);
    },
  );
});
