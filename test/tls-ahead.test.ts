import assert from 'node:assert/strict';
import { test } from 'node:test';
import { greetAndSecure } from '../src/flows/establish.js';
import { withSessionDefaults } from '../src/index.js';
import { contextsBuilt } from '../src/session/secure-context.js';
import { SmtpSession } from '../src/session/session.js';
import { runCli } from './helpers/cli.js';
import { fixture, readFixture } from './helpers/paths.js';
import { lineServer, rawServer } from './helpers/raw-server.js';

// Issue 30: building the TLS context reads every trusted root (~25 ms of CPU on Node 20).
// Done after the server's 220 to STARTTLS, it added to every STARTTLS session; a session
// that plans STARTTLS now builds it while the connection opens and the server greets.

/** Greets after `delayMs`, answers EHLO with STARTTLS offered, STARTTLS with 220, and QUIT. */
const slowGreeter = (delayMs: number) =>
  rawServer((socket) => {
    setTimeout(() => socket.write('220 slow.test ESMTP\r\n'), delayMs);
    lineServer(socket, (line) =>
      /^EHLO/i.test(line)
        ? '250-slow.test\r\n250 STARTTLS\r\n'
        : /^QUIT/i.test(line)
          ? null
          : /^STARTTLS/i.test(line)
            ? '220 2.0.0 go ahead\r\n'
            : '500 5.5.1 unexpected\r\n',
    );
  });

/** A CA text no other test uses, so the shared context cache (secure-context.ts) has no entry for it yet. */
const uniqueCa = (tag: string) => `${readFixture('tls/ca.pem')}\n# ${tag} ${process.hrtime.bigint()}\n`;

test('STARTTLS planned: the TLS context is built while the server greets, before any STARTTLS', async () => {
  const server = await slowGreeter(150);
  try {
    const session = new SmtpSession(
      withSessionDefaults({ host: '127.0.0.1', port: server.port, tls: { ca: uniqueCa('ahead') } }),
      () => {},
    );
    const before = contextsBuilt();
    session.expectTls();
    await session.connect();
    assert.equal(contextsBuilt(), before + 1, 'built by the time the greeting is in');
    await session.quit();
  } finally {
    await server.close();
  }
});

test('no STARTTLS planned (--starttls never): no TLS context is built at all', async () => {
  const server = await slowGreeter(20);
  try {
    const session = new SmtpSession(
      withSessionDefaults({ host: '127.0.0.1', port: server.port, tls: { ca: uniqueCa('never') } }),
      () => {},
    );
    const before = contextsBuilt();
    await greetAndSecure(session, 'never');
    await session.quit();
    assert.equal(contextsBuilt(), before);
  } finally {
    await server.close();
  }
});

test('send: a client key that is not the certificate’s is still the usage error, told once at STARTTLS (exit 2)', async () => {
  const server = await slowGreeter(20);
  try {
    const r = await runCli(
      [
        'send',
        `127.0.0.1:${server.port}`,
        '--cert',
        fixture('tls/server.pem'),
        '--key',
        fixture('tls/wrongname.key'),
        '--from',
        'a@client.test',
        '--to',
        'b@example.test',
      ],
      { input: '' },
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--cert, --key/);
    assert.equal(r.stderr.match(/--cert, --key/g)?.length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /Unhandled|at .*\.js:\d+/);
  } finally {
    await server.close();
  }
});
