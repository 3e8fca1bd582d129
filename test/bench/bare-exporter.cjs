'use strict';
// The bench's Node floor for the exporter (issue #30): the least a Node exporter can do for the
// same probe (greeting, EHLO, STARTTLS, verified handshake, EHLO, QUIT) with no checks, no
// events, no transcript: its CPU and memory say what is Node's and what is smtpkit's.
// Usage: node bare-exporter.cjs PORT CA_FILE
const http = require('node:http');
const net = require('node:net');
const tls = require('node:tls');
const fs = require('node:fs');
const [port, caFile] = process.argv.slice(2);
const context = tls.createSecureContext({});
context.context.addCACert(fs.readFileSync(caFile, 'utf8'));

function probe(host, p, report) {
  const started = process.hrtime.bigint();
  let answered = false;
  const done = (ok) => answered || ((answered = true), report(ok, started));
  let socket = net.connect(+p, host);
  let buf = '';
  let step = 0;
  const fail = () => (socket.destroy(), done(false));
  const timer = setTimeout(fail, 10_000);
  const onData = (d) => {
    buf += d.toString('latin1');
    if (!/(^|\n)\d{3} [^\n]*\n$/.test(buf)) return;
    const reply = buf;
    buf = '';
    if (step === 0 && reply.startsWith('220')) socket.write('EHLO bench.test\r\n');
    else if (step === 1 && reply.startsWith('250')) socket.write('STARTTLS\r\n');
    else if (step === 2 && reply.startsWith('220')) {
      socket.removeListener('data', onData);
      socket = tls.connect({ socket, secureContext: context, servername: undefined, host }, () => {
        if (!socket.authorized) return fail();
        socket.getPeerCertificate(true);
        socket.write('EHLO bench.test\r\n');
      });
      socket.on('data', onData);
      socket.on('error', fail);
    } else if (step === 3 && reply.startsWith('250')) socket.end('QUIT\r\n');
    else return fail();
    step++;
    if (step === 4) {
      clearTimeout(timer);
      done(true);
    }
  };
  socket.on('data', onData);
  socket.on('error', fail);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const [host, p] = (url.searchParams.get('target') ?? '').split(':');
  probe(host, p, (ok, started) => {
    const body = `probe_success ${ok ? 1 : 0}\nprobe_duration_seconds ${Number(process.hrtime.bigint() - started) / 1e9}\n`;
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(body);
  });
});
server.listen(+port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}`));
