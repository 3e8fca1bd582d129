import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runAudit } from '../src/audit/audit.js';
import { compareBaseline } from '../src/audit/baseline.js';
import type { AuditOptions } from '../src/audit/check.js';
import type { AuditFinding, AuditReport, AuditStatus } from '../src/audit/result.js';
import { AUDIT_CHECKS } from '../src/audit/table.js';
import { Resolver } from '../src/dns/resolver.js';
import { auditBed, smugglingServer, type AuditBed } from './helpers/audit-bed.js';
import { DH1024, readFixture, TLS } from './helpers/paths.js';
import { lineServer, rawServer } from './helpers/raw-server.js';
import { smtpPeer } from './helpers/smtp-peer.js';

/** The whole audit engine on loopback: a test DNS server, smtp-server as a well-kept MX, a raw server as a careless one. */

let bed: AuditBed;
before(async () => {
  bed = await auditBed({
    // A careless TLS set-up: a second MX whose address answers nothing, a certificate for another
    // name, a TLSA record that matches nothing, an address on a blocklist.
    'weak.test': [
      { type: 'MX', exchange: 'weak.mx.test', priority: 10 },
      { type: 'MX', exchange: 'gone.mx.test', priority: 20 },
    ],
    'weak.mx.test': [{ type: 'A', address: '127.0.0.1' }],
    'gone.mx.test': [{ type: 'A', address: '127.0.0.2' }],
    '_25._tcp.weak.mx.test': [{ type: 'TLSA', data: Buffer.concat([Buffer.from([3, 1, 1]), Buffer.alloc(32, 7)]) }],
    '1.0.0.127.bl.test': [{ type: 'A', address: '127.0.0.2' }],
    // CAA climbed from weak.mx.test to mx.test: a malformed issue value and an unknown critical tag.
    'mx.test': [
      { type: 'CAA', flags: 0, tag: 'issue', value: 'not a ca name' },
      { type: 'CAA', flags: 128, tag: 'tbs', value: 'x' },
    ],
  });
});
after(() => bed.close());

function options(domain: string, port: number, extra: Partial<AuditOptions> = {}): AuditOptions {
  return {
    domain,
    resolver: new Resolver({
      servers: [{ address: '127.0.0.1', port: bed.dns.port }],
      tcp: false,
      doh: undefined,
      timeoutMs: 2000,
      ca: undefined,
    }),
    port,
    timeoutMs: 30_000,
    waitMs: 5000,
    ehloName: 'audit.test',
    ca: readFixture('tls/ca.pem'),
    httpsPort: bed.policyPort,
    dkimSelectors: [],
    dnsbl: [],
    scanConcurrency: 4,
    smugglingPauseMs: 300,
    maxMx: 10,
    // Port 1 for the submission and mailbox ports of the MX hosts: closed here whatever listens on 587 or 143.
    servicePorts: { submission: 1, submissions: 1, imap: 1, imaps: 1, pop3: 1, pop3s: 1 },
    ...extra,
  };
}

const status = (r: AuditReport, check: string): AuditStatus[] =>
  r.findings.filter((f) => f.check === check).map((f) => f.status);
const one = (r: AuditReport, check: string): AuditFinding => {
  const list = r.findings.filter((f) => f.check === check);
  assert.equal(list.length, 1, `${check}: ${JSON.stringify(list)}`);
  return list[0]!;
};

let goodReport: AuditReport;

test('a well-kept domain: every check passes or says why it was not tested, scores add up', async () => {
  bed.dns.authenticated = true;
  try {
    goodReport = await runAudit(options('good.test', bed.good.port));
  } finally {
    bed.dns.authenticated = false;
  }
  const r = goodReport;
  const failing = r.findings.filter((f) => f.status === 'fail' || f.status === 'warn');
  // IPv4 only (no AAAA for mail.test in this zone) is the one warning; nothing fails.
  assert.deepEqual(
    failing.map((f) => `${f.check}: ${f.summary}`),
    ['mx-addresses: IPv4 only: no AAAA record, so IPv6-only senders cannot reach it'],
  );
  for (const check of [
    'mx',
    'reachability',
    'fcrdns',
    'greeting-ptr',
    'dnssec-domain',
    'dnssec-mx',
    'spf',
    'dmarc',
    'dmarc-policy',
    'dmarc-rua',
    'dkim',
    'mta-sts',
    'tls-rpt',
    'starttls',
    'tls-version',
    'tls-protocols',
    'tls-ciphers',
    'certificate-trust',
    'certificate-name',
    'certificate-expiry',
    'dane',
    'open-relay',
    'auth-before-tls',
    'version-disclosure',
    'greeting',
    'caa',
    'ns-ipv6',
    'submission',
    'mailbox-access',
  ])
    assert.deepEqual(
      status(r, check),
      ['pass'],
      `${check}: ${JSON.stringify(r.findings.filter((f) => f.check === check))}`,
    );
  // Every check of the table appears, the ones not built as not tested with that reason.
  for (const c of AUDIT_CHECKS)
    assert.ok(
      r.findings.some((f) => f.check === c.name && f.group === c.group),
      c.name,
    );
  assert.equal(one(r, 'rpki').summary, 'needs a validator: --rpki-validator URL');
  assert.equal(one(r, 'smuggling').status, 'not-tested');
  assert.match(one(r, 'dnsbl').summary, /--dnsbl/);
  assert.match(
    one(r, 'dmarc-rua').evidence.join('\n'),
    /good\.test\._report\._dmarc\.reports\.test: v=DMARC1 \(authorised\)/,
  );
  assert.match(one(r, 'dane').summary, /2 usable TLSA records/);
  // Scores: pass 1, warn 0.5, fail 0 over the tested findings.
  const dnsGroup = r.groups.find((g) => g.group === 'dns')!;
  assert.equal(dnsGroup.warn, 1);
  assert.equal(dnsGroup.score, Math.round((100 * (dnsGroup.pass + 0.5)) / (dnsGroup.pass + 1)));
  assert.equal(r.deadlineExceeded, false);
  assert.equal(r.dnsError, null);
  assert.ok(r.score! > 90 && r.score! < 100, String(r.score));
  assert.ok(r.findings.every((f) => (f.status === 'pass' || f.status === 'not-tested' ? f.fix === null : !!f.fix)));
});

test('a careless domain: CNAME MX, no SPF/DMARC policy/DKIM, no STARTTLS, open relay, VRFY tells users apart, AUTH in clear, version in the banner', async () => {
  const r = await runAudit(options('bad.test', bed.bad.port));
  assert.deepEqual(status(r, 'mx'), ['warn']);
  assert.match(one(r, 'mx').summary, /CNAME to host\.bad\.test/);
  assert.deepEqual(status(r, 'ns-ipv6'), ['fail']);
  assert.match(one(r, 'ns-ipv6').summary, /1 of 1 name servers of bad\.test have no IPv6 address/);
  assert.deepEqual(status(r, 'caa'), ['warn']);
  assert.deepEqual(status(r, 'spf'), ['fail']);
  assert.deepEqual(status(r, 'dmarc-policy'), ['fail']);
  assert.match(one(r, 'dmarc-policy').summary, /p=none/);
  assert.deepEqual(status(r, 'dmarc-rua'), ['fail']);
  assert.match(one(r, 'dmarc-rua').summary, /elsewhere\.test, which does not authorise them/);
  assert.deepEqual(status(r, 'dkim'), ['fail']);
  assert.match(one(r, 'dkim').summary, /_domainkey\.bad\.test does not exist \(NXDOMAIN\)/);
  assert.deepEqual(status(r, 'dnssec-domain'), ['fail']);
  // 127.0.0.1's PTR is mail.test (forward-confirmed), not the name this server greets with.
  assert.deepEqual(status(r, 'fcrdns'), ['pass']);
  assert.deepEqual(status(r, 'greeting-ptr'), ['warn']);
  assert.deepEqual(status(r, 'starttls'), ['fail']);
  assert.match(one(r, 'starttls').summary, /STARTTLS is not offered/);
  assert.deepEqual(status(r, 'open-relay'), ['fail']);
  assert.equal(one(r, 'open-relay').evidence.length, 16);
  assert.deepEqual(status(r, 'vrfy'), ['warn']);
  assert.deepEqual(status(r, 'auth-before-tls'), ['fail']);
  assert.deepEqual(status(r, 'version-disclosure'), ['warn']);
  assert.match(one(r, 'version-disclosure').summary, /Postfix 3\.4\.1/);
  // No TLS: the TLS checks say why they were not judged, never pass.
  for (const check of ['tls-version', 'certificate-trust'])
    assert.ok(
      status(r, check).every((s) => s === 'not-tested'),
      check,
    );
  assert.deepEqual(status(r, 'dane'), ['fail']);
  // Worst first is the renderers' job; the fix is the check's.
  assert.match(one(r, 'open-relay').fix!, /reject_unauth_destination/);
});

test('a weak MX: an unreachable address, old TLS versions and suites in the client’s order, a certificate for another name, a TLSA mismatch, a blocklisted address', async () => {
  const weak = await smtpPeer({
    key: TLS.wrongNameKey(),
    cert: TLS.wrongNameCert(),
    disabledCommands: ['AUTH'],
    minVersion: 'TLSv1',
    ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:AES128-SHA:@SECLEVEL=0',
    dhparam: DH1024(),
    honorCipherOrder: false,
  });
  bed.dns.authenticated = true;
  let r: AuditReport;
  try {
    r = await runAudit(options('weak.test', weak.port, { dnsbl: ['bl.test'] }));
  } finally {
    bed.dns.authenticated = false;
    await weak.close();
  }
  const by = (check: string) => r.findings.filter((f) => f.check === check).map((f) => `${f.subject}: ${f.status}`);
  assert.deepEqual(by('reachability'), ['weak.mx.test (127.0.0.1): pass', 'gone.mx.test (127.0.0.2): fail']);
  assert.match(
    r.findings.find((f) => f.check === 'reachability' && f.status === 'fail')!.summary,
    /refused|ECONNREFUSED|connect/i,
  );
  // Port 25 is opportunistic TLS: a certificate for another name is a warning, not a failure.
  assert.deepEqual(by('certificate-name'), ['weak.mx.test (127.0.0.1): warn', 'gone.mx.test (127.0.0.2): not-tested']);
  assert.deepEqual(by('tls-protocols'), ['weak.mx.test (127.0.0.1): warn', 'gone.mx.test (127.0.0.2): not-tested']);
  assert.match(r.findings.find((f) => f.check === 'tls-protocols')!.summary, /TLSv1\.0.*deprecated by RFC 8996/);
  assert.notEqual(r.findings.find((f) => f.check === 'tls-ciphers')!.status, 'pass');
  assert.deepEqual(by('cipher-order'), ['weak.mx.test (127.0.0.1): warn', 'gone.mx.test (127.0.0.2): not-tested']);
  // A 1024-bit DHE group: insufficient, and the summary names that group, not every group seen.
  assert.deepEqual(by('key-exchange'), ['weak.mx.test (127.0.0.1): fail', 'gone.mx.test (127.0.0.2): not-tested']);
  assert.match(
    r.findings.find((f) => f.check === 'key-exchange')!.summary,
    /^finite-field DH 1024: insufficient \(under 2048 bits\)/,
  );
  assert.deepEqual(by('dane'), ['weak.mx.test: fail', 'gone.mx.test: fail']);
  assert.match(
    r.findings.find((f) => f.check === 'dane')!.summary,
    /no usable TLSA record matches the certificate presented/,
  );
  assert.deepEqual(by('caa'), ['weak.mx.test: fail', 'gone.mx.test: fail']);
  assert.match(
    r.findings.find((f) => f.check === 'caa')!.summary,
    /issue "not a ca name" is not .*; an unknown critical tag "tbs"/,
  );
  assert.deepEqual(status(r, 'dnsbl'), ['fail']);
  assert.match(one(r, 'dnsbl').summary, /127\.0\.0\.1 is listed on bl\.test/);
});

test('a greeting delay (postscreen, a tarpit) is said on reachability, and the checks behind it still run', async () => {
  const slow = await rawServer((socket, index) => {
    // Only the first connection waits: the relay and enumeration sessions after it greet at once.
    setTimeout(() => socket.write('220 host.bad.test ESMTP\r\n'), index === 0 ? 2300 : 0);
    lineServer(socket, (line) => {
      if (/^QUIT/i.test(line)) return null;
      if (/^EHLO/i.test(line)) return '250 host.bad.test\r\n';
      if (/^RCPT/i.test(line)) return '554 5.7.1 Relay access denied\r\n';
      return '250 2.0.0 Ok\r\n';
    });
  });
  try {
    const r = await runAudit(options('bad.test', slow.port));
    assert.deepEqual(status(r, 'reachability'), ['pass']);
    assert.match(one(r, 'reachability').summary, /the greeting took \d+ ms: a greeting delay or tarpit/);
    assert.deepEqual(status(r, 'open-relay'), ['pass']);
  } finally {
    await slow.close();
  }
});

test('SMTP smuggling with --smuggling-rcpt: a server that ends DATA at a bare LF.LF fails naming the variant; one that waits for CRLF.CRLF passes; without the address it is not tested', async () => {
  const vulnerable = await smugglingServer(true);
  const safe = await smugglingServer(false);
  try {
    const rcpt = { smugglingRcpt: 'me@bad.test' };
    const bad = await runAudit(options('bad.test', vulnerable.port, rcpt));
    assert.deepEqual(status(bad, 'smuggling'), ['fail']);
    assert.match(one(bad, 'smuggling').summary, /took \\n\.\\n as the end of the data/);
    assert.match(one(bad, 'smuggling').evidence.join('\n'), /\\n\.\\n: answered 250 Ok: queued before <CRLF>\.<CRLF>/);
    assert.ok(vulnerable.ends.includes('bare'));
    const good = await runAudit(options('bad.test', safe.port, rcpt));
    assert.deepEqual(status(good, 'smuggling'), ['pass']);
    assert.match(one(good, 'smuggling').summary, /none of the 7 variants tested ended the data/);
    // Seven messages, each ended only by the real <CRLF>.<CRLF>.
    assert.deepEqual(safe.ends, Array(7).fill('crlf'));
    const without = await runAudit(options('bad.test', safe.port));
    assert.equal(one(without, 'smuggling').status, 'not-tested');
    assert.match(one(without, 'smuggling').summary, /give --smuggling-rcpt/);
  } finally {
    await Promise.all([vulnerable.close(), safe.close()]);
  }
});

test('SMTP smuggling: a server that refuses bare LF only when the data ends at <CRLF>.<CRLF> (Postfix smtpd_forbid_bare_newline = reject) passes: it took no variant as the end', async () => {
  const refusing = await smugglingServer(false, { refuseBareLf: true });
  try {
    const r = await runAudit(options('bad.test', refusing.port, { smugglingRcpt: 'me@bad.test' }));
    assert.deepEqual(status(r, 'smuggling'), ['pass'], JSON.stringify(one(r, 'smuggling')));
    assert.match(one(r, 'smuggling').summary, /none of the 7 variants tested ended the data/);
    const evidence = one(r, 'smuggling').evidence.join('\n');
    assert.match(evidence, /\\n\.\\n: refused the message only after <CRLF>\.<CRLF>: 550 .*bare <LF> received/);
    assert.match(evidence, /\\r\.\\r\\n: answered only after <CRLF>\.<CRLF>: 250/);
    assert.deepEqual(refusing.ends, Array(7).fill('crlf'));
  } finally {
    await refusing.close();
  }
});

test('no MX host at all, a null MX, a bogus signature: the domain-level verdicts, and the MX checks not tested with the reason', async () => {
  const none = await runAudit(options('nothing.test', 1));
  assert.deepEqual(status(none, 'mx'), ['fail']);
  assert.match(one(none, 'mx').summary, /no MX records and no address/);
  assert.equal(one(none, 'starttls').status, 'not-tested');
  assert.match(one(none, 'starttls').summary, /no mail host known/);
  const nul = await runAudit(options('nullmx.test', 1));
  assert.deepEqual(status(nul, 'mx'), ['pass']);
  assert.match(one(nul, 'open-relay').summary, /null MX/);
  const bogus = await runAudit(options('bogus.test', 1));
  assert.deepEqual(status(bogus, 'dnssec-domain'), ['fail']);
  assert.match(
    one(bogus, 'dnssec-domain').summary,
    /DNSSEC validation failed \(bogus\): SERVFAIL, Extended DNS Error 6 \(DNSSEC Bogus\): signature invalid/,
  );
  assert.match(bogus.dnsError ?? '', /SERVFAIL/);
});

test('the whole-audit deadline: a check whose own wait (the time left) ends just before the audit’s clock still counts as the deadline', async () => {
  // Every wait is given the time left: it may end a moment before the audit's own timer, and
  // the audit then ran out all the same (the exporter's cache and the exit code rely on it).
  const waiter = {
    group: 'dns' as const,
    name: 'waits-out',
    title: 'A check that waits out the time left',
    reference: 'test',
    fix: '',
    run: async (ctx: { remainingMs(): number }) => {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, ctx.remainingMs() - 20)));
      return { status: 'not-tested' as const, summary: 'no answer within the time left' };
    },
  };
  const r = await runAudit(options('good.test', 1, { timeoutMs: 600 }), [waiter]);
  assert.equal(r.findings[0]!.summary, 'no answer within the time left');
  assert.equal(r.deadlineExceeded, true);
});

test('the whole-audit deadline is said as it was given: 400ms, not "0 s"', async () => {
  const never = {
    group: 'dns' as const,
    name: 'never-ends',
    title: 'A check that never ends',
    reference: 'test',
    fix: '',
    run: () => new Promise<never>(() => {}),
  };
  const r = await runAudit(options('good.test', 1, { timeoutMs: 400 }), [never]);
  assert.equal(r.deadlineExceeded, true);
  assert.equal(r.findings[0]!.summary, "the audit's time limit (400ms, --timeout) ran out before this check finished");
});

test('the whole-audit deadline: a server that never greets leaves the checks behind it not tested, said why', async () => {
  const silent = await rawServer(() => {});
  try {
    const started = Date.now();
    const r = await runAudit(options('good.test', silent.port, { timeoutMs: 1500, waitMs: 60_000 }));
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    // Two clocks end at the same moment: the audit's own, or the probe's greeting wait (given the
    // time the audit has left), whichever fires first; either way the audit ran out of time and
    // the check is not tested, said why.
    assert.equal(r.deadlineExceeded, true);
    const relay = one(r, 'open-relay');
    assert.equal(relay.status, 'not-tested');
    assert.match(
      relay.summary,
      /time limit \(1500ms, --timeout\) ran out|the probe stopped before this check: .*(greeting|time)/i,
    );
  } finally {
    await silent.close();
  }
});

test('--baseline: a check that got worse is flagged, one that got better is not', () => {
  const worse = {
    ...goodReport,
    findings: goodReport.findings.map((f) =>
      f.check === 'spf'
        ? { ...f, status: 'fail' as const }
        : f.check === 'mx-addresses'
          ? { ...f, status: 'pass' as const }
          : f,
    ),
  };
  const changes = compareBaseline(goodReport, worse);
  assert.deepEqual(
    changes.map((c) => [c.key, c.before, c.after, c.worse]),
    [
      ['dns/mx-addresses/mail.test', 'warn', 'pass', false],
      ['authenticity/spf', 'pass', 'fail', true],
    ],
  );
});
