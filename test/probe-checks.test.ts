/**
 * Probe checks as values: the table (src/probe/checks/index.ts) against the CheckName union,
 * what probe() runs when a row is added, removed or does not apply, and one check run on its
 * own, as another engine would.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { withSessionDefaults } from '../src/index.js';
import { runConnect } from '../src/probe/checks/connect.js';
import { checkContext, CHECK_NAMES, PROBE_CHECKS, type ProbeCheck } from '../src/probe/checks/index.js';
import { runCertificateTrust } from '../src/probe/checks/certificate.js';
import { envelope } from '../src/probe/checks/envelope.js';
import { runEhlo } from '../src/probe/checks/ehlo.js';
import { runGreeting } from '../src/probe/checks/greeting.js';
import { runTls } from '../src/probe/checks/tls.js';
import { probe, type ProbeSettings, type ProbeTarget } from '../src/probe/probe.js';
import type { SmtpEvent } from '../src/session/events.js';
import { SmtpSession } from '../src/session/session.js';
import { capturePeer, PASSWORD, USER, type CapturePeer } from './helpers/capture-peer.js';
import { runCli } from './helpers/cli.js';
import { dnsServer, type DnsServer } from './helpers/dns-server.js';
import { readFixture, TLS } from './helpers/paths.js';
import { smtpPeer } from './helpers/smtp-peer.js';

let peer: CapturePeer; // STARTTLS, AUTH before and after TLS, takes any recipient
let dns: DnsServer;

before(async () => {
  peer = await capturePeer({ allowInsecureAuth: true });
  dns = await dnsServer({
    '1.0.0.127.in-addr.arpa': [{ type: 'PTR', domain: 'mail.test' }],
    '1.0.0.127.bl.test': [{ type: 'A', address: '127.0.0.2' }],
  });
});
after(() => Promise.all([peer.close(), dns.close()]));

const target = (): ProbeTarget => ({
  label: `127.0.0.1:${peer.port}`,
  options: withSessionDefaults({
    host: '127.0.0.1',
    port: peer.port,
    ehloName: 'client.test',
    timeouts: { connect: 5000, greeting: 5000, command: 5000, tls: 5000 },
    tls: { ca: readFixture('tls/ca.pem') },
  }),
});

const settings = (more: Partial<ProbeSettings> = {}): ProbeSettings => ({
  expectBanner: undefined,
  warnDays: 21,
  critDays: 7,
  warnMs: {},
  critMs: {},
  auth: undefined,
  from: undefined,
  rcpt: undefined,
  relayTest: false,
  resolver: undefined,
  totalMs: 10_000,
  ...more,
});

const sent = (events: SmtpEvent[]) => events.flatMap((e) => (e.type === 'sent' ? [e.line] : []));

test('the table reports every CheckName once, in the order of the union (the order results show)', () => {
  assert.deepEqual(
    PROBE_CHECKS.flatMap((row) => row.names),
    [...CHECK_NAMES],
  );
});

test('a probe with every option on reports its checks in the order CHECK_NAMES lists them', async () => {
  const r = await runCli(
    [
      'probe',
      `127.0.0.1:${peer.port}`,
      '--ca-file',
      TLS.ca,
      '--user',
      USER,
      '--password',
      PASSWORD,
      '--from',
      'a@client.test',
      '--rcpt',
      'b@example.test',
      '--relay-test',
      '--enum-test',
      '--tls-scan',
      '--ptr',
      '--dnsbl',
      'bl.test',
      '--resolver',
      `127.0.0.1:${dns.port}`,
      '--format',
      'json',
      // The order is under test, not the speed: a TLS scan on a busy machine can outlast 10 s.
      '--timeout',
      '60s',
    ],
    { limitMs: 90_000 },
  );
  const [result] = JSON.parse(r.stdout).results as { checks: { name: string }[] }[];
  // port-conventions judges ports 25, 465 and 587 only; the peer listens on another.
  assert.deepEqual(
    result!.checks.map((c) => c.name),
    CHECK_NAMES.filter((n) => n !== 'port-conventions'),
    r.stdout,
  );
});

test('removing a row: probe() no longer runs it (no envelope check, no MAIL FROM sent)', async () => {
  const s = settings({ from: 'a@client.test', rcpt: 'b@example.test' });
  const full = await probe(target(), s);
  assert.ok(full.checks.some((c) => c.name === 'envelope'));
  assert.ok(sent(full.events).includes('MAIL FROM:<a@client.test>'), sent(full.events).join('\n'));

  const without = await probe(
    target(),
    s,
    PROBE_CHECKS.filter((row) => row !== envelope),
  );
  assert.equal(without.exitCode, 0, JSON.stringify(without.checks));
  assert.deepEqual(
    without.checks.map((c) => c.name),
    full.checks.map((c) => c.name).filter((n) => n !== 'envelope'),
  );
  assert.ok(!sent(without.events).some((l) => l.startsWith('MAIL')), sent(without.events).join('\n'));
});

test('adding a row: probe() runs it at its place; a row whose `when` is false never runs', async () => {
  const vrfy: ProbeCheck<'vrfy'> = {
    names: ['vrfy'],
    when: () => true,
    run: async (ctx) => {
      const reply = await ctx.session.command('VRFY postmaster');
      return [{ name: 'vrfy', status: 'pass', message: `answered ${reply.code}` }];
    },
  };
  const never: ProbeCheck<'ptr'> = {
    names: ['ptr'],
    when: () => false,
    run: () => {
      throw new Error('a row whose when() is false ran');
    },
  };
  const at = PROBE_CHECKS.findIndex((row) => row.names.includes('auth'));
  const table = [...PROBE_CHECKS.slice(0, at), vrfy, never, ...PROBE_CHECKS.slice(at)];
  const base = (await probe(target(), settings())).checks.map((c) => c.name);
  const r = await probe(target(), settings(), table);
  assert.equal(r.error, null);
  // Nothing between auth-before-tls and auth applies here: the new row's check comes right before response-time.
  assert.deepEqual(
    r.checks.map((c) => c.name),
    [...base.slice(0, -1), 'vrfy', 'response-time'],
    JSON.stringify(r.checks),
  );
  assert.equal(base.at(-2), 'auth-before-tls');
  assert.match(r.checks.find((c) => c.name === 'vrfy')!.message, /^answered \d{3}$/);
  assert.ok(sent(r.events).includes('VRFY postmaster'), sent(r.events).join('\n'));
  assert.ok(!r.checks.some((c) => c.name === 'ptr'));
});

test('one check at a time, outside probe(): connect, greeting, EHLO, TLS and the certificate give typed results', async () => {
  const events: SmtpEvent[] = [];
  const t = target();
  const session = new SmtpSession({ ...t.options }, (e) => events.push(e));
  const ctx = checkContext(t, settings(), session, events);
  try {
    const results = [
      await runConnect(ctx),
      runGreeting(ctx),
      await runEhlo(ctx),
      await runTls(ctx),
      runCertificateTrust(ctx),
    ];
    assert.deepEqual(
      results.map((c) => [c.name, c.status]),
      [
        ['connect', 'pass'],
        ['greeting', 'pass'],
        ['ehlo', 'pass'],
        ['tls', 'pass'],
        ['certificate-trust', 'pass'],
      ],
      JSON.stringify(results),
    );
    assert.ok(session.isTls);
  } finally {
    await session.quit();
  }
});

test('a check run before the one it builds on says so instead of crashing on undefined', () => {
  const t = target();
  const ctx = checkContext(t, settings(), new SmtpSession({ ...t.options }, () => {}), []);
  assert.throws(() => runGreeting(ctx), /probe check table: the greeting is read before the check that sets it/);
});

test('the cipher scan runs beside the relay test on its own connections: the relay sessions reach the server while scan handshakes still come, and the checks keep their table order', async () => {
  // A server that logs, in order, each TLS handshake and each MAIL FROM it gets, by session.
  const log: { what: 'tls' | 'mail'; id: string }[] = [];
  const server = await smtpPeer({
    onSecure: (_s, session, cb) => (log.push({ what: 'tls', id: session.id }), cb()),
    onMailFrom: (_a, session, cb) => (log.push({ what: 'mail', id: session.id }), cb()),
    onRcptTo: (_a, _s, cb) => cb(Object.assign(new Error('Relay access denied'), { responseCode: 554 })),
  });
  try {
    const t = { ...target(), options: { ...target().options, port: server.port }, label: `127.0.0.1:${server.port}` };
    const r = await probe(
      t,
      settings({ relayTest: true, tlsScan: { concurrency: 2, timeoutMs: 5000 }, totalMs: 60_000 }),
    );
    assert.equal(r.error, null, JSON.stringify(r.error));
    const names = r.checks.map((c) => c.name);
    assert.ok(names.indexOf('tls-ciphers') < names.indexOf('open-relay'), names.join(' '));
    const firstMail = log.findIndex((e) => e.what === 'mail');
    assert.ok(firstMail > 0, 'the relay test sent MAIL FROM');
    // The scan's connections: a handshake and no MAIL FROM (the first TLS is the probe's own session).
    const mailed = new Set(log.filter((e) => e.what === 'mail').map((e) => e.id));
    const scanAfter = log.slice(firstMail).filter((e) => e.what === 'tls' && !mailed.has(e.id) && e.id !== log[0]!.id);
    // Before: every scan handshake was over before the relay test began.
    assert.ok(scanAfter.length > 0, `scan handshakes after the first relay session: ${JSON.stringify(log)}`);
  } finally {
    await server.close();
  }
});
