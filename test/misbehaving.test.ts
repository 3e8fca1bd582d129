import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { lineServer, rawServer, type RawServer } from './helpers/raw-server.js';
import { TLS } from './helpers/paths.js';

const EHLO_OK = '250-bad.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n';

/** Each test gets its own misbehaving server and a short timeout, and must end well within it. */
async function against(onConnection: (s: net.Socket) => void, args: string[], limitMs = 8000) {
  const server: RawServer = await rawServer(onConnection);
  try {
    const result = await runCli([args[0]!, `127.0.0.1:${server.port}`, '--timeout', '1s', ...args.slice(1)], {
      limitMs,
    });
    return { ...result, received: server.received.join('') };
  } finally {
    await server.close();
  }
}

/** A plain server that greets and answers EHLO, QUIT, and whatever else `more` knows. */
function smtp(
  more: (line: string, s: net.Socket) => string | null | undefined = () => undefined,
  greeting = '220 bad.test ESMTP\r\n',
) {
  return (s: net.Socket) => {
    s.write(greeting);
    lineServer(s, (line) => {
      const custom = more(line, s);
      if (custom !== undefined) return custom;
      if (/^EHLO/i.test(line)) return EHLO_OK;
      if (/^QUIT/i.test(line)) return '221 bye\r\n';
      return '500 5.5.2 what?\r\n';
    });
  };
}

test('silence after connect: exit 4, names the greeting timeout, ends in time', async () => {
  const r = await against(() => {}, ['connect']);
  assert.equal(r.code, 4);
  // On a port other than 25/587 the advice also names implicit TLS (issue #14).
  assert.match(
    r.stderr,
    /\*\*\* the server accepted the connection but sent no greeting within 1s \(greeting timeout; --greeting-timeout raises it; if this port expects TLS at once \(like 465\), use --tls-on-connect or smtps:\/\/host:port\)/,
  );
  assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  assert.equal(r.received, '', 'nothing is sent before the greeting');
});

test('--greeting-timeout overrides --timeout for the greeting only', async () => {
  const r = await against(() => {}, ['connect', '--timeout', '10s', '--greeting-timeout', '300ms']);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /within 300ms/);
  assert.ok(r.ms < 3000, `took ${r.ms} ms`);
});

test('greeting 554: exit 5, the refusal explained, QUIT still sent', async () => {
  const r = await against(smtp(undefined, '554 5.7.1 Your IP is listed at bl.example\r\n'), ['ehlo']);
  assert.equal(r.code, 5);
  assert.match(r.stdout, /^<\*\* 554 5\.7\.1 Your IP is listed at bl\.example$/m);
  assert.match(r.stdout, /# No SMTP service here for you/);
  assert.match(r.stdout, /# try: .*blocklist/);
  assert.match(r.stderr, /refused the session at the greeting: 554 Your IP is listed/);
  assert.match(r.received, /^QUIT\r\n$/);
});

test('garbage instead of a greeting: exit 5, quoted', async () => {
  const r = await against((s) => s.write('SSH-2.0-OpenSSH_9.2\r\n'), ['connect']);
  assert.equal(r.code, 5);
  assert.match(r.stderr, /not an SMTP reply: "SSH-2\.0-OpenSSH_9\.2"/);
});

test('TLS bytes instead of a greeting (plaintext to an implicit-TLS port): exit 4, says the port speaks TLS and names --tls-on-connect', async () => {
  // A TLS alert left open, the same alert then a close, and a handshake record with a 0x0a inside.
  const alert = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]);
  const handshake = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x0a]);
  const servers: Array<(s: net.Socket) => void> = [
    (s) => s.write(alert),
    (s) => s.end(alert),
    (s) => s.write(handshake),
  ];
  for (const server of servers) {
    // The greeting timeout is long: the answer comes from the bytes, not from waiting.
    const text = await against(server, ['connect', '--greeting-timeout', '30s']);
    assert.equal(text.code, 4, text.stderr);
    assert.match(
      text.stderr,
      /^\*\*\* the server answered with TLS instead of an SMTP greeting: this port speaks TLS from the start \(implicit TLS, as on 465\) \(use --tls-on-connect or smtps:\/\/host:port\)$/m,
    );
    const json = await against(server, ['connect', '--greeting-timeout', '30s', '--json']);
    const { outcome } = JSON.parse(json.stdout);
    assert.equal(outcome.exitCode, 4);
    assert.equal(outcome.phase, 'banner');
    assert.deepEqual(outcome.hint, { kind: 'speaks-tls' });
    assert.equal(json.received, '', 'nothing is sent to a TLS port in plaintext');
  }
});

test('a 1 MB line without CRLF: exit 5, line too long', async () => {
  const r = await against((s) => s.write(Buffer.alloc(1024 * 1024, 'x')), ['connect']);
  assert.equal(r.code, 5);
  assert.match(r.stderr, /reply line longer than 8192 bytes/);
});

test('a multi-line reply cut by close: exit 5', async () => {
  const r = await against(
    smtp((l, s) => (/^EHLO/.test(l) ? (s.end('250-bad.test\r\n250-PIPELINING\r\n'), null) : undefined)),
    ['ehlo'],
  );
  assert.equal(r.code, 5);
  assert.match(r.stderr, /closed in the middle of a reply \(got 2 line\(s\) of a multi-line 250 reply\)/);
});

test('reply lines with mismatched codes: exit 5', async () => {
  const r = await against(
    smtp((l) => (/^EHLO/.test(l) ? '250-bad.test\r\n251 SIZE 10\r\n' : undefined)),
    ['ehlo'],
  );
  assert.equal(r.code, 5);
  assert.match(r.stderr, /disagree on the code \(250, then 251\)/);
});

test('a reply split into 1-byte writes parses whole', async () => {
  const slow = async (s: net.Socket, text: string) => {
    for (const ch of text) {
      if (s.destroyed) return;
      s.write(ch);
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  const r = await against(
    (s) => {
      void slow(s, '220 bad.test ESMTP\r\n');
      lineServer(s, (line) => {
        if (/^EHLO/.test(line)) void slow(s, '250-bad.test\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n');
        else if (/^QUIT/.test(line)) void slow(s, '221 bye\r\n');
        return '';
      });
    },
    ['ehlo', '--json'],
  );
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(doc.capabilities.extensions, { SIZE: ['1000000'], '8BITMIME': [] });
});

test('a stray reply in the same write as the EHLO reply: shown after it, as on the wire, and exit 5', async () => {
  const stray = smtp((l) => (/^EHLO/.test(l) ? `${EHLO_OK}250 2.0.0 stray after EHLO\r\n` : undefined));
  const text = await against(stray, ['ehlo']);
  assert.equal(text.code, 5, text.stderr);
  const lines = text.stdout.split('\n');
  const ehloLast = lines.findIndex((l) => l.startsWith('<-  250 STARTTLS'));
  const strayAt = lines.findIndex((l) => l === '<-  250 2.0.0 stray after EHLO');
  assert.ok(ehloLast >= 0 && strayAt > ehloLast, text.stdout);
  assert.ok(
    !lines.some((l) => l.startsWith('=== Capabilities')),
    'the EHLO reply explained its lines; no table repeats them',
  );
  const json = await against(stray, ['ehlo', '--json']);
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.outcome.kind, 'unsolicited');
  const replies = doc.events
    .filter((e: { type: string }) => e.type === 'reply')
    .map((e: { command: string }) => e.command);
  assert.deepEqual(replies, ['CONNECT', 'EHLO', 'UNSOLICITED']);
});

test('EHLO refused with 502: falls back to HELO', async () => {
  const r = await against(
    smtp((l) => (/^EHLO/.test(l) ? '502 not here\r\n' : /^HELO/.test(l) ? '250 old.test\r\n' : undefined)),
    ['ehlo'],
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /=== EHLO refused; falling back to HELO/);
  assert.match(r.stdout, /^ -> HELO /m);
  assert.match(r.stdout, /answered HELO with 0 extensions/);
});

test('no reply to EHLO: exit 5, the command timeout named', async () => {
  const r = await against(
    smtp((l) => (/^EHLO/.test(l) ? '' : undefined)),
    ['ehlo'],
  );
  assert.equal(r.code, 5);
  assert.match(r.stderr, /no reply to EHLO within 1s \(command timeout; --command-timeout raises it\)/);
});

test('close right after EHLO: exit 5, says what we were waiting for', async () => {
  const r = await against(
    smtp((l) => (/^EHLO/.test(l) ? null : undefined)),
    ['ehlo'],
  );
  assert.equal(r.code, 5);
  assert.match(r.stderr, /the server closed the connection while we waited for the reply to EHLO/);
});

test('STARTTLS answered 454: exit 6, explained', async () => {
  const r = await against(
    smtp((l) => (/^STARTTLS/.test(l) ? '454 4.7.0 TLS not available due to local problem\r\n' : undefined)),
    ['starttls'],
  );
  assert.equal(r.code, 6);
  assert.match(r.stdout, /^<\*\* 454 4\.7\.0 TLS not available/m);
  assert.match(r.stdout, /# TLS is temporarily unavailable/);
  assert.match(r.stderr, /the server refused STARTTLS: 454/);
});

test('STARTTLS not offered: exit 6, without sending STARTTLS', async () => {
  const r = await against(
    smtp((l) => (/^EHLO/.test(l) ? '250-bad.test\r\n250 PIPELINING\r\n' : undefined)),
    ['starttls'],
  );
  assert.equal(r.code, 6);
  assert.match(r.stderr, /does not offer STARTTLS/);
  assert.doesNotMatch(r.received, /STARTTLS/);
});

test('plaintext injected after the 220 to STARTTLS is discarded, never read as a reply', async () => {
  const r = await against(
    (s) => {
      s.write('220 bad.test ESMTP\r\n');
      let upgraded = false;
      lineServer(s, (line) => {
        if (upgraded) return '';
        if (/^EHLO/.test(line)) return EHLO_OK;
        if (/^STARTTLS/.test(line)) {
          upgraded = true;
          // The attack of RFC 3207 §6: a reply planted before the handshake.
          s.write('220 2.0.0 Ready\r\n250-injected.evil\r\n250 AUTH PLAIN\r\n');
          const secure = new tls.TLSSocket(s, { isServer: true, key: TLS.key(), cert: TLS.cert() });
          secure.on('error', () => {});
          lineServer(secure, (l) =>
            /^EHLO/.test(l) ? '250-bad.test\r\n250 SIZE 5\r\n' : /^QUIT/.test(l) ? '221 bye\r\n' : '500 ?\r\n',
          );
        }
        return '';
      });
    },
    ['starttls', '--json', '--ca-file', TLS.ca],
  );
  assert.equal(r.code, 0, r.stdout);
  const doc = JSON.parse(r.stdout);
  const warning = doc.events.find((e: { type: string }) => e.type === 'warning');
  assert.ok(warning, r.stdout);
  assert.match(warning.message, /sent 35 bytes after its 220 and before TLS; discarded unread \(RFC 3207 §6\)/);
  assert.deepEqual(doc.capabilities.extensions, { SIZE: ['5'] });
  assert.ok(!r.stdout.includes('"injected.evil"'), 'the planted reply never became a reply event');
});

test('a failed TLS handshake: exit 6, says so', async () => {
  const r = await against(
    smtp((l, s) =>
      /^STARTTLS/.test(l) ? (s.write('220 go ahead\r\n'), s.write('this is not TLS at all\r\n'), '') : undefined,
    ),
    ['starttls'],
  );
  assert.equal(r.code, 6);
  assert.match(r.stderr, /the TLS handshake failed/);
});

test('a TLS handshake that never finishes: exit 6, names the TLS timeout', async () => {
  // Deaf after its 220: read on, a ClientHello holding a 0x0A byte would look like a command
  // line and get a plaintext 500 (often so with Node 22's large post-quantum key share).
  const deaf = (l: string, s: net.Socket) => (/^STARTTLS/.test(l) ? (s.pause(), '220 go ahead\r\n') : undefined);
  const r = await against(smtp(deaf), ['starttls', '--tls-timeout', '500ms']);
  assert.equal(r.code, 6);
  assert.match(r.stderr, /did not finish within 500ms \(--tls-timeout raises it\)/);
});

test('connection refused: exit 4', async () => {
  const server = await rawServer(() => {});
  const port = server.port;
  await server.close();
  const r = await runCli(['connect', `127.0.0.1:${port}`, '--timeout', '1s']);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /cannot connect to 127\.0\.0\.1:\d+: connection refused/);
});

test('terminal escapes from the server are shown escaped, never passed through', async () => {
  const r = await against(smtp(undefined, '220 evil \x1b[2J\x1b]0;owned\x07 ESMTP\r\n'), ['connect']);
  assert.equal(r.code, 0);
  assert.ok(!r.stdout.includes('\x1b'), 'no raw ESC reaches the terminal');
  assert.match(r.stdout, /220 evil \\x1b\[2J\\x1b\]0;owned\\x07 ESMTP/);
});

test('-v shows raw bytes both ways', async () => {
  const r = await against(smtp(), ['connect', '-v']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^<<< "220 bad\.test ESMTP\\r\\n"$/m);
  assert.match(r.stdout, /^>>> "QUIT\\r\\n"$/m);
});
