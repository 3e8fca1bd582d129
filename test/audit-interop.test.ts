import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { dnsServer, type DnsServer } from './helpers/dns-server.js';
import { runCli } from './helpers/cli.js';
import { fixture } from './helpers/paths.js';
import { smtpPeer, type Peer } from './helpers/smtp-peer.js';

/**
 * smtpkit audit against the real peers when they run: Postfix (test/interop/postfix.sh) as
 * an MX, and BIND + validating Unbound (test/interop/dns.sh) for DNSSEC and DANE. Each
 * skips, saying why, when its peer is not up.
 */
const POSTFIX_ENV = process.env.SMTPKIT_INTEROP_ENV ?? '/tmp/smtpkit-interop/env.json';
const DNS_ENV = process.env.SMTPKIT_DNS_ENV ?? '/tmp/smtpkit-dns/env.json';
const postfix: { smtp: number } | undefined = existsSync(POSTFIX_ENV)
  ? JSON.parse(readFileSync(POSTFIX_ENV, 'utf8'))
  : undefined;
const stack: { unbound: number } | undefined = existsSync(DNS_ENV)
  ? JSON.parse(readFileSync(DNS_ENV, 'utf8'))
  : undefined;
const noPostfix = postfix ? false : `no Postfix is up (${POSTFIX_ENV} is missing)`;
const noStack = stack ? false : `no DNS stack is up (${DNS_ENV} is missing)`;

interface Finding {
  check: string;
  subject: string | null;
  status: string;
  summary: string;
}
const findings = (stdout: string): Finding[] => JSON.parse(stdout).report.findings;
const statusOf = (list: Finding[], check: string) => list.filter((f) => f.check === check).map((f) => f.status);

let dns: DnsServer;
let peer: Peer;
before(async () => {
  dns = await dnsServer({
    'example.test': [
      { type: 'MX', exchange: 'mail.test', priority: 10 },
      { type: 'TXT', data: 'v=spf1 ip4:127.0.0.1 -all' },
    ],
    'mail.test': [{ type: 'A', address: '127.0.0.1' }],
    '1.0.0.127.in-addr.arpa': [{ type: 'PTR', domain: 'mail.test' }],
  });
  peer = await smtpPeer({ disabledCommands: ['AUTH'] });
});
after(async () => {
  await Promise.all([dns.close(), peer.close()]);
});

test(
  'Postfix as the MX: STARTTLS works, relaying refused in all 16 forms, AUTH offered before TLS, no version shown',
  { skip: noPostfix },
  async () => {
    const r = await runCli(
      [
        'audit',
        'example.test',
        '--json',
        '--resolver',
        `127.0.0.1:${dns.port}`,
        '--port',
        String(postfix!.smtp),
        '--ca-file',
        fixture('tls/ca.pem'),
        '--timeout',
        '40s',
      ],
      { limitMs: 60_000 },
    );
    const list = findings(r.stdout);
    assert.deepEqual(statusOf(list, 'reachability'), ['pass']);
    assert.deepEqual(statusOf(list, 'starttls'), ['pass']);
    assert.deepEqual(statusOf(list, 'open-relay'), ['pass']);
    assert.match(list.find((f) => f.check === 'open-relay')!.summary, /16 of 16 address forms refused/);
    // This bed has no postmaster@example.test: VRFY answers both addresses alike (550), so it tells nobody apart.
    assert.deepEqual(statusOf(list, 'vrfy'), ['pass']);
    assert.deepEqual(statusOf(list, 'expn'), ['pass']);
    // Debian's default: AUTH on the plain port before STARTTLS.
    assert.deepEqual(statusOf(list, 'auth-before-tls'), ['fail']);
    assert.deepEqual(statusOf(list, 'version-disclosure'), ['pass']);
    assert.equal(r.code, 1);
  },
);

test(
  'BIND + Unbound: a signed domain validates and its DANE record matches; unsigned fails; bogus fails with EDE 6 and exits 3',
  { skip: noStack },
  async () => {
    const audit = (domain: string) =>
      runCli(
        [
          'audit',
          domain,
          '--json',
          '--resolver',
          `127.0.0.1:${stack!.unbound}`,
          '--dns-timeout',
          '2s',
          '--port',
          String(peer.port),
          '--ca-file',
          fixture('tls/ca.pem'),
          '--timeout',
          '40s',
        ],
        { limitMs: 60_000 },
      );
    const sec = findings((await audit('sec.test')).stdout);
    assert.deepEqual(statusOf(sec, 'dnssec-domain'), ['pass']);
    assert.deepEqual(statusOf(sec, 'dnssec-mx'), ['pass']);
    // One usable TLSA record that matches: valid, but no rollover scheme.
    assert.deepEqual(statusOf(sec, 'dane'), ['warn']);
    const plain = findings((await audit('plain.test')).stdout);
    assert.deepEqual(statusOf(plain, 'dnssec-domain'), ['fail']);
    assert.match(plain.find((f) => f.check === 'dnssec-domain')!.summary, /not DNSSEC-validated/);
    const bogus = await audit('bogus.test');
    assert.equal(bogus.code, 3);
    const b = findings(bogus.stdout).find((f) => f.check === 'dnssec-domain')!;
    assert.equal(b.status, 'fail');
    assert.match(b.summary, /DNSSEC validation failed \(bogus\): SERVFAIL, Extended DNS Error 6 \(DNSSEC Bogus\)/);
  },
);
