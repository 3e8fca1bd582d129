import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runAudit } from '../src/audit/audit.js';
import type { AuditOptions } from '../src/audit/check.js';
import type { AuditReport, AuditStatus } from '../src/audit/result.js';
import { Resolver } from '../src/dns/resolver.js';
import { auditText } from '../src/render/audit-text.js';
import { plain } from '../src/render/paint.js';
import { smugglingServer } from './helpers/audit-bed.js';
import { dnsServer, type DnsServer, type Zone } from './helpers/dns-server.js';
import { faults, scripted } from './helpers/fault-server.js';
import { runCli } from './helpers/cli.js';
import { BIN } from './helpers/paths.js';
import { hasTmux, Pty } from './helpers/pty.js';
import { rawServer } from './helpers/raw-server.js';
import { smtpPeer } from './helpers/smtp-peer.js';

/**
 * smtpkit audit attacked: a hostile DNS zone, a server whose TLS is broken, hostile option
 * values and files, a person at a terminal. Each test states what the audit should do.
 */

const MANY = 200;
const HOSTILE_MX = "=cmd|' /C calc'!A0<script>x</script>";

const zone: Zone = {
  // One MX host whose STARTTLS never completes, offering AUTH in the clear before it.
  'stall.test': [{ type: 'MX', exchange: 'mx.stall.test', priority: 10 }],
  'mx.stall.test': [{ type: 'A', address: '127.0.0.1' }],
  // Two hundred MX hosts: the audit probes at most ten.
  'many.test': Array.from({ length: MANY }, (_, i) => ({
    type: 'MX' as const,
    exchange: `m${i}.many.test`,
    priority: i,
  })),
  // An MX target that is no host name (lookupMx refuses it: "never looked up").
  'odd.test': [{ type: 'MX', exchange: HOSTILE_MX, priority: 10 }],
  // Three MX hosts on one loopback server: the smuggling test visits them one after another.
  'smug3.test': ['a', 'b', 'c'].map((h, i) => ({ type: 'MX' as const, exchange: `${h}.smug3.test`, priority: i })),
  'a.smug3.test': [{ type: 'A', address: '127.0.0.1' }],
  'b.smug3.test': [{ type: 'A', address: '127.0.0.1' }],
  'c.smug3.test': [{ type: 'A', address: '127.0.0.1' }],
};
for (let i = 0; i < MANY; i++) zone[`m${i}.many.test`] = [{ type: 'A', address: '127.0.0.1' }];

let dns: DnsServer;
let dir: string;
before(async () => {
  dns = await dnsServer(zone);
  dir = mkdtempSync(join(tmpdir(), 'smtpkit-audit-hostile-'));
});
after(async () => {
  await dns.close();
  rmSync(dir, { recursive: true, force: true });
});

function options(domain: string, port: number, extra: Partial<AuditOptions> = {}): AuditOptions {
  return {
    domain,
    resolver: new Resolver({
      servers: [{ address: '127.0.0.1', port: dns.port }],
      tcp: false,
      doh: undefined,
      timeoutMs: 2000,
      ca: undefined,
    }),
    port,
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

const status = (r: AuditReport, check: string): AuditStatus[] =>
  r.findings.filter((f) => f.check === check).map((f) => f.status);

test('AUTH offered in the clear is a failure even when the STARTTLS handshake that follows never completes', async () => {
  // The fault server's EHLO lists AUTH PLAIN LOGIN ... next to STARTTLS; then the handshake stalls.
  const server = await rawServer(scripted(faults.handshakeStall()));
  try {
    const r = await runAudit(options('stall.test', server.port));
    assert.deepEqual(status(r, 'starttls'), ['fail']);
    assert.deepEqual(status(r, 'auth-before-tls'), ['fail']);
    // The relay and enumeration tests ran in plaintext, as a sender would fall back to, and say so.
    for (const check of ['open-relay', 'vrfy', 'rcpt-enumeration']) {
      const f = r.findings.find((x) => x.check === check)!;
      assert.notEqual(f.status, 'not-tested', `${check}: ${f.summary}`);
      assert.match(f.summary, /in plaintext: STARTTLS failed/);
    }
    // A group's score says how many of its checks it stands on.
    const text = auditText(r, plain);
    for (const g of r.groups) {
      const tested = g.pass + g.warn + g.fail;
      const total = tested + g.notTested;
      assert.match(text, new RegExp(`: (\\d+/100|no score) \\(${tested} of ${total} checks? tested`), g.group);
    }
  } finally {
    await server.close();
  }
});

test('a domain with 200 MX hosts: only the ten probed are looked up (no DNS flood on a hostile zone’s say-so)', async () => {
  const server = await rawServer((s) => s.end('554 5.3.2 no service\r\n'));
  try {
    const before = dns.asked.udp + dns.asked.tcp;
    const r = await runAudit(options('many.test', server.port));
    const asked = dns.asked.udp + dns.asked.tcp - before;
    assert.equal(status(r, 'reachability').length, 10);
    // Ten hosts (A, AAAA, PTR, CAA, DNSSEC) plus the domain's own records: far below one per listed host.
    assert.ok(asked < MANY, `${asked} DNS questions for a domain whose audit probes 10 hosts`);
  } finally {
    await server.close();
  }
});

test('an MX target that is no host name is never sent to DNS (CAA and DNSSEC of the MX host skip it too)', async () => {
  const start = dns.edns.length;
  const r = await runAudit(options('odd.test', 1));
  assert.deepEqual(status(r, 'mx'), ['fail']);
  const asked = dns.edns.slice(start).flatMap((q) => (q && q.name.includes('=cmd') ? [q.name] : []));
  assert.deepEqual(asked, [], 'questions for a name lookupMx refused');
});

// Each of these reaches another domain through the audited MX (the %-hack, a quoted local
// part, a source route, a bang path): the very forms the relay test calls an open relay.
for (const rcpt of [
  'me%victim.test@dom.test',
  '"me@victim.test"@dom.test',
  '@victim.test:me@dom.test',
  'victim.test!me@dom.test',
  'me\x1b[2J@dom.test',
]) {
  test(`--smuggling-rcpt ${JSON.stringify(rcpt)}: refused (exit 2) before anything is contacted, since mail to it may leave the domain`, async () => {
    const r = await runCli(
      ['audit', 'dom.test', '--smuggling-rcpt', rcpt, '--resolver', `127.0.0.1:${dns.port}`, '--timeout', '2s', '-q'],
      { limitMs: 15_000 },
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--smuggling-rcpt/);
  });
}

test('--baseline with a status that is no audit status ("toString") is refused as not an audit report (exit 2)', async () => {
  const file = join(dir, 'proto.json');
  writeFileSync(
    file,
    JSON.stringify({ findings: [{ group: 'dns', check: 'mx', subject: null, status: 'toString', title: 'x' }] }),
  );
  const r = await runCli(
    ['audit', 'dom.test', '--baseline', file, '--resolver', `127.0.0.1:${dns.port}`, '--timeout', '2s', '--json'],
    { limitMs: 15_000 },
  );
  assert.equal(r.code, 2, r.stdout);
  assert.match(r.stdout, /not an audit report/);
});

test(
  '--domains - with stdin a terminal: the person is told to type or pipe the list, not left at a blank screen',
  {
    skip: hasTmux ? false : 'tmux is not installed',
  },
  async () => {
    const pty = new Pty(
      `NO_COLOR=1 ${process.execPath} ${BIN} audit --domains - --resolver 127.0.0.1:${dns.port} --timeout 2s`,
    );
    try {
      await pty.waitFor(/stdin|terminal|Ctrl-D|EXIT=2/i, 'a hint or a refusal', 4000);
    } finally {
      pty.close();
    }
  },
);

test('the whole-audit deadline also stops the smuggling test: no real message is sent after the report says "not tested"', async () => {
  const server = await smugglingServer(false);
  try {
    const r = await runAudit(
      options('smug3.test', server.port, { smugglingRcpt: 'me@smug3.test', smugglingPauseMs: 700, timeoutMs: 3000 }),
    );
    assert.equal(r.deadlineExceeded, true);
    assert.deepEqual(status(r, 'smuggling'), ['not-tested']);
    const atReport = server.ends.length;
    await new Promise((resolve) => setTimeout(resolve, 6000));
    assert.equal(server.ends.length, atReport, `${server.ends.length - atReport} messages sent after the report`);
  } finally {
    await server.close();
  }
});

test('SMTP smuggling: a vulnerable server whose queue answers slower than the pause is not given a pass', async () => {
  // Takes \n.\n as the end of the data, answers it 1 s later (a before-queue filter), and
  // answers the smuggled lines after it as commands: the session is out of step.
  const server = await smugglingServer(true, { replyDelayMs: 1000 });
  try {
    const r = await runAudit(options('stall.test', server.port, { smugglingRcpt: 'me@stall.test' }));
    assert.ok(server.ends.includes('bare'), `the server took ${server.ends.join(', ')}`);
    assert.notEqual(status(r, 'smuggling')[0], 'pass', JSON.stringify(r.findings.find((f) => f.check === 'smuggling')));
  } finally {
    await server.close();
  }
});

test('the whole-audit deadline also stops the cipher scan: no handshake starts after the report', async () => {
  // Each connection is greeted 400 ms late: the scan's ~170 handshakes (8 at a time, beside
  // the probe's own tests) outlast the audit's 2.5 s many times over. At 150 ms a scan made
  // faster (shared contexts, order probes side by side) once finished inside the 2.5 s.
  let connections = 0;
  const peer = await smtpPeer({
    disabledCommands: ['AUTH'],
    onConnect(_s, cb) {
      connections++;
      setTimeout(() => cb(), 400);
    },
  });
  try {
    const r = await runAudit(options('stall.test', peer.port, { timeoutMs: 2500 }));
    assert.equal(r.deadlineExceeded, true);
    // Handshakes already under way at the report may still reach the (in-process, busy) server.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const settled = connections;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal(connections, settled, `${connections - settled} handshakes started after the report`);
  } finally {
    await peer.close();
  }
});
