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
const postfix:
  | { smtp: number; smuggling?: { strict: number; reject: number; lenient: number; rcpt: string; mailbox: string } }
  | undefined = existsSync(POSTFIX_ENV) ? JSON.parse(readFileSync(POSTFIX_ENV, 'utf8')) : undefined;
const stack: { unbound: number } | undefined = existsSync(DNS_ENV)
  ? JSON.parse(readFileSync(DNS_ENV, 'utf8'))
  : undefined;
const noPostfix = postfix ? false : `no Postfix is up (${POSTFIX_ENV} is missing)`;
const noStack = stack ? false : `no DNS stack is up (${DNS_ENV} is missing)`;
const noSmugglingBed =
  noPostfix || (postfix!.smuggling ? false : `${POSTFIX_ENV} has no smuggling services (an older bed)`);

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

/** The messages in an mbox, by the end-of-data variant their subject names (the audit's own test messages). */
function byVariant(mbox: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of mbox.split(/^From /m)) {
    const v = /^Subject: smtpkit audit: SMTP smuggling test \(end of data (.+)\)$/m.exec(m);
    if (v) out.set(v[1]!, m);
  }
  return out;
}

async function delivered(mailbox: string, from: number, count: number): Promise<Map<string, string>> {
  for (let i = 0; i < 100; i++) {
    const got = byVariant(existsSync(mailbox) ? readFileSync(mailbox, 'latin1').slice(from) : '');
    if (got.size >= count) return got;
    await new Promise((r) => setTimeout(r, 100));
  }
  return byVariant(existsSync(mailbox) ? readFileSync(mailbox, 'latin1').slice(from) : '');
}

test(
  'Postfix 3.7 and SMTP smuggling: smtpd_forbid_bare_newline = yes or reject (no exclusions) passes; the Debian default fails naming \\n.\\n and \\n.\\r\\n and the setting, and the mail delivered agrees',
  { skip: noSmugglingBed },
  async () => {
    const smug = postfix!.smuggling!;
    const audit = (port: number) =>
      runCli(
        [
          'audit',
          'example.test',
          '--json',
          '--resolver',
          `127.0.0.1:${dns.port}`,
          '--port',
          String(port),
          '--ca-file',
          fixture('tls/ca.pem'),
          '--smuggling-rcpt',
          smug.rcpt,
          '--timeout',
          '100s',
        ],
        { limitMs: 120_000 },
      );
    const smuggling = (stdout: string) =>
      findings(stdout).find((f) => f.check === 'smuggling') as Finding & { evidence: string[]; fix?: string };
    // One service at a time, so each mailbox slice holds one audit's seven messages.
    const size = () => (existsSync(smug.mailbox) ? readFileSync(smug.mailbox, 'latin1').length : 0);

    let from = size();
    const strict = smuggling((await audit(smug.strict)).stdout);
    assert.equal(strict.status, 'pass', JSON.stringify(strict));
    assert.match(strict.summary, /none of the 7 variants tested ended the data/);
    // Bare <LF> normalized, DATA ended only at <CRLF>.<CRLF>: all seven arrive whole.
    const whole = await delivered(smug.mailbox, from, 7);
    assert.equal(whole.size, 7);
    for (const [v, m] of whole) assert.match(m, /after the variant/, v);

    from = size();
    const reject = smuggling((await audit(smug.reject)).stdout);
    assert.equal(reject.status, 'pass', JSON.stringify(reject));
    assert.match(
      reject.evidence.join('\n'),
      /\\n\.\\n: refused the message only after <CRLF>\.<CRLF>: 550 .*bare <LF> received/,
    );
    // Only the three variants without a bare <LF> are delivered, whole.
    const kept = await delivered(smug.mailbox, from, 3);
    assert.deepEqual([...kept.keys()].sort(), ['\\r.\\r', '\\r.\\r\\n', '\\r\\n\\x00.\\r\\n'].sort());

    from = size();
    const lenient = smuggling((await audit(smug.lenient)).stdout);
    assert.equal(lenient.status, 'fail', JSON.stringify(lenient));
    assert.match(lenient.summary, /took \\n\.\\n, \\n\.\\r\\n as the end of the data/);
    assert.match(lenient.fix!, /smtpd_forbid_bare_newline = normalize or reject/);
    // What Postfix did agrees: the two variants it took cut their message there; the other five arrive whole.
    const got = await delivered(smug.mailbox, from, 7);
    assert.equal(got.size, 7);
    for (const [v, m] of got) {
      const took = v === '\\n.\\n' || v === '\\n.\\r\\n';
      assert.equal(/after the variant/.test(m), !took, `${v}: ${JSON.stringify(m.slice(-120))}`);
    }
  },
);
