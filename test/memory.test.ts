import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { measuredRun } from './helpers/peak-rss.js';
import { smtpPeer } from './helpers/smtp-peer.js';

/** A file of `mib` MiB in a new temporary directory. */
function bigFile(prefix: string, mib: number): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const file = join(dir, 'big.bin');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(1024 * 1024, 0x5a);
  for (let i = 0; i < mib; i++) writeSync(fd, block);
  closeSync(fd);
  return { dir, file };
}

test(
  'a 50 MB attachment streams from the file: peak RSS stays far below the message size',
  { skip: process.platform !== 'linux' ? 'reads /proc' : false },
  async () => {
    const { dir, file } = bigFile('smtpkit-big-', 50);
    let received = 0;
    const peer = await smtpPeer({
      hideSTARTTLS: true,
      onData(stream, _session, callback) {
        stream.on('data', (d: Buffer) => (received += d.length));
        stream.on('end', () => callback(null, 'OK'));
      },
    });
    try {
      const { code, peak, out } = await measuredRun([
        'send',
        `127.0.0.1:${peer.port}`,
        '--from',
        'a@client.test',
        '--to',
        'b@example.test',
        '--attach',
        file,
        '-q',
      ]);
      assert.equal(code, 0, out);
      assert.ok(received > 50 * 1024 * 1024 * 1.3, `the server got ${received} bytes`);
      assert.ok(peak > 0 && peak < 150 * 1024 * 1024, `peak RSS ${Math.round(peak / 1048576)} MiB`);
    } finally {
      await peer.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'load mode: the message is held once however many connections send it, QUIT riding with the dot included',
  { skip: process.platform !== 'linux' ? 'reads /proc' : false },
  async () => {
    const { dir, file } = bigFile('smtpkit-load-big-', 10);
    // A server that takes its time reading each message (1.5 s), so all 16 connections have
    // theirs queued at once, and notes whether QUIT came with the dot. Nothing is kept.
    let quitWithDot = 0;
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
      s.write('220 slow.test ESMTP\r\n');
      let tail = '';
      let inData = false;
      s.on('data', (d: Buffer) => {
        let text = tail + d.toString('latin1');
        if (inData) {
          const end = text.indexOf('\r\n.\r\n');
          if (end < 0) {
            tail = text.slice(-4);
            return;
          }
          inData = false;
          if (text.startsWith('QUIT\r\n', end + 5)) quitWithDot++;
          text = text.slice(end + 5);
          s.write('250 2.0.0 queued\r\n');
        }
        const lines = text.split('\r\n');
        tail = lines.pop()!;
        for (const line of lines) {
          const verb = line.split(' ')[0]!.toUpperCase();
          if (verb === 'EHLO') s.write('250-slow.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n');
          else if (verb === 'QUIT') s.end('221 2.0.0 bye\r\n');
          else if (verb === 'DATA') {
            inData = true;
            s.write('354 go on\r\n');
            s.pause();
            setTimeout(() => s.resume(), 1500);
          } else s.write('250 2.0.0 ok\r\n');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const { code, peak, out } = await measuredRun(
        [
          'send',
          `127.0.0.1:${port}`,
          '--from',
          'a@client.test',
          '--to',
          'b@example.test',
          '--attach',
          file,
          '--count',
          '16',
          '--concurrency',
          '16',
          '--timeout',
          '30',
          '-q',
        ],
        { env: { ...process.env, SMTPKIT_LOAD_THREADS: '1' } },
      );
      assert.equal(code, 0, out);
      assert.equal(quitWithDot, 16, 'each connection sent QUIT with its dot');
      // The message is about 13.5 MiB on the wire: a copy per connection would be 16 of them.
      assert.ok(peak > 0 && peak < 150 * 1024 * 1024, `peak RSS ${Math.round(peak / 1048576)} MiB`);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
