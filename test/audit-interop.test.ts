import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { dnsServer, type DnsServer } from './helpers/dns-server.js';
import { runCli } from './helpers/cli.js';
import { fixture, WEAK_TLS } from './helpers/paths.js';
import { smtpPeer, type Peer } from './helpers/smtp-peer.js';

/**
 * smtpkit audit against the real peers when they run: Postfix (test/interop/postfix.sh) as
 * an MX, and BIND + validating Unbound (test/interop/dns.sh) for DNSSEC and DANE. Each
 * skips, saying why, when its peer is not up.
 */
const POSTFIX_ENV = process.env.SMTPKIT_INTEROP_ENV ?? '/tmp/smtpkit-interop/env.json';
const DNS_ENV = process.env.SMTPKIT_DNS_ENV ?? '/tmp/smtpkit-dns/env.json';
const postfix:
  | {
      smtp: number;
      smuggling?: {
        strict: number;
        reject: number;
        lenient: number;
        byService: Record<'strict' | 'reject' | 'lenient', { rcpt: string; mailbox: string }>;
      };
    }
  | undefined = existsSync(POSTFIX_ENV) ? JSON.parse(readFileSync(POSTFIX_ENV, 'utf8')) : undefined;
const stack: { unbound: number; zones?: string[] } | undefined = existsSync(DNS_ENV)
  ? JSON.parse(readFileSync(DNS_ENV, 'utf8'))
  : undefined;
const noPostfix = postfix ? false : `no Postfix is up (${POSTFIX_ENV} is missing)`;
const noStack = stack ? false : `no DNS stack is up (${DNS_ENV} is missing)`;
const noAuditZones =
  noStack || (stack!.zones?.includes('audit.test') ? false : `${DNS_ENV} has no audit.test zone (an older bed)`);
const noSmugglingBed =
  noPostfix || (postfix!.smuggling?.byService ? false : `${POSTFIX_ENV} has no smuggling services (an older bed)`);

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
    type Service = 'strict' | 'reject' | 'lenient';
    const audit = async (service: Service) => {
      const { rcpt, mailbox } = smug.byService[service];
      const from = existsSync(mailbox) ? readFileSync(mailbox, 'latin1').length : 0;
      const r = await runCli(
        [
          'audit',
          'example.test',
          '--json',
          '--resolver',
          `127.0.0.1:${dns.port}`,
          '--port',
          String(smug[service]),
          '--ca-file',
          fixture('tls/ca.pem'),
          '--smuggling-rcpt',
          rcpt,
          '--timeout',
          '100s',
        ],
        { limitMs: 120_000 },
      );
      const finding = findings(r.stdout).find((f) => f.check === 'smuggling') as Finding & {
        evidence: string[];
        fix?: string;
      };
      return { finding, mailbox, from };
    };
    // The three services at once, each test's mail in its own mailbox.
    const [strict, reject, lenient] = await Promise.all([audit('strict'), audit('reject'), audit('lenient')]);

    assert.equal(strict.finding.status, 'pass', JSON.stringify(strict.finding));
    assert.match(strict.finding.summary, /none of the 7 variants tested ended the data/);
    // Bare <LF> normalized, DATA ended only at <CRLF>.<CRLF>: all seven arrive whole.
    const whole = await delivered(strict.mailbox, strict.from, 7);
    assert.equal(whole.size, 7);
    for (const [v, m] of whole) assert.match(m, /after the variant/, v);

    assert.equal(reject.finding.status, 'pass', JSON.stringify(reject.finding));
    assert.match(
      reject.finding.evidence.join('\n'),
      /\\n\.\\n: refused the message only after <CRLF>\.<CRLF>: 550 .*bare <LF> received/,
    );
    // Only the three variants without a bare <LF> are delivered, whole.
    const kept = await delivered(reject.mailbox, reject.from, 3);
    assert.deepEqual([...kept.keys()].sort(), ['\\r.\\r', '\\r.\\r\\n', '\\r\\n\\x00.\\r\\n'].sort());

    assert.equal(lenient.finding.status, 'fail', JSON.stringify(lenient.finding));
    assert.match(lenient.finding.summary, /took \\n\.\\n, \\n\.\\r\\n as the end of the data/);
    assert.match(lenient.finding.fix!, /smtpd_forbid_bare_newline = normalize or reject/);
    // What Postfix did agrees: the two variants it took cut their message there; the other five arrive whole.
    const got = await delivered(lenient.mailbox, lenient.from, 7);
    assert.equal(got.size, 7);
    for (const [v, m] of got) {
      const took = v === '\\n.\\n' || v === '\\n.\\r\\n';
      assert.equal(/after the variant/.test(m), !took, `${v}: ${JSON.stringify(m.slice(-120))}`);
    }
  },
);

test(
  'BIND + Unbound, each group both ways: a good domain (CAA, a TLSA rollover pair, SPF, DMARC) passes; a missing CAA warns; an MX without STARTTLS and one with weak TLS (dedicated servers) fail their checks',
  { skip: noAuditZones },
  async () => {
    const plainMx = await smtpPeer({ disabledCommands: ['AUTH', 'STARTTLS'] });
    const weakMx = await smtpPeer({
      // A 1024-bit RSA key, TLS 1.0 and CBC suites with SHA-1, in the client's order.
      key: WEAK_TLS.key(),
      cert: WEAK_TLS.cert(),
      disabledCommands: ['AUTH'],
      minVersion: 'TLSv1',
      ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA:DHE-RSA-AES128-SHA:@SECLEVEL=0',
      honorCipherOrder: false,
    });
    try {
      const audit = (domain: string, port: number) =>
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
            String(port),
            '--ca-file',
            fixture('tls/ca.pem'),
            '--timeout',
            '60s',
          ],
          { limitMs: 90_000 },
        );
      const [good, sec, plaintext, weak] = await Promise.all([
        audit('audit.test', peer.port),
        audit('sec.test', peer.port),
        audit('plaintext.audit.test', plainMx.port),
        audit('weak.audit.test', weakMx.port),
      ]);
      const of = (r: { stdout: string }, ...checks: string[]) =>
        Object.fromEntries(checks.map((c) => [c, statusOf(findings(r.stdout), c).join(',')]));
      // The good domain: signed, a CAA record, SPF and DMARC, and two TLSA records (current and next key).
      assert.deepEqual(
        of(good, 'dnssec-domain', 'dnssec-mx', 'caa', 'spf', 'dmarc', 'dane', 'starttls', 'tls-protocols'),
        {
          'dnssec-domain': 'pass',
          'dnssec-mx': 'pass',
          caa: 'pass',
          spf: 'pass',
          dmarc: 'pass',
          dane: 'pass',
          starttls: 'pass',
          'tls-protocols': 'pass',
        },
      );
      // sec.test has no CAA anywhere up its tree, and one TLSA record: valid, no rollover.
      assert.deepEqual(of(sec, 'caa', 'dane'), { caa: 'warn', dane: 'warn' });
      assert.match(findings(sec.stdout).find((f) => f.check === 'caa')!.summary, /no CAA record/);
      // No STARTTLS on the MX; no SPF record for the subdomain.
      assert.deepEqual(of(plaintext, 'starttls', 'tls-version', 'spf'), {
        starttls: 'fail',
        'tls-version': 'not-tested',
        spf: 'fail',
      });
      // Weak TLS: TLS 1.0 accepted, the client's order, a 1024-bit key.
      assert.deepEqual(of(weak, 'starttls', 'tls-protocols', 'cipher-order', 'tls-ciphers'), {
        starttls: 'pass',
        'tls-protocols': 'warn',
        'cipher-order': 'warn',
        'tls-ciphers': 'fail',
      });
      assert.match(findings(weak.stdout).find((f) => f.check === 'tls-protocols')!.summary, /TLSv1\.0/);
    } finally {
      await Promise.all([plainMx.close(), weakMx.close()]);
    }
  },
);
