import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { after, before, test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { capturePeer, type CapturePeer } from './helpers/capture-peer.js';
import { dnsServer, type DnsServer } from './helpers/dns-server.js';
import { TLS } from './helpers/paths.js';
import net from 'node:net';

const spki = createHash('sha256')
  .update(new X509Certificate(TLS.cert()).publicKey.export({ type: 'spki', format: 'der' }))
  .digest();
const tlsa = (usage: number, hash: Buffer) => Buffer.concat([Buffer.from([usage, 1, 1]), hash]);

let dns: DnsServer;
let peer: CapturePeer;
let busy: net.Server;
before(async () => {
  peer = await capturePeer();
  // A second MX on 127.0.0.3, same port, that says "try later".
  busy = net.createServer((s) => s.end('421 4.3.2 busy.deliver.test Service not available, try later\r\n'));
  await new Promise<void>((resolve) => busy.listen(peer.port, '127.0.0.3', resolve));
  dns = await dnsServer({
    'deliver.test': [
      { type: 'MX', exchange: 'mx1.deliver.test', priority: 10 },
      { type: 'MX', exchange: 'mx2.deliver.test', priority: 20 },
      { type: 'MX', exchange: 'mx3.deliver.test', priority: 30 },
    ],
    'mx1.deliver.test': [{ type: 'A', address: '127.0.0.2' }], // nothing listens there: refused
    'mx2.deliver.test': [{ type: 'A', address: '127.0.0.3' }], // 421 at the greeting
    'mx3.deliver.test': [{ type: 'A', address: '127.0.0.1' }], // the real one
    '_25._tcp.mx3.deliver.test': [{ type: 'TLSA', data: tlsa(3, spki) }],
    'wrongdane.test': [{ type: 'MX', exchange: 'mx.wrongdane.test', priority: 10 }],
    'mx.wrongdane.test': [{ type: 'A', address: '127.0.0.1' }],
    '_25._tcp.mx.wrongdane.test': [{ type: 'TLSA', data: tlsa(3, Buffer.alloc(32, 7)) }],
    // The right SPKI digest cut to 31 bytes, and a record of unknown matching type: unusable (RFC 6698 §4.1).
    'baddane.test': [{ type: 'MX', exchange: 'mx.baddane.test', priority: 10 }],
    'mx.baddane.test': [{ type: 'A', address: '127.0.0.1' }],
    '_25._tcp.mx.baddane.test': [
      { type: 'TLSA', data: tlsa(3, spki.subarray(0, 31)) },
      { type: 'TLSA', data: Buffer.concat([Buffer.from([3, 1, 9]), spki]) },
    ],
    'nullmx.test': [{ type: 'MX', exchange: '', priority: 0 }],
    // A hostile first MX whose name carries a terminal escape; the second is real.
    'oddmx.test': [
      { type: 'MX', exchange: 'evil\u001b]0;pwned\u0007.oddmx.test', priority: 5 },
      { type: 'MX', exchange: 'localhost', priority: 10 },
    ],
    localhost: [{ type: 'A', address: '127.0.0.1' }],
    // A hostile answer: the MX host's addresses mean "this host" (0.0.0.0/8, ::, ::ffff:0.0.0.0/104),
    // where the capture peer listens. The domain's own address is real: never a fallback.
    'thishost.test': [
      { type: 'MX', exchange: 'mx.thishost.test', priority: 10 },
      { type: 'A', address: '127.0.0.1' },
    ],
    'mx.thishost.test': [
      { type: 'A', address: '0.0.0.0' },
      { type: 'AAAA', address: '::' },
      { type: 'AAAA', address: '::ffff:0:1' },
    ],
    // The first MX host names this machine (0.1.2.3 is in 0.0.0.0/8), the second is real.
    'partzero.test': [
      { type: 'MX', exchange: 'mx0.partzero.test', priority: 5 },
      { type: 'MX', exchange: 'localhost', priority: 10 },
    ],
    'mx0.partzero.test': [{ type: 'A', address: '0.1.2.3' }],
    // The same through a CNAME chain, and as a domain's own address (no MX: the implicit MX).
    'cnamezero.test': [{ type: 'MX', exchange: 'alias.cnamezero.test', priority: 10 }],
    'alias.cnamezero.test': [{ type: 'CNAME', domain: 'zero.cnamezero.test' }],
    'zero.cnamezero.test': [
      { type: 'A', address: '0.0.0.0' },
      // dns2 writes no dotted tail: ::ffff:0:0 is ::ffff:0.0.0.0.
      { type: 'AAAA', address: '::ffff:0:0' },
    ],
    'implicitzero.test': [
      { type: 'A', address: '0.0.0.0' },
      { type: 'AAAA', address: '0:0:0:0:0:0:0:0' },
    ],
  });
});
after(async () => {
  await Promise.all([dns.close(), peer.close(), new Promise((r) => busy.close(r))]);
});

const dnsFlags = () => [
  '--resolver',
  `127.0.0.1:${dns.port}`,
  '--dns-timeout',
  '1s',
  '--port',
  String(peer.port),
  '--timeout',
  '2s',
];

/** send from ann@client.test to `to` through the test DNS server, with `extra` flags. */
const sendTo = (to: string, ...extra: string[]) =>
  runCli(['send', '--from', 'ann@client.test', '--to', to, ...dnsFlags(), ...extra]);

test('send with no server goes through the MX hosts in order, past a refused one and a 421, and says who took it', async () => {
  const before = peer.messages.length;
  const r = await runCli([
    'send',
    '--from',
    'ann@client.test',
    '--to',
    'bob@deliver.test',
    ...dnsFlags(),
    '--ca-file',
    TLS.ca,
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^=== MX 10 mx1\.deliver\.test: 127\.0\.0\.2$/m);
  assert.match(r.stdout, /^!!! 127\.0\.0\.2:\d+: connection refused.*; trying the next MX address$/m);
  assert.match(r.stdout, /^<\*\* 421 4\.3\.2 busy\.deliver\.test/m);
  assert.match(
    r.stdout,
    /^!!! mx2\.deliver\.test \(127\.0\.0\.3\): the server refused the session at the greeting: 421 .*; trying the next MX address$/m,
  );
  assert.match(r.stdout, /^=== message accepted by mx3\.deliver\.test:\d+ for 1 of 1 recipient/m);
  assert.equal(peer.messages.length, before + 1);
});

test('ehlo and starttls take --mx DOMAIN; the certificate name checked is the MX host', async () => {
  const e = await runCli(['ehlo', '--mx', 'deliver.test', ...dnsFlags(), '-q']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^OK: mx3\.deliver\.test:\d+ answered EHLO/);
  const t = JSON.parse(
    (await runCli(['starttls', '--mx', 'deliver.test', ...dnsFlags(), '--ca-file', TLS.ca, '--json'])).stdout,
  );
  assert.equal(t.tls.nameChecked, 'mx3.deliver.test');
  assert.equal(t.tls.sni, 'mx3.deliver.test');
  assert.equal(t.tls.nameMatches, false);
});

test('--dane: a DNSSEC-validated TLSA record that matches authenticates; one that does not is exit 6', async () => {
  dns.authenticated = true;
  try {
    const ok = await runCli(['starttls', '--mx', 'deliver.test', ...dnsFlags(), '--dane']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(
      ok.stdout,
      /^=== DANE: the certificate of mx3\.deliver\.test matches TLSA DANE-EE \(3\), public key \(1\), SHA-256 \(1\).*DANE-EE authenticates it/m,
    );
    assert.match(ok.stdout, /certificate authenticated by DANE-EE \(3\)/);
    const bad = await runCli(['starttls', '--mx', 'wrongdane.test', ...dnsFlags(), '--dane']);
    assert.equal(bad.code, 6);
    assert.match(bad.stderr, /DANE: none of the 1 usable TLSA record\(s\) of mx\.wrongdane\.test matches/);
    const sent = await runCli(['send', '--from', 'a@client.test', '--to', 'b@wrongdane.test', ...dnsFlags(), '--dane']);
    assert.equal(sent.code, 6);
  } finally {
    dns.authenticated = false;
  }
});

test('--dane: validated TLSA with no usable record (a 31-byte SHA-256, an unknown matching type) puts no DANE in effect: said so, the certificate judged by PKIX, no handshake failure', async () => {
  dns.authenticated = true;
  try {
    const r = await runCli(['starttls', '--mx', 'baddane.test', ...dnsFlags(), '--dane', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(
      { status: doc.result.dane.status, match: doc.result.dane.match },
      { status: 'unusable', match: null },
    );
    const warning = doc.events.find(
      (e: { type: string; message?: string }) => e.type === 'warning' && /^DANE:/.test(e.message ?? ''),
    );
    assert.equal(
      warning?.message,
      'DANE: mx.baddane.test has no usable TLSA record (3 1 1: 31 bytes of SHA-256 (1) data, where the digest is 32 bytes; 3 1 9: matching type 9 is unknown (0 to 2 are defined)), so DANE is not in effect for it: the certificate is judged by PKIX (RFC 7672 §2.2)',
    );
  } finally {
    dns.authenticated = false;
  }
});

test('--dane: TLSA without DNSSEC is not used, said so, and the certificate is judged by PKIX', async () => {
  const r = await runCli(['starttls', '--mx', 'wrongdane.test', ...dnsFlags(), '--dane', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.result.dane.status, 'not-validated');
  assert.equal(doc.result.dane.authenticated, false);
  assert.ok(
    doc.events.some(
      (e: { type: string; message?: string }) =>
        e.type === 'warning' && /not DNSSEC-validated .*not used/.test(e.message ?? ''),
    ),
  );
  const strict = await runCli(['starttls', '--mx', 'wrongdane.test', ...dnsFlags(), '--dane', '--tls-verify']);
  assert.equal(strict.code, 6, 'PKIX, as without --dane: the test CA is not trusted');
  assert.match(strict.stderr, /the certificate is not trusted/);
});

test('MX delivery refusals: a null MX, recipients in two domains, neither server nor --mx', async () => {
  const nul = await runCli(['send', '--from', 'a@client.test', '--to', 'b@nullmx.test', ...dnsFlags()]);
  assert.equal(nul.code, 3);
  assert.match(nul.stderr, /null MX \(RFC 7505\): it accepts no mail/);
  const two = await runCli([
    'send',
    '--from',
    'a@client.test',
    '--to',
    'b@deliver.test',
    '--to',
    'c@other.test',
    ...dnsFlags(),
  ]);
  assert.equal(two.code, 2);
  assert.match(two.stderr, /all recipients must be in one domain/);
  const none = await runCli(['ehlo']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /give a server \(host\[:port\]\) or --mx DOMAIN/);
});

test('an MX target that is not a host name is skipped: never looked up, connected to, or sent as SNI', async () => {
  const asked = dns.edns.length;
  const lookup = await runCli([
    'mx-lookup',
    'oddmx.test',
    '--json',
    '--resolver',
    `127.0.0.1:${dns.port}`,
    '--dns-timeout',
    '1s',
  ]);
  const hosts = JSON.parse(lookup.stdout).mx.hosts as Array<{
    exchange: string;
    problems: string[];
    addresses: unknown[];
  }>;
  assert.match(hosts[0]!.problems.join(' '), /not a valid host name/);
  assert.deepEqual(hosts[0]!.addresses, []);
  const before = peer.messages.length;
  const r = await runCli([
    'send',
    '--from',
    'ann@client.test',
    '--to',
    'bob@oddmx.test',
    '--json',
    ...dnsFlags(),
    '--ca-file',
    TLS.ca,
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(JSON.parse(r.stdout).tls.sni, 'localhost');
  assert.equal(peer.messages.length, before + 1);
  assert.ok(!dns.edns.slice(asked).some((q) => q?.name.startsWith('evil')), 'the hostile name was never asked for');
});

test('an MX host whose addresses mean "this host" (0.0.0.0/8, ::, ::ffff:0.0.0.0) is never connected to: exit 3 saying why, no fallback to the domain\'s own address', async () => {
  const before = peer.messages.length;
  const send = await sendTo('bob@thishost.test', '--json');
  assert.equal(send.code, 3, send.stdout + send.stderr);
  const outcome = JSON.parse(send.stdout).outcome;
  assert.equal(outcome.errorClass, 'dns');
  assert.match(outcome.message, /^no usable address for any MX host of thishost\.test \(mx\.thishost\.test: /);
  assert.match(
    outcome.message,
    /0\.0\.0\.0, ::, [0-9a-f:.]+ name no host .*a connection there would reach this machine/,
  );
  const ehlo = await runCli(['ehlo', '--mx', 'thishost.test', ...dnsFlags()]);
  assert.equal(ehlo.code, 3, ehlo.stdout + ehlo.stderr);
  assert.match(ehlo.stderr, /no usable address for any MX host of thishost\.test/);
  assert.doesNotMatch(ehlo.stdout, /^<- *220/m, 'a server was reached');
  assert.equal(peer.messages.length, before, 'the local peer took the message');
  const lookup = await runCli(['mx-lookup', 'thishost.test', '--json', '--resolver', `127.0.0.1:${dns.port}`]);
  assert.equal(lookup.code, 1, lookup.stdout + lookup.stderr);
  const [host] = JSON.parse(lookup.stdout).mx.hosts as Array<{ addresses: unknown[]; problems: string[] }>;
  assert.deepEqual(host!.addresses, []);
  assert.equal(host!.problems.length, 1, host!.problems.join('\n'));
  assert.match(host!.problems[0]!, /^0\.0\.0\.0, ::, [0-9a-f:.]+ name no host \("this host"/);
});

test('"this host" behind a CNAME chain, and as a domain\'s own address (implicit MX, A and AAAA): never connected to by send, ehlo --mx or starttls --mx', async () => {
  const before = peer.messages.length;
  for (const domain of ['cnamezero.test', 'implicitzero.test']) {
    const send = await sendTo(`bob@${domain}`, '--json');
    assert.equal(send.code, 3, send.stdout + send.stderr);
    assert.match(
      JSON.parse(send.stdout).outcome.message,
      new RegExp(`^no usable address for any MX host of ${domain}`),
    );
    for (const command of ['ehlo', 'starttls']) {
      const r = await runCli([command, '--mx', domain, ...dnsFlags()]);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(r.stderr, /name no host \("this host"/);
      assert.doesNotMatch(r.stdout, /^<- *220/m, 'a server was reached');
    }
  }
  assert.equal(peer.messages.length, before, 'the local peer took the message');
});

test('an MX host at 0.1.2.3 (in 0.0.0.0/8) is skipped, said as a warning; the next MX host takes the message', async () => {
  const before = peer.messages.length;
  const r = await sendTo('bob@partzero.test', '--ca-file', TLS.ca);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /mx0\.partzero\.test: 0\.1\.2\.3 names no host \("this host"/);
  assert.equal(peer.messages.length, before + 1);
});

test('a host name typed on the command line whose address means "this host" ("0x0", read as 0.0.0.0) is not connected to: exit 3 saying why; a typed 0.0.0.0 still is', async () => {
  // The exporter's modules log in to the names a scrape picks: a name whose DNS answer is
  // 0.0.0.0 would take the password to whatever listens on this machine.
  let reached = 0;
  const local = net.createServer((s) => {
    reached++;
    s.end('220 local.test ESMTP\r\n');
  });
  await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve));
  const { port } = local.address() as net.AddressInfo;
  try {
    const r = await runCli(['ehlo', `0x0:${port}`, '--json']);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(
      JSON.parse(r.stdout).outcome.message,
      /^cannot use 0x0: 0\.0\.0\.0 names no host \("this host".*give 127\.0\.0\.1 to mean it/,
    );
    assert.equal(reached, 0, 'the local listener was reached');
    const typed = await runCli(['ehlo', `0.0.0.0:${port}`, '--timeout', '2s']);
    assert.match(typed.stdout, /220 local\.test/, typed.stdout + typed.stderr);
    assert.equal(reached, 1);
  } finally {
    local.close();
  }
});
