import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN } from './helpers/paths.js';
import { smtpPeer } from './helpers/smtp-peer.js';

/** Peak resident memory of a child, read from /proc while it runs (VmHWM is a high-water mark). */
function peakRss(pid: number): number {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

test('a 50 MB attachment streams from the file: peak RSS stays far below the message size', { skip: process.platform !== 'linux' ? 'reads /proc' : false }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-big-'));
  const file = join(dir, 'big.bin');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(1024 * 1024, 0x5a);
  for (let i = 0; i < 50; i++) writeSync(fd, block);
  closeSync(fd);
  let received = 0;
  const peer = await smtpPeer({
    hideSTARTTLS: true,
    onData(stream, _session, callback) {
      stream.on('data', (d: Buffer) => (received += d.length));
      stream.on('end', () => callback(null, 'OK'));
    },
  });
  try {
    const child = spawn(process.execPath, [BIN, 'send', `127.0.0.1:${peer.port}`, '--from', 'a@client.test', '--to', 'b@example.test', '--attach', file, '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let peak = 0;
    const poll = setInterval(() => (peak = Math.max(peak, peakRss(child.pid!))), 20);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearInterval(poll);
    assert.equal(code, 0, out);
    assert.ok(received > 50 * 1024 * 1024 * 1.3, `the server got ${received} bytes`);
    assert.ok(peak > 0 && peak < 150 * 1024 * 1024, `peak RSS ${Math.round(peak / 1048576)} MiB`);
  } finally {
    await peer.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
