import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { spawn } from 'node:child_process';
import { runCli } from './helpers/cli.js';
import { BIN, ROOT, TLS, WEAK_TLS } from './helpers/paths.js';
import { hasTmux, Pty } from './helpers/pty.js';
import { rawServer } from './helpers/raw-server.js';

/**
 * The TLS scan against a server whose answers we choose (implicit TLS, TLS 1.0–1.2, three
 * suites in its own order, a 1024-bit key), and against Postfix cross-checked with sslscan.
 */
interface Scan {
  protocols: {
    version: string;
    accepted: boolean | null;
    ciphers: { name: string; bits: number; keyExchange: string; weak: boolean; weaknesses: string[] }[];
    serverOrder: boolean | null;
    preferred: string[];
  }[];
  groups: { version: string; name: string }[];
  certificate: { key: string } | null;
  findings: { severity: string; code: string; check: string; message: string }[];
  handshakes: number;
}

let weak: tls.Server;
let weakPort = 0;
const handshakes: string[] = [];
const servernames: Array<string | false> = [];

before(async () => {
  weak = tls.createServer({
    key: WEAK_TLS.key(),
    cert: WEAK_TLS.cert(),
    minVersion: 'TLSv1',
    maxVersion: 'TLSv1.2',
    ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA:AES256-GCM-SHA384:@SECLEVEL=0',
    honorCipherOrder: true,
  });
  weak.on('tlsClientError', () => {});
  weak.on('secureConnection', (s) => {
    handshakes.push(s.getCipher().name);
    servernames.push((s as tls.TLSSocket & { servername: string | false }).servername);
    s.on('error', () => {});
    s.write('220 weak.test ESMTP\r\n');
    let buffer = '';
    s.on('data', (d) => {
      buffer += d.toString('latin1');
      let i: number;
      while ((i = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (/^QUIT/i.test(line)) s.end('221 bye\r\n');
        else s.write(/^EHLO/i.test(line) ? '250-weak.test\r\n250 8BITMIME\r\n' : '502 5.5.1 no\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => weak.listen(0, '127.0.0.1', resolve));
  weakPort = (weak.address() as AddressInfo).port;
});

after(() => new Promise<void>((resolve) => weak.close(() => resolve())));

test('starttls --scan with implicit TLS: versions, suites per version, server order, key strength and findings', async () => {
  const r = await runCli(
    ['starttls', `127.0.0.1:${weakPort}`, '--tls-on-connect', '--scan', '--scan-concurrency', '3', '--json'],
    { limitMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  const scan: Scan = JSON.parse(r.stdout).result.scan;
  const v = (name: string) => scan.protocols.find((p) => p.version === name)!;
  assert.equal(v('SSLv3').accepted, null, 'SSLv3 is reported as not testable, not as refused');
  assert.deepEqual(
    ['TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'].map((n) => v(n).accepted),
    [true, true, true, false],
  );
  assert.deepEqual(
    v('TLSv1.0').ciphers.map((c) => c.name),
    ['AES128-SHA'],
    'GCM suites cannot travel in TLS 1.0',
  );
  assert.deepEqual(
    v('TLSv1.2')
      .ciphers.map((c) => c.name)
      .sort(),
    ['AES128-SHA', 'AES256-GCM-SHA384', 'ECDHE-RSA-AES128-GCM-SHA256'],
  );
  assert.equal(v('TLSv1.2').serverOrder, true);
  assert.deepEqual(v('TLSv1.2').preferred, ['ECDHE-RSA-AES128-GCM-SHA256', 'AES128-SHA', 'AES256-GCM-SHA384']);
  const aes = v('TLSv1.2').ciphers.find((c) => c.name === 'AES128-SHA')!;
  assert.deepEqual(
    { bits: aes.bits, keyExchange: aes.keyExchange, weak: aes.weak },
    { bits: 128, keyExchange: 'RSA', weak: true },
  );
  assert.deepEqual(aes.weaknesses, ['CBC with SHA-1', 'no forward secrecy (RSA key exchange)']);
  assert.equal(v('TLSv1.2').ciphers.find((c) => c.name === 'ECDHE-RSA-AES128-GCM-SHA256')!.weak, false);
  assert.equal(scan.certificate?.key, 'RSA 1024');
  const codes = scan.findings.map((f) => `${f.severity} ${f.code}`);
  for (const c of [
    'fail weak-key',
    'warn deprecated-protocol',
    'warn no-forward-secrecy',
    'warn weak-cipher',
    'info untested-protocol',
  ])
    assert.ok(codes.includes(c), `${c} in ${codes.join(', ')}`);
  assert.match(
    scan.findings.find((f) => f.code === 'deprecated-protocol')!.message,
    /TLSv1\.0 and TLSv1\.1 .*RFC 8996/,
  );
  assert.ok(scan.groups.some((g) => g.version === 'TLSv1.2' && g.name === 'X25519'));
});

test('starttls --scan with an internationalized --sni: every handshake sends its A-labels (RFC 6066 §3)', async () => {
  const before = servernames.length;
  const r = await runCli(
    [
      'starttls',
      `127.0.0.1:${weakPort}`,
      '--tls-on-connect',
      '--tls-min',
      '1.0',
      '--sni',
      'mta-sts.bücher.test',
      '--scan',
      '--scan-concurrency',
      '3',
      '--json',
    ],
    { limitMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  const sent = servernames.slice(before);
  assert.ok(sent.length > 5, `the scan's handshakes reached the server (${sent.length})`);
  assert.deepEqual([...new Set(sent)], ['mta-sts.xn--bcher-kva.test']);
});

test('starttls --scan text: a table in sslscan’s words, and each suite costs its own handshake', async () => {
  const before = handshakes.length;
  const r = await runCli(['starttls', `127.0.0.1:${weakPort}`, '--tls-on-connect', '--scan'], { limitMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ {4}TLSv1\.0 +accepted \(deprecated\)$/m);
  assert.match(r.stdout, /^ {4}TLSv1\.3 +refused$/m);
  assert.match(r.stdout, /^ {2}TLSv1\.2 cipher suites \(3, server order\):$/m);
  assert.match(r.stdout, /^ {4}Preferred +128 bits +ECDHE-RSA-AES128-GCM-SHA256 /m);
  assert.match(r.stdout, /^ {4}FAIL weak-key: the certificate key is RSA 1024/m);
  // The session's own handshake, one per accepted version, one per accepted (version, suite)
  // and more for groups and order: at least the 5 accepted pairs must each have had one.
  const seen = handshakes.slice(before);
  assert.ok(seen.filter((c) => c === 'AES128-SHA').length >= 3, seen.join(' '));
});

test('probe --tls-scan: checks tls-protocols and tls-ciphers; a weak key fails the probe', async () => {
  const r = await runCli(
    ['probe', `127.0.0.1:${weakPort}`, '--tls-on-connect', '--tls-scan', '--format', 'json', '--timeout', '30s'],
    { limitMs: 60_000 },
  );
  assert.equal(r.code, 1, r.stdout);
  const result = JSON.parse(r.stdout).results[0];
  const check = (n: string) => result.checks.find((c: { name: string }) => c.name === n);
  assert.equal(check('tls-protocols').status, 'warn');
  assert.match(check('tls-protocols').message, /RFC 8996/);
  assert.equal(check('tls-ciphers').status, 'fail');
  assert.match(check('tls-ciphers').message, /RSA 1024/);
  assert.ok(result.scan.protocols.length === 5);
});

test(
  'the scan shows its progress on a terminal (ora), and nothing of it off a terminal',
  { skip: hasTmux ? false : 'tmux is not installed' },
  async () => {
    const pty = new Pty(
      `cd ${ROOT} && env -u CI NO_COLOR=1 ${process.execPath} ${BIN} starttls 127.0.0.1:${weakPort} --tls-on-connect --scan --scan-concurrency 1 -q`,
    );
    try {
      await pty.waitFor(/TLS scan: \d+\/\d+ handshakes/, 'the spinner');
      await pty.waitFor(/EXIT=0/, 'the end of the scan', 60_000);
      assert.match(pty.screen(), /^OK: .*scan: TLSv1\.0, TLSv1\.1, TLSv1\.2 accepted/m);
    } finally {
      pty.close();
    }
    const piped = await runCli(['starttls', `127.0.0.1:${weakPort}`, '--tls-on-connect', '--scan', '-q'], {
      env: { TERM: 'xterm' },
      limitMs: 60_000,
    });
    assert.equal(piped.code, 0);
    assert.doesNotMatch(piped.stderr, /TLS scan/);
  },
);

test('--scan-concurrency out of range is a usage error (exit 2) before any connection', async () => {
  const r = await runCli([
    'starttls',
    `127.0.0.1:${weakPort}`,
    '--tls-on-connect',
    '--scan',
    '--scan-concurrency',
    '0',
  ]);
  assert.equal(r.code, 2);
  assert.match(r.stderr + r.stdout, /--scan-concurrency takes a whole number from 1 to 64/);
});

/** A STARTTLS server from raw sockets; `misbehave(index)` may take a connection over instead. */
async function starttlsServer(misbehave: (socket: import('node:net').Socket, index: number) => boolean) {
  return rawServer((socket, index) => {
    if (misbehave(socket, index)) return;
    socket.write('220 fake.test ESMTP\r\n');
    let buffer = '';
    const onData = (d: Buffer) => {
      buffer += d.toString('latin1');
      let i: number;
      while ((i = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (/^EHLO/i.test(line)) socket.write('250-fake.test\r\n250 STARTTLS\r\n');
        else if (/^STARTTLS/i.test(line)) {
          socket.off('data', onData);
          socket.write('220 go ahead\r\n', () => {
            const secure = new tls.TLSSocket(socket, { isServer: true, key: TLS.key(), cert: TLS.cert() });
            secure.on('error', () => {});
            secure.on('data', (x: Buffer) => {
              for (const l of x.toString().split('\r\n').filter(Boolean))
                secure.write(/^QUIT/i.test(l) ? '221 bye\r\n' : '250-fake.test\r\n250 8BITMIME\r\n');
            });
          });
          return;
        }
      }
    };
    socket.on('data', onData);
  });
}

test(
  'a server that floods the scan’s connections: a clear protocol error (exit 5), bounded memory',
  { skip: process.platform !== 'linux' ? 'reads /proc' : false },
  async () => {
    // The first connection (the session itself) is well behaved; every later one sends an
    // endless line with no line end, as fast as we read.
    const server = await starttlsServer((socket, index) => {
      if (index === 0) return false;
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      const pump = () => {
        while (!socket.destroyed && socket.write(chunk));
      };
      socket.on('drain', pump);
      pump();
      return true;
    });
    try {
      const child = spawn(process.execPath, [BIN, 'starttls', `127.0.0.1:${server.port}`, '--scan', '-q'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' },
      });
      let peak = 0;
      const hwm = () =>
        Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
      const poll = setInterval(() => {
        try {
          peak = Math.max(peak, hwm());
        } catch {
          // exited
        }
      }, 20);
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      clearTimeout(killer);
      clearInterval(poll);
      assert.equal(code, 5, out);
      assert.match(out, /longer than 8192 bytes/);
      assert.ok(peak > 0 && peak < 150 * 1024 * 1024, `peak RSS ${Math.round(peak / 1048576)} MiB`);
    } finally {
      await server.close();
    }
  },
);

test('a server that turns the scan’s first connections away with 421: the scan tries again and finds the same as without', async () => {
  let busyAfter = Infinity; // the session's own connection is let through; the scan's are not
  let refused = 0;
  const server = await starttlsServer((socket, index) => {
    if (index <= busyAfter || index > busyAfter + 3) return false;
    refused++;
    socket.end('421 4.7.0 fake.test too many connections, try later\r\n');
    return true;
  });
  try {
    const scan = async () => {
      const r = await runCli(['starttls', `127.0.0.1:${server.port}`, '--scan', '--json'], { limitMs: 60_000 });
      assert.equal(r.code, 0, r.stdout);
      const s: Scan = JSON.parse(r.stdout).result.scan;
      return s.protocols.map((p) => ({
        version: p.version,
        accepted: p.accepted,
        ciphers: p.ciphers.map((c) => c.name).sort(),
      }));
    };
    const calm = await scan();
    busyAfter = server.received.length;
    const turnedAway = await scan();
    assert.equal(refused, 3);
    assert.deepEqual(turnedAway, calm);
    assert.ok(calm.some((p) => p.accepted && p.ciphers.length > 3));
  } finally {
    await server.close();
  }
});

// Postfix, cross-checked with sslscan on the same server.
const ENV_FILE = process.env.SMTPKIT_INTEROP_ENV ?? '/tmp/smtpkit-interop/env.json';
const env: { smtp: number } | undefined = existsSync(ENV_FILE) ? JSON.parse(readFileSync(ENV_FILE, 'utf8')) : undefined;
const hasSslscan = spawnSync('sslscan', ['--version']).status === 0;
if (process.env.CI && (!env || !hasSslscan))
  throw new Error('CI must cross-check the TLS scan: Postfix and sslscan are needed (.ci/run installs them)');
const skip = !env ? `no Postfix is up (${ENV_FILE} is missing)` : !hasSslscan ? 'sslscan is not installed' : false;

test('Postfix: the versions and the accepted suites per version agree with sslscan’s', { skip }, async () => {
  const ours = await runCli(['starttls', `127.0.0.1:${env!.smtp}`, '--scan', '--json'], { limitMs: 60_000 });
  assert.equal(ours.code, 0, ours.stderr);
  const scan: Scan = JSON.parse(ours.stdout).result.scan;
  const theirs = spawnSync('sslscan', ['--no-colour', '--starttls-smtp', `127.0.0.1:${env!.smtp}`], {
    encoding: 'utf8',
    timeout: 60_000,
  }).stdout;
  const enabled = [...theirs.matchAll(/^(SSLv[23]|TLSv1\.[0-3]) +(enabled|disabled)$/gm)]
    .filter((m) => m[2] === 'enabled')
    .map((m) => m[1]);
  assert.deepEqual(enabled, ['TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'], theirs);
  assert.deepEqual(
    scan.protocols.filter((p) => p.accepted).map((p) => p.version),
    enabled,
  );
  const pairs = (list: string[]) => list.sort();
  const theirPairs = [...theirs.matchAll(/^(?:Preferred|Accepted) +(\S+) +\d+ bits +(\S+)/gm)].map(
    (m) => `${m[1]} ${m[2]}`,
  );
  const ourPairs = scan.protocols.flatMap((p) => p.ciphers.map((c) => `${p.version} ${c.name}`));
  assert.ok(theirPairs.length > 50, `sslscan found ${theirPairs.length} pairs`);
  assert.deepEqual(pairs(ourPairs), pairs(theirPairs));
  const theirGroups = [...theirs.matchAll(/^(TLSv1\.[23]) +\d+ bits +(\S+)/gm)].length;
  assert.equal(scan.groups.length, theirGroups, 'the same number of key-exchange groups');
});

test('the scan makes each TLS context once per process: a second scan of the same server makes none', async () => {
  const { scanTls } = await import('../src/scan/scan.js');
  const target = {
    host: '127.0.0.1',
    address: '127.0.0.1',
    port: weakPort,
    implicitTls: true,
    ehloName: 'client.test',
    sni: undefined,
    localAddress: undefined,
    timeoutMs: 10_000,
  };
  const made = tls.createSecureContext;
  let contexts = 0;
  tls.createSecureContext = (...args) => (contexts++, made(...args));
  try {
    const first = await scanTls(target, { concurrency: 2 });
    const afterFirst = contexts;
    const second = await scanTls(target, { concurrency: 2 });
    assert.deepEqual(second.protocols, first.protocols);
    // Before: one context per handshake, the second scan as many as the first.
    assert.ok(afterFirst > 0);
    assert.equal(
      contexts - afterFirst,
      0,
      `the second scan of ${second.handshakes} handshakes made ${contexts - afterFirst} contexts`,
    );
  } finally {
    tls.createSecureContext = made;
  }
});

test('a scan connection greeted later than its handshake limit (a tarpit, a slow reverse look-up): tried again, never taken as a refused version', async () => {
  // With one handshake at a time, connection 3 is the scan's TLS 1.2 probe (0: the session; 1, 2: TLS 1.0, 1.1).
  const server = await starttlsServer((socket, index) => {
    if (index !== 3) return false;
    setTimeout(() => socket.destroy(), 1500);
    return true;
  });
  try {
    const r = await runCli(
      [
        'starttls',
        `127.0.0.1:${server.port}`,
        '--scan',
        '--scan-concurrency',
        '1',
        '--tls-timeout',
        '1s',
        '--ca-file',
        TLS.ca,
        '--json',
      ],
      { limitMs: 60_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const scan: Scan = JSON.parse(r.stdout).result.scan;
    // Before: TLS 1.2 "not accepted (timed out)".
    assert.equal(scan.protocols.find((p) => p.version === 'TLSv1.2')!.accepted, true, JSON.stringify(scan.protocols));
  } finally {
    await server.close();
  }
});
