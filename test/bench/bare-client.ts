/**
 * The least a Node client can do per message, for scale in `npm run bench`: the exchange
 * smtpkit's load mode makes (EHLO; MAIL, RCPT, DATA pipelined; the message with QUIT; a
 * reset), with no timeouts, no reply parsing beyond "a final line", no checks at all. What
 * it reaches against smtp-source is Node's own per-connection cost on this machine.
 *
 *   node bare-client.js PORT MESSAGES CONNECTIONS SIZE   → prints messages per second
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const [port, total, connections, size] = process.argv.slice(2).map(Number) as [number, number, number, number];
const message = Buffer.from(
  `From: <a@client.test>\r\nTo: <b@example.test>\r\nSubject: bench\r\n\r\n${'x'.repeat(Math.max(0, size - 80))}\r\n.\r\nQUIT\r\n`,
);
let issued = 0;
let done = 0;
const started = performance.now();

function next() {
  if (issued >= total) return;
  issued++;
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  let step = 0;
  let buffer = '';
  socket.on('error', (e) => {
    console.error(e.message);
    process.exit(1);
  });
  socket.on('data', (d) => {
    buffer += d.toString('latin1');
    for (let i = buffer.indexOf('\r\n'); i >= 0; i = buffer.indexOf('\r\n')) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      if (line[3] === '-') continue;
      step++;
      if (step === 1) socket.write('EHLO client.test\r\n');
      else if (step === 2) socket.write('MAIL FROM:<a@client.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n');
      else if (step === 5) socket.write(message);
      else if (step === 7) {
        socket.resetAndDestroy();
        if (++done === total) console.log(String(total / ((performance.now() - started) / 1000)));
        else next();
      }
    }
  });
}
for (let i = 0; i < connections; i++) next();
