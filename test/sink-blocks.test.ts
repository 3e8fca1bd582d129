import assert from 'node:assert/strict';
import { test } from 'node:test';
import { envelope, rawClient } from './helpers/abusive-clients.js';
import { catcher } from './helpers/catcher.js';

/**
 * A kept message arrives into blocks of 16 KiB, 32, 64 ... 1 MiB (src/sink/spool.ts) and is
 * joined once at its end. These messages end at, one byte before and one byte after each
 * block's end, with dot-stuffed lines, bare CR and LF, and the end of data cut across TCP
 * reads; /raw must give back exactly what was sent, less the stuffing.
 */
const BLOCK_ENDS = [16, 48, 112, 240, 496, 1008, 2032].map((k) => k * 1024);

/** A message of exactly `size` bytes, ending in CRLF, with dots at line starts and bare CR/LF. */
function messageOf(size: number, seed: number): Buffer {
  const head = Buffer.from(`Subject: blocks ${size}\r\n\r\n`);
  const out = Buffer.alloc(size, 0x78);
  head.copy(out);
  let at = head.length;
  let r = seed;
  const next = () => (r = (Math.imul(r, 1103515245) + 12345) >>> 0);
  while (at < size - 2) {
    const n = next() % 90;
    if (n % 7 === 0) out[at] = 0x2e; // a line starting with a dot
    if (n % 11 === 0 && at + 3 < size - 2) out[at + 2] = 0x0d; // bare CR
    if (n % 13 === 0 && at + 4 < size - 2) out[at + 3] = 0x0a; // bare LF
    at += n + 2;
    if (at < size - 2) {
      out[at - 2] = 0x0d;
      out[at - 1] = 0x0a;
    }
  }
  out[size - 2] = 0x0d;
  out[size - 1] = 0x0a;
  return out;
}

/** The message as DATA puts it on the wire: a dot doubled at each line start, then CRLF "." CRLF. */
function stuffed(m: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  if (m[0] === 0x2e) parts.push(Buffer.from('.'));
  for (let i = m.indexOf('\r\n.'); i >= 0; i = m.indexOf('\r\n.', i + 1)) {
    parts.push(m.subarray(from, i + 2), Buffer.from('.'));
    from = i + 2;
  }
  parts.push(m.subarray(from), Buffer.from('.\r\n'));
  return Buffer.concat(parts);
}

const pause = () => new Promise((r) => setTimeout(r, 5));

async function viaData(port: number, wire: Buffer, cuts: number[]): Promise<string> {
  const c = await rawClient(port);
  c.socket.setNoDelay(true);
  try {
    await envelope(c);
    await c.send('DATA\r\n');
    await c.waitFor(/^354 /m);
    let from = 0;
    for (const cut of [...cuts.filter((x) => x > 0 && x < wire.length), wire.length]) {
      await c.send(wire.subarray(from, cut));
      await pause();
      from = cut;
    }
    return /^(250 2\.0\.0 .*|5\d\d .*)\r\n/m.exec(await c.waitFor(/^(250 2\.0\.0|5\d\d )/m))![1]!;
  } finally {
    c.destroy();
  }
}

async function viaBdat(port: number, m: Buffer, chunk: number): Promise<string> {
  const c = await rawClient(port);
  try {
    await envelope(c);
    for (let i = 0; i < 4; i++) await c.nextReply(); // the greeting, EHLO, MAIL, RCPT
    for (let at = 0; at < m.length || at === 0; at += chunk) {
      const piece = m.subarray(at, at + chunk);
      const last = at + chunk >= m.length;
      await c.send(Buffer.concat([Buffer.from(`BDAT ${piece.length}${last ? ' LAST' : ''}\r\n`), piece]));
      const reply = await c.nextReply();
      if (last || !reply.startsWith('250')) return reply.trim();
    }
    throw new Error('unreachable');
  } finally {
    c.destroy();
  }
}

async function raw(base: string, reply: string): Promise<Buffer> {
  const id = /queued as ([0-9A-F]+)/.exec(reply)?.[1];
  assert.ok(id, reply);
  return Buffer.from(await (await fetch(`${base}/api/v1/messages/${id}/raw`)).arrayBuffer());
}

test('DATA: messages ending at, before and after each block end come back byte-exact, the end of data cut across reads', async () => {
  const c = await catcher({ store: { maxMessages: 100 } });
  for (const end of BLOCK_ENDS)
    for (const size of [end - 1, end, end + 1]) {
      const m = messageOf(size, size);
      const wire = stuffed(m);
      // Cut inside the final CRLF "." CRLF, after a stuffed dot, and at the block's end.
      const cuts = [end - 3, end, wire.length - 5, wire.length - 4, wire.length - 3, wire.length - 2, wire.length - 1];
      const got = await raw(
        c.base,
        await viaData(
          c.smtpPort,
          wire,
          [...new Set(cuts)].sort((a, b) => a - b),
        ),
      );
      assert.equal(got.length, m.length, `size ${size}`);
      assert.ok(got.equals(m), `size ${size}: /raw differs from what was sent`);
    }
});

test('BDAT: chunks of odd sizes across the block ends come back byte-exact; a message of 0 bytes is stored empty', async () => {
  const c = await catcher();
  for (const size of [16 * 1024, 48 * 1024 + 1, 112 * 1024 - 1]) {
    const m = messageOf(size, 7 * size);
    for (const chunk of [1000, 16 * 1024, 16 * 1024 + 1]) {
      const got = await raw(c.base, await viaBdat(c.smtpPort, m, chunk));
      assert.ok(got.equals(m), `size ${size}, chunks of ${chunk}: /raw differs`);
    }
  }
  // A message of no bytes at all, by BDAT 0 LAST and by DATA's end at once: stored empty.
  assert.equal((await raw(c.base, await viaBdat(c.smtpPort, Buffer.alloc(0), 1))).length, 0);
  assert.equal((await raw(c.base, await viaData(c.smtpPort, Buffer.from('.\r\n'), [1, 2]))).length, 0);
});

test('--max-size: a message of exactly the limit is taken whole; one byte more is refused (552) and not stored', async () => {
  const size = 48 * 1024;
  const c = await catcher({ sink: { maxSize: size } });
  const m = messageOf(size, 3);
  const ok = await viaData(c.smtpPort, stuffed(m), [16 * 1024]);
  assert.ok((await raw(c.base, ok)).equals(m));
  const over = messageOf(size + 1, 3);
  assert.match(await viaData(c.smtpPort, stuffed(over), [size]), /^552 /);
  assert.match(await viaBdat(c.smtpPort, over, 20_000), /^552 /);
  assert.equal(c.store.list().total, 1);
});

test('--bare-newline reject: a CR LF cut between two reads or two BDAT chunks is no bare CR; the message is taken', async () => {
  const c = await catcher({ sink: { bareNewline: 'reject' } });
  const m = Buffer.from(`Subject: cut\r\n\r\n${'line\r\n'.repeat(5000)}..dot\r\nend\r\n`);
  // Every cut falls between a CR and its LF.
  const cuts = [1000, 16 * 1024, 20_000].map((x) => m.indexOf('\r\n', x) + 1);
  const data = await viaData(c.smtpPort, stuffed(m), cuts);
  assert.ok((await raw(c.base, data)).equals(m));
  const bdat = await viaBdat(c.smtpPort, m, m.indexOf('\r\n', 100) + 1);
  assert.ok((await raw(c.base, bdat)).equals(m));
});
