import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SmtpkitError } from '../src/errors.js';
import { ReplyParser } from '../src/protocol/reply.js';
import { readMessage } from '../src/sink/mime-read.js';
import { SmtpSession, type SessionOptions } from '../src/session/session.js';
import { rawServer } from './helpers/raw-server.js';

/** mulberry32: a tiny seeded PRNG, so a failure can be replayed from its seed. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.FUZZ_SEED ?? 20261128);
const VALID = [
  '220 mail.test ESMTP\r\n',
  '250-mail.test\r\n250-SIZE 100\r\n250 STARTTLS\r\n',
  '550 5.7.1 no\r\n',
  '221 bye\r\n',
  '354 go\r\n',
  '250 2.1.0 Ok\r\n',
];

function mutate(rand: () => number): Buffer {
  const base = Buffer.from(VALID[Math.floor(rand() * VALID.length)]!.repeat(1 + Math.floor(rand() * 3)));
  const out = [...base];
  const edits = Math.floor(rand() * 6);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rand() * (out.length + 1));
    const kind = rand();
    if (kind < 0.3) out.splice(at, 1);
    else if (kind < 0.6) out.splice(at, 0, Math.floor(rand() * 256));
    else if (kind < 0.8) out[at] = [0x0d, 0x0a, 0x2d, 0x20, 0x30 + Math.floor(rand() * 10)][Math.floor(rand() * 5)]!;
    else out.splice(at, 0, ...Buffer.from(String(Math.floor(rand() * 1000))));
  }
  if (rand() < 0.05) return Buffer.concat([Buffer.from(out), Buffer.alloc(9000, 0x41)]);
  return Buffer.from(out);
}

test(`parser: 20,000 random and mutated inputs raise nothing but our protocol error (seed ${SEED})`, () => {
  const rand = prng(SEED);
  for (let i = 0; i < 20_000; i++) {
    const parser = new ReplyParser();
    const input =
      rand() < 0.2
        ? Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)))
        : mutate(rand);
    try {
      for (let pos = 0; pos < input.length;) {
        const n = 1 + Math.floor(rand() * 16);
        for (const r of parser.push(input.subarray(pos, pos + n))) {
          assert.ok(
            r.code >= 200 && r.code <= 559 && r.lines.length > 0,
            `bad reply from ${JSON.stringify(input.toString('latin1'))}`,
          );
        }
        pos += n;
      }
      parser.end();
    } catch (err) {
      // A stream that opens like a TLS record is told apart as a TLS port (exit 4), not garbage.
      const tlsPort =
        err instanceof SmtpkitError && err.hint?.kind === 'speaks-tls' && input[0]! >= 0x15 && input[0]! <= 0x16;
      if (!(err instanceof SmtpkitError && (err.errorClass === 'protocol' || tlsPort))) {
        throw new Error(`input ${i} (seed ${SEED}) ${JSON.stringify(input.toString('latin1'))} raised ${String(err)}`);
      }
    }
  }
});

test(`session: 150 servers sending mutated replies; every session ends in time with our own error or success (seed ${SEED})`, async () => {
  const rand = prng(SEED + 1);
  const scripts = Array.from({ length: 150 }, () => Array.from({ length: 4 }, () => mutate(rand)));
  const server = await rawServer((socket, index) => {
    const script = scripts[index] ?? [];
    let step = 0;
    const next = () => {
      const chunk = script[step++];
      if (chunk && !socket.destroyed) socket.write(chunk);
      else if (rand() < 0.5) socket.end();
    };
    next();
    socket.on('data', next);
  });
  const options: SessionOptions = {
    host: '127.0.0.1',
    port: server.port,
    family: undefined,
    localAddress: undefined,
    tlsOnConnect: false,
    ehloName: 'fuzz.test',
    timeouts: { connect: 1000, greeting: 300, command: 300, tls: 300 },
    tls: {
      sni: undefined,
      ca: undefined,
      minVersion: undefined,
      maxVersion: undefined,
      cert: undefined,
      key: undefined,
      verify: false,
    },
    raw: false,
  };
  try {
    for (let i = 0; i < scripts.length; i++) {
      const session = new SmtpSession(options, () => {});
      const started = Date.now();
      try {
        await session.connect();
        await session.ehlo();
        await session.starttls();
      } catch (err) {
        if (!(err instanceof SmtpkitError)) throw new Error(`session ${i} (seed ${SEED}) raised ${String(err)}`);
      } finally {
        await session.quit();
      }
      assert.ok(Date.now() - started < 3000, `session ${i} took ${Date.now() - started} ms`);
    }
  } finally {
    await server.close();
  }
});

const MIME_SAMPLE = [
  'Subject: =?utf-8?Q?caf=C3=A9?= =?iso-8859-1?B?6Q==?=',
  'Content-Type: multipart/mixed; boundary="o"',
  '',
  '--o',
  'Content-Type: multipart/alternative; boundary=i',
  '',
  '--i',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'a=C3=A9 soft=',
  'b',
  '--i',
  'Content-Type: text/html',
  'Content-Transfer-Encoding: base64',
  '',
  'PHA+aGk8L3A+',
  '--i--',
  '--o',
  "Content-Disposition: attachment; filename*0*=utf-8''a%20; filename*1=b.txt",
  '',
  'x',
  '--o--',
  '',
].join('\r\n');

test(`MIME reader: 5,000 mutated messages are read without an exception (seed ${SEED})`, () => {
  const rand = prng(SEED);
  const base = [...Buffer.from(MIME_SAMPLE)];
  const specials = [...Buffer.from('\r\n-=?;"*%:')];
  for (let i = 0; i < 5000; i++) {
    const out = [...base];
    for (let e = Math.floor(rand() * 12); e > 0; e--) {
      const at = Math.floor(rand() * (out.length + 1));
      const kind = rand();
      if (kind < 0.3) out.splice(at, 1 + Math.floor(rand() * 8));
      else if (kind < 0.6) out.splice(at, 0, Math.floor(rand() * 256));
      else out.splice(at, 0, specials[Math.floor(rand() * specials.length)]!);
    }
    const raw = Buffer.from(out);
    try {
      const m = readMessage(raw);
      assert.ok(Array.isArray(m.headers) && Array.isArray(m.attachments));
    } catch (err) {
      assert.fail(`input ${i} (${JSON.stringify(raw.toString('latin1'))}) threw ${(err as Error).stack}`);
    }
  }
});
