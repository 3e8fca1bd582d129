import assert from 'node:assert/strict';
import type net from 'node:net';
import { test } from 'node:test';
import DNS from 'dns2';
import { rawServer } from './helpers/raw-server.js';
import { ask } from '../src/dns/transport.js';
import { ByteQueue } from '../src/util/byte-queue.js';

/**
 * DNS over TCP read through a ByteQueue (commit 6bb72b7): the framing's edges, each against a
 * raw TCP server that writes the 2-byte length and the message in the pieces it chooses.
 */
const { Packet } = DNS;

/** The answer to the query a connection sent (after its 2-byte length): one MX record. */
function answerTo(sent: Buffer): Buffer {
  const request = Packet.parse(sent.subarray(2));
  const response = Packet.createResponseFromRequest(request);
  response.header.ra = 1;
  response.answers.push({
    name: request.questions[0]!.name,
    type: Packet.TYPE.MX,
    class: Packet.CLASS.IN,
    ttl: 60,
    priority: 10,
    exchange: 'mx.example.test',
  } as never);
  return response.toBuffer();
}

const framed = (message: Buffer) => Buffer.concat([Buffer.from([message.length >> 8, message.length & 0xff]), message]);

/** Asks over TCP a server scripted by `serve` (given the connection and our query); the answer or the error's message. */
async function askScripted(
  serve: (socket: net.Socket, query: Buffer) => void | Promise<void>,
  timeoutMs = 5_000,
): Promise<{ outcome: string; ms: number }> {
  const server = await rawServer((socket) => {
    socket.once('data', (query) => void serve(socket, query));
  });
  const started = Date.now();
  try {
    const outcome = await ask('example.test', 'MX', {
      servers: [{ address: '127.0.0.1', port: server.port }],
      tcp: true,
      doh: undefined,
      timeoutMs,
      ca: undefined,
    }).then(
      (r) => `answered ${(r.answers as { exchange?: string }[]).map((a) => a.exchange).join(',')}`,
      (err: Error) => err.message,
    );
    return { outcome, ms: Date.now() - started };
  } finally {
    await server.close();
  }
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 20));

test('DNS over TCP: a length prefix split across two pieces, then the message a byte at a time: the answer', async () => {
  const { outcome } = await askScripted(async (socket, query) => {
    const bytes = framed(answerTo(query));
    for (let i = 0; i < bytes.length && !socket.destroyed; i++) {
      socket.write(bytes.subarray(i, i + 1));
      if (i < 3) await pause();
    }
  });
  assert.equal(outcome, 'answered mx.example.test');
});

test('DNS over TCP: bytes after the message (a second message, garbage) are ignored: the first message is the answer', async () => {
  const { outcome } = await askScripted((socket, query) => {
    socket.write(Buffer.concat([framed(answerTo(query)), Buffer.from([0xff, 0xff, 1, 2, 3])]));
  });
  assert.equal(outcome, 'answered mx.example.test');
});

test('DNS over TCP: a 0-length message is a malformed answer, said at once', async () => {
  const { outcome, ms } = await askScripted((socket) => void socket.write(Buffer.from([0, 0])));
  assert.match(outcome, /malformed|too short|header/i);
  assert.ok(ms < 4_000, `${ms} ms`);
});

test('DNS over TCP: a server that sends the 2-byte length and then closes: "closed before answering", at once', async () => {
  for (const bytes of [Buffer.from([0, 40]), Buffer.from([0])]) {
    const { outcome, ms } = await askScripted((socket) => void socket.end(bytes));
    assert.match(outcome, /closed the TCP connection before answering/);
    assert.ok(ms < 4_000, `${ms} ms`);
  }
});

test('DNS over TCP: a server that sends 64 KiB and more without end is cut off once the announced message is in', async () => {
  let sent = 0;
  const { outcome, ms } = await askScripted(async (socket) => {
    socket.write(Buffer.from([0xff, 0xff]));
    const piece = Buffer.alloc(16 * 1024, 0x2a);
    while (!socket.destroyed && sent < 64 * 1024 * 1024) {
      if (!socket.write(piece)) await new Promise((resolve) => socket.once('drain', resolve).once('close', resolve));
      sent += piece.length;
    }
  });
  assert.match(outcome, /malformed|not a DNS|answer/i);
  assert.ok(ms < 4_000, `${ms} ms`);
  // Read up to the 65,537 bytes announced: the rest is left in the kernel's buffers, never read.
  assert.ok(sent < 16 * 1024 * 1024, `${sent} bytes written before the client stopped reading`);
});

test('DNS over TCP: a server that never answers and never closes: the timeout, not a hang', async () => {
  const { outcome, ms } = await askScripted(() => undefined, 1_000);
  assert.match(outcome, /no answer over TCP within 1 s|within 1/);
  assert.ok(ms >= 900 && ms < 4_000, `${ms} ms`);
});

test('ByteQueue: zero-length pieces are nothing; peek/take of 0 bytes (n <= length, as documented) give an empty buffer', () => {
  const q = new ByteQueue();
  q.append(Buffer.alloc(0));
  assert.equal(q.length, 0);
  assert.equal(q.peek(0).length, 0);
  assert.equal(q.take(0).length, 0);
  q.append(Buffer.from('ab'));
  q.append(Buffer.alloc(0));
  q.append(Buffer.from('cd'));
  assert.equal(q.take(0).length, 0);
  assert.equal(q.peek(3).toString(), 'abc');
  assert.equal(q.take(1).toString(), 'a');
  assert.equal(q.take(3).toString(), 'bcd');
  assert.equal(q.length, 0);
  assert.equal(q.take(0).length, 0);
  assert.throws(() => q.peek(1), RangeError);
});
