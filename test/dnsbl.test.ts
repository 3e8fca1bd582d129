import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { dnsblName } from '../src/dns/checks/dnsbl.js';
import { runCli } from './helpers/cli.js';
import { TLS } from './helpers/paths.js';
import { smtpPeer } from './helpers/smtp-peer.js';
import { dnsServer, type DnsServer, type Zone } from './helpers/dns-server.js';

// The lists' zones are only ever asked of this loopback server (--resolver).
const V6 = '2001:db8::25';
const v6name = (zone: string) => dnsblName(V6, zone);
const zone: Zone = {
  'clean.test': [{ type: 'MX', exchange: 'mx.clean.test', priority: 10 }],
  'mx.clean.test': [{ type: 'A', address: '192.0.2.10' }],
  'dirty.test': [{ type: 'MX', exchange: 'mx.dirty.test', priority: 10 }],
  'mx.dirty.test': [
    { type: 'A', address: '192.0.2.66' },
    { type: 'AAAA', address: V6 },
  ],
  '66.2.0.192.zen.spamhaus.org': [
    { type: 'A', address: '127.0.0.4' },
    { type: 'TXT', data: 'https://check.spamhaus.org/query/ip/192.0.2.66' },
  ],
  [v6name('bl.example.test')]: [
    { type: 'A', address: '127.0.0.2' },
    { type: 'TXT', data: 'IPv6 spam seen' },
  ],
  '10.2.0.192.zen.spamhaus.org': [{ type: 'A', address: '127.255.255.254' }],
  '10.2.0.192.slow.test': 'SILENT',
  '10.2.0.192.broken.test': 'SERVFAIL',
  '10.2.0.192.hijack.test': [{ type: 'A', address: '198.51.100.1' }],
  '1.0.0.127.local-list.test': [
    { type: 'A', address: '127.0.0.2' },
    { type: 'TXT', data: 'loopback listed for the test' },
  ],
};

let dns: DnsServer;
before(async () => (dns = await dnsServer(zone)));
after(() => dns.close());
const lookup = async (domain: string, ...args: string[]) => {
  const r = await runCli([
    'mx-lookup',
    domain,
    '--json',
    '--resolver',
    `127.0.0.1:${dns.port}`,
    '--dns-timeout',
    '1s',
    ...args,
  ]);
  const doc = JSON.parse(r.stdout);
  return { code: r.code, finding: doc.checks?.find((c: { check: string }) => c.check === 'DNSBL'), doc };
};

test('RFC 5782 names: IPv4 octets and IPv6 nibbles reversed under the zone', () => {
  assert.equal(dnsblName('192.0.2.66', 'bl.test'), '66.2.0.192.bl.test');
  assert.equal(
    dnsblName('2001:db8::25', 'bl.test'),
    '5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test',
  );
});

test('a listed MX address fails the check (exit 1) with the code explained and the TXT reason', async () => {
  const r = await lookup('dirty.test', '--dnsbl', 'zen.spamhaus.org', '--dnsbl', 'bl.example.test');
  assert.equal(r.code, 1);
  assert.equal(r.finding.status, 'fail');
  assert.match(
    r.finding.summary,
    /192\.0\.2\.66 is listed on zen\.spamhaus\.org \(XBL: a hijacked or infected machine/,
  );
  assert.match(r.finding.summary, /2001:db8::25 is listed on bl\.example\.test \(listed \(127\.0\.0\.2\)\)/);
  assert.ok(r.finding.details.some((d: string) => d.includes('https://check.spamhaus.org/query/ip/192.0.2.66')));
  assert.ok(r.finding.details.some((d: string) => d === '192.0.2.66 on bl.example.test: not listed'));
});

test('not listed passes; refusals, timeouts, SERVFAIL and rewritten answers are "could not check", never listed', async () => {
  const clean = await lookup('clean.test', '--dnsbl', 'bl.example.test');
  assert.equal(clean.code, 0);
  assert.equal(clean.finding.status, 'pass');
  const r = await lookup(
    'clean.test',
    '--dnsbl',
    'zen.spamhaus.org',
    '--dnsbl',
    'slow.test',
    '--dnsbl',
    'broken.test',
    '--dnsbl',
    'hijack.test',
  );
  assert.equal(r.code, 0, 'nothing listed: no failure');
  assert.equal(r.finding.status, 'warn');
  const d = r.finding.details.join('\n');
  assert.match(d, /zen\.spamhaus\.org: could not check: the list refuses queries from public or open resolvers/);
  assert.match(d, /slow\.test: could not check: .*/);
  assert.match(d, /broken\.test: could not check: .*SERVFAIL/);
  assert.match(d, /hijack\.test: could not check: the answer 198\.51\.100\.1 is not in 127\.0\.0\.0\/8/);
});

test('--dnsbl with no zone uses the default lists; a bad zone is a usage error', async () => {
  const r = await lookup('clean.test', '--checks', '--dnsbl');
  assert.equal(r.finding.details.length, 4);
  assert.deepEqual(
    r.finding.details.map((x: string) => x.split(': ')[0]),
    [
      '192.0.2.10 on zen.spamhaus.org',
      '192.0.2.10 on bl.spamcop.net',
      '192.0.2.10 on b.barracudacentral.org',
      '192.0.2.10 on psbl.surriel.com',
    ],
  );
  const bad = await runCli(['mx-lookup', 'clean.test', '--dnsbl', 'not a zone', '--resolver', `127.0.0.1:${dns.port}`]);
  assert.equal(bad.code, 2, bad.stderr);
});

test('probe --dnsbl looks up the probed server address: listed fails the probe, clean passes', async () => {
  const peer = await smtpPeer();
  try {
    const run = (zoneName: string) =>
      runCli([
        'probe',
        `127.0.0.1:${peer.port}`,
        '--ca-file',
        TLS.ca,
        '--json',
        '--dnsbl',
        zoneName,
        '--resolver',
        `127.0.0.1:${dns.port}`,
        '--dns-timeout',
        '1s',
      ]);
    const listed = await run('local-list.test');
    const check = JSON.parse(listed.stdout).results[0].checks.find((c: { name: string }) => c.name === 'dnsbl');
    assert.equal(check.status, 'fail');
    assert.match(check.message, /127\.0\.0\.1 is listed on local-list\.test.*loopback listed for the test/);
    assert.equal(listed.code, 1);
    const clean = await run('bl.example.test');
    assert.equal(
      JSON.parse(clean.stdout).results[0].checks.find((c: { name: string }) => c.name === 'dnsbl').status,
      'pass',
    );
    assert.equal(clean.code, 0, clean.stdout);
  } finally {
    await peer.close();
  }
});
