import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { runAudit } from '../src/audit/audit.js';
import type { AuditOptions } from '../src/audit/check.js';
import type { AuditFinding, AuditReport } from '../src/audit/result.js';
import { AUDIT_CHECKS } from '../src/audit/table.js';
import { Resolver } from '../src/dns/resolver.js';
import { dnsServer, type DnsServer, type Zone } from './helpers/dns-server.js';
import {
  dripServer,
  floodServer,
  imapServer,
  pop3Server,
  silentServer,
  submissionServer,
} from './helpers/mailbox-server.js';
import { runCli } from './helpers/cli.js';
import { measuredRun, MiB, NODE_HEADROOM } from './helpers/peak-rss.js';
import { lineServer, rawServer, type RawServer } from './helpers/raw-server.js';
import { smtpPeer } from './helpers/smtp-peer.js';

/**
 * The audit's submission and mailbox-access checks against servers on loopback, found by the
 * SRV records of RFC 6186 in a test DNS server (high ports, so nothing on this machine's 143
 * or 587 decides a result), or on the MX host at ports the test moves (servicePorts).
 */

/** SRV records for a domain: each service name to a port on mail.<domain>, or "." (not offered). */
function srvZone(domain: string, services: Record<string, number | '.'>): Zone {
  const zone: Zone = { [`mail.${domain}`]: [{ type: 'A', address: '127.0.0.1' }] };
  for (const [service, port] of Object.entries(services))
    zone[`_${service}._tcp.${domain}`] = [
      {
        type: 'SRV',
        priority: 0,
        weight: 1,
        port: port === '.' ? 0 : port,
        target: port === '.' ? '.' : `mail.${domain}`,
      },
    ];
  return zone;
}

let dns: DnsServer;
const zone: Zone = {};
before(async () => {
  dns = await dnsServer(zone);
});
after(() => dns.close());

function options(domain: string, extra: Partial<AuditOptions> = {}): AuditOptions {
  return {
    domain,
    resolver: new Resolver({
      servers: [{ address: '127.0.0.1', port: dns.port }],
      tcp: false,
      doh: undefined,
      timeoutMs: 2000,
      ca: undefined,
    }),
    port: 1,
    timeoutMs: 20_000,
    waitMs: 1500,
    ehloName: 'audit.test',
    httpsPort: 1,
    dkimSelectors: [],
    dnsbl: [],
    scanConcurrency: 4,
    smugglingPauseMs: 300,
    maxMx: 10,
    ...extra,
  };
}

const audit = (domain: string, extra: Partial<AuditOptions> = {}) =>
  runAudit(
    options(domain, extra),
    AUDIT_CHECKS.filter((c) => c.name === 'submission' || c.name === 'mailbox-access'),
  );
const of = (r: AuditReport, check: string): AuditFinding[] => r.findings.filter((f) => f.check === check);
const one = (r: AuditReport, check: string, subject: RegExp): AuditFinding => {
  const f = of(r, check).find((x) => subject.test(x.subject ?? ''));
  assert.ok(f, `${check}: no finding for ${subject}: ${JSON.stringify(of(r, check), null, 1)}`);
  return f;
};
const closeAll = (...servers: Array<{ close(): Promise<void> }>) => Promise.all(servers.map((s) => s.close()));

test('mailbox-access: IMAP with STARTTLS and LOGINDISABLED, POP3 refusing USER before STLS, 993 and 995 with TLS, all found by SRV: pass', async () => {
  const [imap, imaps, pop3, pop3s] = await Promise.all([
    imapServer(),
    imapServer({ implicitTls: true }),
    pop3Server(),
    pop3Server({ implicitTls: true }),
  ]);
  Object.assign(zone, srvZone('kept.test', { imap: imap.port, imaps: imaps.port, pop3: pop3.port, pop3s: pop3s.port }));
  try {
    const r = await audit('kept.test');
    const list = of(r, 'mailbox-access');
    assert.deepEqual(
      list.map((f) => f.status),
      ['pass', 'pass', 'pass', 'pass'],
      JSON.stringify(list, null, 1),
    );
    const i = one(
      r,
      'mailbox-access',
      new RegExp(`^imap mail\\.kept\\.test:${imap.port} \\(127\\.0\\.0\\.1\\) via SRV$`),
    );
    assert.match(i.summary, /STARTTLS and LOGINDISABLED before it/);
    assert.ok(i.evidence.some((l) => /^S: \* CAPABILITY .*LOGINDISABLED/.test(l)));
    assert.ok(
      i.evidence.some((l) => /^SRV _imap\._tcp\.kept\.test: mail\.kept\.test:\d+$/.test(l)),
      i.evidence.join('\n'),
    );
    const p = one(r, 'mailbox-access', /^pop3 /);
    assert.match(p.summary, /STLS, USER refused before it/);
    // A made-up user, never a password.
    assert.match(pop3.received.join(''), /USER smtpkit-probe-nobody\r\n/);
    assert.doesNotMatch(pop3.received.join(''), /PASS/);
    assert.doesNotMatch(imap.received.join(''), /LOGIN |AUTHENTICATE/i);
    assert.match(one(r, 'mailbox-access', /^imaps /).summary, /implicit TLS, then the greeting/);
  } finally {
    await closeAll(imap, imaps, pop3, pop3s);
  }
});

test('mailbox-access: IMAP without LOGINDISABLED before STARTTLS and POP3 taking USER before STLS fail; no password is sent', async () => {
  const [imap, pop3, bare] = await Promise.all([
    imapServer({ capability: 'IMAP4rev1 STARTTLS AUTH=PLAIN' }),
    pop3Server({ userBeforeStls: true }),
    imapServer({ capability: 'IMAP4rev1 AUTH=PLAIN' }),
  ]);
  Object.assign(zone, srvZone('loose.test', { imap: imap.port, pop3: pop3.port, imaps: '.', pop3s: '.' }));
  Object.assign(zone, srvZone('bare.test', { imap: bare.port }));
  try {
    const r = await audit('loose.test');
    const i = one(r, 'mailbox-access', /^imap /);
    assert.equal(i.status, 'fail');
    assert.match(i.summary, /offers STARTTLS but not LOGINDISABLED before it/);
    assert.match(i.fix ?? '', /disable_plaintext_auth = yes/);
    const p = one(r, 'mailbox-access', /^pop3 /);
    assert.equal(p.status, 'fail');
    assert.match(p.summary, /accepts USER before STLS/);
    assert.doesNotMatch(pop3.received.join(''), /PASS|STLS/);
    const srv = of(r, 'mailbox-access').find((f) => f.subject === null)!;
    assert.equal(srv.status, 'pass');
    assert.match(srv.summary, /imaps, pop3s: not offered \(SRV target "\."\)/);
    const b = one(await audit('bare.test'), 'mailbox-access', /^imap /);
    assert.equal(b.status, 'fail');
    assert.match(b.summary, /plaintext-only IMAP/);
  } finally {
    await closeAll(imap, pop3, bare);
  }
});

test('mailbox-access: a silent server is not tested, said so within the wait; no MX and no SRV: not tested', async () => {
  const silent = await silentServer();
  Object.assign(zone, srvZone('quiet.test', { pop3s: silent.port }));
  try {
    const started = Date.now();
    const r = await audit('quiet.test', { waitMs: 400 });
    assert.ok(Date.now() - started < 3000, `${Date.now() - started} ms`);
    const f = one(r, 'mailbox-access', /^pop3s /);
    assert.equal(f.status, 'not-tested');
    // Implicit TLS: the handshake is what the silent server never finishes.
    assert.match(f.summary, /the TLS handshake did not finish within 0\.4 s/);
    const none = await audit('nowhere.test');
    assert.deepEqual(
      of(none, 'mailbox-access').map((f) => [f.status, f.summary]),
      [['not-tested', of(none, 'mailbox-access')[0]!.summary]],
    );
    assert.match(of(none, 'mailbox-access')[0]!.summary, /no mail host known/);
  } finally {
    await silent.close();
  }
});

test('an SRV target whose address is 0.0.0.0 (or ::) is not probed: it would reach this machine, not the domain', async () => {
  const imap = await imapServer();
  Object.assign(zone, srvZone('zero.test', { imap: imap.port }));
  zone['mail.zero.test'] = [
    { type: 'A', address: '0.0.0.0' },
    { type: 'AAAA', address: '::' },
  ];
  try {
    const r = await audit('zero.test');
    assert.equal(imap.received.join(''), '', 'the local IMAP server was talked to');
    const list = of(r, 'mailbox-access');
    assert.deepEqual(
      list.map((f) => f.status),
      ['not-tested'],
      JSON.stringify(list, null, 1),
    );
    assert.match(
      list[0]!.summary,
      /SRV target mail\.zero\.test: 0\.0\.0\.0, :: name no host \("this host": .*a connection there would reach this machine: not probed/,
    );
  } finally {
    await imap.close();
  }
});

test('an MX host whose only address is 0.0.0.0 is neither probed nor used for its mailbox ports; mx-addresses fails saying why', async () => {
  const imap = await imapServer();
  zone['zeromx.test'] = [{ type: 'MX', exchange: 'mx.zeromx.test', priority: 10 }];
  zone['mx.zeromx.test'] = [{ type: 'A', address: '0.0.0.0' }];
  try {
    const r = await runAudit(
      options('zeromx.test', { servicePorts: { imap: imap.port, imaps: 1, pop3: 1, pop3s: 1 }, port: imap.port }),
      AUDIT_CHECKS.filter((c) => ['mx-addresses', 'reachability', 'mailbox-access'].includes(c.name)),
    );
    assert.equal(imap.received.join(''), '', 'the local IMAP server was talked to');
    const [addresses] = of(r, 'mx-addresses');
    assert.equal(addresses!.status, 'fail', JSON.stringify(addresses, null, 1));
    assert.match(addresses!.summary, /^0\.0\.0\.0 names no host \("this host"/);
    for (const f of [...of(r, 'reachability'), ...of(r, 'mailbox-access')])
      assert.equal(f.status, 'not-tested', JSON.stringify(f, null, 1));
  } finally {
    await imap.close();
  }
});

test('the whole-audit deadline ends every conversation: silent IMAP, POP3S and submission ports are let go at the report', async () => {
  const silent = await silentServer();
  Object.assign(
    zone,
    srvZone('hush.test', { imap: silent.port, pop3s: silent.port, submission: silent.port, submissions: silent.port }),
  );
  try {
    const started = Date.now();
    const r = await audit('hush.test', { timeoutMs: 800, waitMs: 10_000 });
    assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
    assert.equal(r.deadlineExceeded, true);
    for (const f of [...of(r, 'submission'), ...of(r, 'mailbox-access')]) assert.equal(f.status, 'not-tested');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(silent.accepted(), 4);
    assert.equal(silent.open(), 0, 'connections left open after the report');
  } finally {
    await silent.close();
  }
});

test('mailbox-access: a greeting dripped a byte at a time does not restart the wait: not tested after one wait', async () => {
  const drip = await dripServer(50);
  Object.assign(zone, srvZone('drip.test', { imap: drip.port }));
  try {
    const started = Date.now();
    const f = one(await audit('drip.test', { waitMs: 500 }), 'mailbox-access', /^imap /);
    assert.ok(Date.now() - started < 1500, `${Date.now() - started} ms`);
    assert.equal(f.status, 'not-tested');
    assert.match(f.summary, /the server sent no complete line within 0\.5 s/);
  } finally {
    await drip.close();
  }
});

test('mailbox-access: an absurd CAPABILITY line and a flood of capability lines end the conversation at the caps', async () => {
  const long = await rawServer((s) => {
    s.write('* OK ready\r\n');
    lineServer(
      s,
      (line) => `* CAPABILITY ${'X-ABSURD '.repeat(20_000)}STARTTLS LOGINDISABLED\r\n${line.split(' ')[0]} OK\r\n`,
    );
  });
  const many = await rawServer((s) => {
    s.write('* OK ready\r\n');
    lineServer(s, () => '* CAPABILITY X\r\n'.repeat(20_000));
  });
  Object.assign(zone, srvZone('absurd.test', { imap: long.port }));
  Object.assign(zone, srvZone('many.test', { imap: many.port }));
  try {
    const r = await audit('absurd.test');
    const a = one(r, 'mailbox-access', /^imap /);
    assert.equal(a.status, 'not-tested');
    assert.match(a.summary, /a line longer than 8192 bytes/);
    const m = one(await audit('many.test'), 'mailbox-access', /^imap /);
    assert.equal(m.status, 'not-tested');
    assert.match(m.summary, /more than 65536 bytes/);
    // Evidence stays short whatever the server sent.
    for (const f of [a, m]) assert.ok(f.evidence.every((l) => l.length < 300) && f.evidence.length < 30);
  } finally {
    await closeAll(long, many);
  }
});

test('mailbox-access: a POP3 CAPA list past 64 lines ends the conversation ("reply too long"), never read on as the answers to USER and STLS', async () => {
  // 70 made-up tags before the real ones; 58 (62 lines in all) still fit.
  const [long, fits] = await Promise.all([pop3Server({ capaPadding: 70 }), pop3Server({ capaPadding: 58 })]);
  Object.assign(zone, srvZone('capa.test', { pop3: long.port }), srvZone('capafits.test', { pop3: fits.port }));
  try {
    const run = await runCli([
      'audit',
      'capa.test',
      '--json',
      '--resolver',
      `127.0.0.1:${dns.port}`,
      '--timeout',
      '20s',
    ]);
    const findings = JSON.parse(run.stdout).report.findings as AuditFinding[];
    const f = findings.find((x) => x.check === 'mailbox-access' && /^pop3 /.test(x.subject ?? ''));
    assert.ok(f, run.stdout + run.stderr);
    assert.equal(f.status, 'not-tested', JSON.stringify(f, null, 1));
    assert.match(
      f.summary,
      new RegExp(`^port ${long.port}: the reply to CAPA is too long: no closing "\\." within 64 lines`),
    );
    assert.ok(f.evidence.length < 30 && f.evidence.every((l) => l.length < 300));
    // The conversation stopped at the bound: the rest of the list was not taken for later answers.
    assert.match(long.received.join(''), /^CAPA\r\n$/);
    const ok = one(await audit('capafits.test'), 'mailbox-access', /^pop3 /);
    assert.equal(ok.status, 'pass', JSON.stringify(ok, null, 1));
    assert.match(ok.summary, /STLS, USER refused before it/);
  } finally {
    await closeAll(long, fits);
  }
});

test('mailbox-access: a POP3 CAPA list of exactly 64 lines then "." is read whole; dripped slowly, the audit\'s deadline ends it, said so', async () => {
  // 60 made-up tags and TOP, UIDL, RESP-CODES, STLS: 64 lines, the bound itself.
  const [full, slow] = await Promise.all([
    pop3Server({ capaPadding: 60 }),
    pop3Server({ capaPadding: 60, capaEveryMs: 150 }),
  ]);
  Object.assign(zone, srvZone('capa64.test', { pop3: full.port }), srvZone('capaslow.test', { pop3: slow.port }));
  try {
    const ok = one(await audit('capa64.test'), 'mailbox-access', /^pop3 /);
    assert.equal(ok.status, 'pass', JSON.stringify(ok, null, 1));
    // Each line comes within the wait (1 s), the whole list would take 10 s: the audit's 1.5 s end it.
    const started = Date.now();
    const r = await audit('capaslow.test', { timeoutMs: 1500, waitMs: 1000 });
    assert.ok(Date.now() - started < 3000, `${Date.now() - started} ms`);
    assert.equal(r.deadlineExceeded, true);
    const f = of(r, 'mailbox-access');
    assert.deepEqual(
      f.map((x) => x.status),
      ['not-tested'],
      JSON.stringify(f, null, 1),
    );
    assert.match(f[0]!.summary, /time limit .*ran out/);
    assert.match(slow.received.join(''), /^CAPA\r\n$/);
  } finally {
    await closeAll(full, slow);
  }
});

test('mailbox-access: IMAP untagged lines past the bound before the tagged answer to CAPABILITY or STARTTLS: "reply too long", not a refusal or "not answered OK"', async () => {
  const [caps, tls, fits] = await Promise.all([
    imapServer({ padding: { verb: 'CAPABILITY', lines: 70 } }),
    imapServer({ padding: { verb: 'STARTTLS', lines: 70 } }),
    imapServer({ padding: { verb: 'STARTTLS', lines: 60 } }),
  ]);
  Object.assign(
    zone,
    srvZone('imapcaps.test', { imap: caps.port }),
    srvZone('imaptls.test', { imap: tls.port }),
    srvZone('imapfits.test', { imap: fits.port }),
  );
  try {
    for (const [domain, server, verb] of [
      ['imapcaps.test', caps, 'CAPABILITY'],
      ['imaptls.test', tls, 'STARTTLS'],
    ] as const) {
      const f = one(await audit(domain), 'mailbox-access', /^imap /);
      assert.equal(f.status, 'not-tested', JSON.stringify(f, null, 1));
      assert.match(
        f.summary,
        new RegExp(`^port ${server.port}: the reply to ${verb} is too long: no tagged answer within 64 lines`),
      );
      assert.ok(f.evidence.length < 30 && f.evidence.every((l) => l.length < 300));
    }
    const ok = one(await audit('imapfits.test'), 'mailbox-access', /^imap /);
    assert.equal(ok.status, 'pass', JSON.stringify(ok, null, 1));
  } finally {
    await closeAll(caps, tls, fits);
  }
});

test('mailbox-access: a greeting flood of 200 MiB is cut at the line cap; the audit process stays small (peak RSS)', async () => {
  const flood = await floodServer(200);
  Object.assign(zone, srvZone('flood.test', { imap: flood.port }));
  try {
    const run = await measuredRun(
      ['audit', 'flood.test', '--json', '--resolver', `127.0.0.1:${dns.port}`, '--timeout', '20s'],
      {
        limitMs: 30_000,
      },
    );
    const f = (JSON.parse(run.out.slice(run.out.indexOf('{'))).report.findings as AuditFinding[]).find(
      (x) => x.check === 'mailbox-access' && /^imap /.test(x.subject ?? ''),
    )!;
    assert.equal(f.status, 'not-tested');
    assert.match(f.summary, /a line longer than 8192 bytes/);
    assert.ok(flood.sent() < 50 * MiB, `the server got ${flood.sent()} bytes out`);
    assert.ok(run.peak < 150 * MiB + NODE_HEADROOM, `peak RSS ${(run.peak / MiB).toFixed(1)} MiB`);
  } finally {
    await flood.close();
  }
});

test('submission: 587 with STARTTLS and AUTH only after it and 465 with implicit TLS pass; AUTH offered in the clear fails, or warns when refused', async () => {
  const [starttls, implicit, refusing] = await Promise.all([
    submissionServer(),
    smtpPeer({ secure: true, authMethods: ['PLAIN'] }),
    // smtp-server lists AUTH before STARTTLS but answers it 538 until TLS is up.
    smtpPeer({ authMethods: ['PLAIN'] }),
  ]);
  const plain: RawServer = await rawServer((s) => {
    s.write('220 plain.test ESMTP\r\n');
    lineServer(s, (line) =>
      /^QUIT/i.test(line)
        ? null
        : /^EHLO/i.test(line)
          ? '250-plain.test\r\n250 AUTH PLAIN LOGIN\r\n'
          : /^AUTH PLAIN$/i.test(line)
            ? '334 \r\n'
            : /^\*$/.test(line)
              ? '501 5.7.0 Authentication aborted\r\n'
              : '250 Ok\r\n',
    );
  });
  Object.assign(zone, srvZone('submit.test', { submission: starttls.port, submissions: implicit.port }));
  Object.assign(zone, srvZone('cleartext.test', { submission: plain.port }));
  Object.assign(zone, srvZone('refuses.test', { submission: refusing.port, submissions: '.' }));
  try {
    const r = await audit('submit.test');
    const s = one(r, 'submission', /^submission /);
    assert.equal(s.status, 'pass', `${s.summary}\n${s.evidence.join('\n')}`);
    assert.match(s.summary, new RegExp(`port ${starttls.port}: STARTTLS, AUTH only after it \\(PLAIN LOGIN\\)`));
    const i = one(r, 'submission', /^submissions /);
    assert.equal(i.status, 'pass', i.summary);
    assert.match(i.summary, /implicit TLS, then the greeting/);
    const bad = one(await audit('cleartext.test'), 'submission', /^submission /);
    assert.equal(bad.status, 'fail');
    assert.match(bad.summary, /plaintext-only submission offering AUTH PLAIN LOGIN/);
    assert.ok(
      bad.evidence.some((l) => /^EHLO: 250 plain\.test AUTH PLAIN LOGIN/.test(l)),
      bad.evidence.join('\n'),
    );
    // The probe asked AUTH PLAIN with no initial response and cancelled: no secret, not even a made-up one.
    assert.match(plain.received.join(''), /AUTH PLAIN\r\n\*\r\n/);
    const warned = one(await audit('refuses.test'), 'submission', /^submission /);
    assert.equal(warned.status, 'warn', warned.summary);
    assert.match(warned.summary, /offers AUTH PLAIN before STARTTLS but refuses it \(538\)/);
  } finally {
    await closeAll(starttls, implicit, refusing, plain);
  }
});

test('no SRV record: the MX host is tried on the (moved) IANA ports; all closed: submission passes saying none was found', async () => {
  const closed = await rawServer(() => {});
  const port = closed.port;
  await closed.close();
  const imap = await imapServer({ capability: 'IMAP4rev1 STARTTLS AUTH=PLAIN' });
  Object.assign(zone, {
    'mxonly.test': [{ type: 'MX', exchange: 'mx.mxonly.test', priority: 10 }],
    'mx.mxonly.test': [{ type: 'A', address: '127.0.0.1' }],
  });
  try {
    const r = await audit('mxonly.test', {
      servicePorts: { submission: port, submissions: port, imap: imap.port, imaps: port, pop3: port, pop3s: port },
    });
    const sub = of(r, 'submission');
    assert.equal(sub[0]!.status, 'pass');
    assert.match(sub[0]!.summary, /no submission service found \(no SRV record; 587 and 465 closed on the MX hosts\)/);
    assert.equal(sub.length, 1);
    assert.ok(
      sub[0]!.evidence.some((l) => new RegExp(`^${port}: connection refused: .*ECONNREFUSED`).test(l)),
      sub[0]!.evidence.join('\n'),
    );
    const i = one(r, 'mailbox-access', new RegExp(`^imap mx\\.mxonly\\.test:${imap.port} \\(127\\.0\\.0\\.1\\)$`));
    assert.equal(i.status, 'fail');
    const c = one(r, 'mailbox-access', /^mx\.mxonly\.test \(127\.0\.0\.1\)$/);
    assert.equal(c.status, 'pass');
    assert.equal(c.summary, `imaps ${port}, pop3 ${port}, pop3s ${port} closed`);
  } finally {
    await imap.close();
  }
});

test('the text report: one line per finding of both checks, the failure with its fix', async () => {
  const pop3 = await pop3Server({ userBeforeStls: true });
  Object.assign(zone, srvZone('text.test', { pop3: pop3.port, submission: '.', submissions: '.' }));
  try {
    const r = await runCli(['audit', 'text.test', '--resolver', `127.0.0.1:${dns.port}`, '--timeout', '20s'], {
      limitMs: 30_000,
    });
    assert.match(r.stdout, /no submission service found \(SRV says submission and submissions not offered\)/);
    assert.match(
      r.stdout,
      new RegExp(`pop3 mail\\.text\\.test:${pop3.port} \\(127\\.0\\.0\\.1\\) via SRV.*accepts USER before STLS`),
    );
  } finally {
    await pop3.close();
  }
});

/** The real peers of test/interop/postfix.sh, when up: Postfix's submission ports and Dovecot's IMAP and POP3. */
const BED_ENV = process.env.SMTPKIT_INTEROP_ENV ?? '/tmp/smtpkit-interop/env.json';
const bed: Record<string, number | string> | undefined = existsSync(BED_ENV)
  ? JSON.parse(readFileSync(BED_ENV, 'utf8'))
  : undefined;
const noDovecot = bed?.imap ? false : `no Dovecot IMAP/POP3 is up (${BED_ENV} is missing or has no "imap")`;

test(
  'real Postfix submission (587- and 465-style) and Dovecot IMAP/POP3 with disable_plaintext_auth, found by SRV: every one passes',
  { skip: noDovecot },
  async () => {
    const b = bed!;
    // Dovecot listens on the bed's second loopback address (postfix.sh: a client on its own address counts as secure).
    const srv = (service: string, port: unknown, target: string) => ({
      [`_${service}._tcp.bed.test`]: [{ type: 'SRV' as const, priority: 0, weight: 1, port: Number(port), target }],
    });
    Object.assign(zone, {
      'mail.bed.test': [{ type: 'A', address: '127.0.0.1' }],
      'imap.bed.test': [{ type: 'A', address: String(b.mailboxAddress) }],
      ...srv('submission', b.submission, 'mail.bed.test'),
      ...srv('submissions', b.smtps, 'mail.bed.test'),
      ...srv('imap', b.imap, 'imap.bed.test'),
      ...srv('imaps', b.imaps, 'imap.bed.test'),
      ...srv('pop3', b.pop3, 'imap.bed.test'),
      ...srv('pop3s', b.pop3s, 'imap.bed.test'),
    });
    const r = await runCli(['audit', 'bed.test', '--json', '--resolver', `127.0.0.1:${dns.port}`, '--timeout', '30s'], {
      limitMs: 40_000,
    });
    const list = (JSON.parse(r.stdout).report.findings as AuditFinding[]).filter(
      (f) => f.check === 'submission' || f.check === 'mailbox-access',
    );
    assert.deepEqual(
      list.map((f) => [f.subject, f.status]),
      [
        [`submission mail.bed.test:${b.submission} (127.0.0.1) via SRV`, 'pass'],
        [`submissions mail.bed.test:${b.smtps} (127.0.0.1) via SRV`, 'pass'],
        [`imap imap.bed.test:${b.imap} (${b.mailboxAddress}) via SRV`, 'pass'],
        [`imaps imap.bed.test:${b.imaps} (${b.mailboxAddress}) via SRV`, 'pass'],
        [`pop3 imap.bed.test:${b.pop3} (${b.mailboxAddress}) via SRV`, 'pass'],
        [`pop3s imap.bed.test:${b.pop3s} (${b.mailboxAddress}) via SRV`, 'pass'],
      ],
      JSON.stringify(list, null, 1),
    );
    const imap = list.find((f) => f.subject?.startsWith('imap '))!;
    // Dovecot's own words: LOGINDISABLED before STARTTLS.
    assert.ok(
      imap.evidence.some((l) => /^S: \* CAPABILITY .*STARTTLS.*LOGINDISABLED/.test(l)),
      imap.evidence.join('\n'),
    );
    const pop3 = list.find((f) => f.subject?.startsWith('pop3 '))!;
    assert.ok(
      pop3.evidence.some((l) => /^S: -ERR .*[Pp]laintext authentication disallowed/.test(l)),
      pop3.evidence.join('\n'),
    );
  },
);

test('mailbox-access: a PREAUTH greeting on 993 (implicit TLS) is a stranger logged in without a password: fail, not "refuses service"', async () => {
  const { judge } = await import('../src/audit/checks/mailbox-access.js');
  const v = judge(
    {
      service: 'imaps',
      via: 'mx',
      endpoint: { host: 'mail.test', address: '127.0.0.1', port: 993, implicitTls: true },
    },
    {
      stop: undefined,
      connected: true,
      greeting: '* PREAUTH [CAPABILITY IMAP4rev1] Logged in as admin',
      capabilities: undefined,
      userReply: undefined,
      tls: undefined,
      transcript: [],
      bytes: 0,
    },
  );
  assert.equal(v.status, 'fail');
  assert.equal(v.summary, 'port 993 logs every client in without a password (PREAUTH), over TLS or not');
});
