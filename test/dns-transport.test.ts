import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import dgram from 'node:dgram';
import { after, before, test } from 'node:test';
import DNS from 'dns2';
import { daneMatch } from '../src/dns/checks/dane.js';
import { adCaveat } from '../src/dns/resolver.js';
import { runCli } from './helpers/cli.js';
import { dnsServer, type DnsServer, type Zone } from './helpers/dns-server.js';
import { readFixture } from './helpers/paths.js';

/** Fast cases over the dns2 fake server and raw sockets; the real stack is in dns-interop.test.ts. */
const zone: Zone = {
  'one.test': [{ type: 'MX', exchange: 'mx.one.test', priority: 10 }],
  'mx.one.test': [{ type: 'A', address: '127.0.0.1' }],
  '_25._tcp.mx.one.test': [{ type: 'TLSA', data: Buffer.concat([Buffer.from([3, 1, 1]), Buffer.alloc(32, 1)]) }],
  '1.0.0.127.in-addr.arpa': 'SERVFAIL',
};
const failing: Zone = { 'one.test': 'SERVFAIL' };
const refusing: Zone = { 'one.test': 'REFUSED', 'mx.one.test': 'REFUSED' };

let good: DnsServer;
let servfail: DnsServer;
let refused: DnsServer;
before(async () => {
  [good, servfail, refused] = await Promise.all([dnsServer(zone), dnsServer(failing), dnsServer(refusing)]);
});
after(async () => {
  await Promise.all([good.close(), servfail.close(), refused.close()]);
});
const at = (s: DnsServer) => ['--resolver', `127.0.0.1:${s.port}`];

test('a SERVFAIL from the first resolver is final: the second is not asked', async () => {
  const before = good.asked.udp;
  const r = await runCli(['mx-lookup', 'one.test', ...at(servfail), ...at(good), '--dns-timeout', '1s', '--json']);
  assert.equal(r.code, 3);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.outcome.errorClass, 'dns');
  assert.equal(doc.outcome.dnsError.rcode, 'SERVFAIL');
  assert.match(doc.outcome.message, /gave no Extended DNS Error, so the cause is unknown/);
  assert.equal(good.asked.udp, before, 'the second resolver was never asked');
});

test('REFUSED moves on to the next resolver', async () => {
  const r = await runCli(['mx-lookup', 'one.test', ...at(refused), ...at(good), '--dns-timeout', '1s', '-q']);
  assert.equal(r.code, 0, r.stderr);
});

test('every query carries EDNS (OPT, 1232 bytes); the DO bit only where DNSSEC status matters (TLSA)', async () => {
  good.edns.length = 0;
  const r = await runCli([
    'mx-lookup',
    'one.test',
    ...at(good),
    '--checks',
    '--https-port',
    '9',
    '--dns-timeout',
    '1s',
  ]);
  assert.ok(r.code !== null);
  assert.ok(good.edns.length > 5);
  for (const e of good.edns) {
    assert.ok(e, 'an OPT record in every query');
    assert.equal(e.payload, 1232);
    assert.equal(e.do, e.type === 52, `${e.name} type ${e.type}`);
  }
});

test('a failed PTR look-up is said as a failure, never as "no reverse DNS"', async () => {
  const r = await runCli(['mx-lookup', 'one.test', ...at(good), '--ptr', '--dns-timeout', '1s', '--json']);
  const host = JSON.parse(r.stdout).mx.hosts[0];
  assert.match(host.addresses[0].ptrError, /SERVFAIL/);
  assert.match(host.problems.join('\n'), /127\.0\.0\.1: the reverse DNS \(PTR\) look-up failed \(SERVFAIL\)/);
  assert.doesNotMatch(host.problems.join('\n'), /has no reverse DNS/);
});

test('UDP: an answer with our ID but another question is ignored; the real answer is taken', async () => {
  // A server that first answers a different name with the same ID (a spoofing attempt), then the truth.
  const { Packet } = DNS;
  const socket = dgram.createSocket('udp4');
  socket.on('message', (data, from) => {
    const q = Packet.parse(data);
    const forged = Packet.createResponseFromRequest(q);
    forged.questions = [{ name: 'other.test', type: 15, class: 1 } as never];
    forged.answers.push({
      name: 'other.test',
      type: 15,
      class: 1,
      ttl: 60,
      exchange: 'evil.test',
      priority: 1,
    } as never);
    const real = Packet.createResponseFromRequest(q);
    const name = String(q.questions[0]!.name);
    if (q.questions[0]!.type === 15)
      real.answers.push({ name, type: 15, class: 1, ttl: 60, exchange: 'mx.real.test', priority: 5 } as never);
    socket.send(forged.toBuffer(), from.port, from.address);
    setTimeout(() => socket.send(real.toBuffer(), from.port, from.address), 20);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  try {
    const r = await runCli([
      'mx-lookup',
      'real.test',
      '--resolver',
      `127.0.0.1:${socket.address().port}`,
      '--dns-timeout',
      '2s',
      '--json',
    ]);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.mx.hosts[0].exchange, 'mx.real.test', r.stdout);
    assert.doesNotMatch(r.stdout, /evil\.test/);
  } finally {
    socket.close();
  }
});

test('the AD bit from a resolver across a network comes with a caveat; from loopback it does not', () => {
  assert.match(
    adCaveat({ authenticated: true, local: false, server: '192.0.2.53:53' })!,
    /only as trustworthy as the network path .*RFC 6698 §4\.1, RFC 7672 §2\.1/,
  );
  assert.equal(adCaveat({ authenticated: true, local: true, server: '127.0.0.1:53' }), undefined);
  assert.equal(adCaveat({ authenticated: false, local: false, server: '192.0.2.53:53' }), undefined);
});

test('DANE-TA matches only a certificate that really signed the chain below it', () => {
  const der = (name: string) => new X509Certificate(readFixture(`tls/${name}`)).raw;
  const ta = (d: Buffer) => ({
    usage: 2,
    selector: 0,
    matchingType: 1,
    data: createHash('sha256').update(d).digest('hex'),
  });
  const [leaf, ca, other] = [der('server.pem'), der('ca.pem'), der('mtasts.pem')];
  assert.ok(daneMatch([ta(ca)], [leaf, ca]).matched, 'the CA that issued the leaf');
  // mta-sts.good.test's certificate sent along as if it were the issuer: it signed nothing.
  assert.equal(daneMatch([ta(other)], [leaf, other]).matched, undefined);
  assert.equal(daneMatch([ta(ca)], [leaf]).matched, undefined, 'a TA the server does not send cannot match');
});

test('DoH: the same packet (EDNS included) over HTTPS, the answer checked against the question', async () => {
  const https = await import('node:https');
  const { TLS } = await import('./helpers/paths.js');
  const { Packet } = DNS;
  const seen: Array<{ class: number } | undefined> = [];
  const server = https.createServer({ key: TLS.key(), cert: TLS.cert() }, (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const q = Packet.parse(Buffer.concat(parts));
      seen.push((q.additionals ?? []).find((r) => r && r.type === 41) as unknown as { class: number } | undefined);
      const a = Packet.createResponseFromRequest(q);
      const name = String(q.questions[0]!.name);
      if (q.questions[0]!.type === 15)
        a.answers.push({ name, type: 15, class: 1, ttl: 60, exchange: 'mx.doh.test', priority: 1 } as never);
      if (q.questions[0]!.type === 1)
        a.answers.push({ name, type: 1, class: 1, ttl: 60, address: '127.0.0.1' } as never);
      res.writeHead(200, { 'content-type': 'application/dns-message' });
      res.end(a.toBuffer());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const r = await runCli([
      'mx-lookup',
      'doh.test',
      '--doh',
      `https://127.0.0.1:${port}/dns-query`,
      '--ca-file',
      TLS.ca,
      '--dns-timeout',
      '2s',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(JSON.parse(r.stdout).mx.hosts[0].exchange, 'mx.doh.test');
    assert.ok(seen.length && seen.every((o) => o?.class === 1232), 'EDNS with a 1232-byte payload on every question');
  } finally {
    await new Promise((r) => server.close(r));
  }
});
