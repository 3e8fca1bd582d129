/**
 * The least a Node SMTP server can do per session, for scale in `npm run bench` (issue #30):
 * a greeting, one reply per command line, DATA read up to the lone dot, and nothing kept,
 * parsed or checked. It runs as `smtpkit sink` does (V8's young generation kept at its
 * starting size), so its peak RSS under smtp-source is Node's own floor for that load.
 *
 *   node bare-sink.js   → prints "listening on 127.0.0.1:PORT" on stderr
 */
import net from 'node:net';
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--semi-space-growth-factor=1');

const server = net.createServer({ noDelay: true }, (socket) => {
  let buffer = '';
  let data = false;
  socket.setEncoding('latin1');
  socket.on('error', () => {});
  socket.write('220 bare.test ESMTP\r\n');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let replies = '';
    for (let eol = buffer.indexOf('\n'); eol >= 0; eol = buffer.indexOf('\n')) {
      const line = buffer.slice(0, eol + 1);
      buffer = buffer.slice(eol + 1);
      if (data) {
        if (line === '.\r\n') {
          data = false;
          replies += '250 2.0.0 Ok\r\n';
        }
        continue;
      }
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO') replies += '250-bare.test\r\n250 PIPELINING\r\n';
      else if (verb === 'DATA') {
        data = true;
        replies += '354 End data with <CR><LF>.<CR><LF>\r\n';
      } else if (verb === 'QUIT') {
        socket.end(`${replies}221 2.0.0 Bye\r\n`);
        return;
      } else replies += '250 2.0.0 Ok\r\n';
    }
    if (replies) socket.write(replies);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stderr.write(`listening on 127.0.0.1:${(server.address() as net.AddressInfo).port}\n`);
});
