import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { capturePeer, type CapturePeer } from './helpers/capture-peer.js';
import { dnsServer, dohServer, spoil, type DnsFault, type DnsServer, type ZoneRecord } from './helpers/dns-server.js';
import { measuredRun, MiB } from './helpers/peak-rss.js';
import { rawServer } from './helpers/raw-server.js';
import { ask } from '../src/dns/transport.js';

/**
 * A DNS answer is either understood or a failure: each named fault of the test DNS
 * server, over UDP and over TCP, is a DNS failure (exit 3, dnsError.kind "malformed")
 * naming what was wrong, never "no MX" and never an implicit MX that mail goes to.
 */
const FAULTS: Array<[DnsFault, RegExp]> = [
  ['pointerLoop', /compression pointer loop/],
  ['cutMidRecord', /says its data is \d+ bytes, but only \d+ remain: the answer is cut mid-record/],
  ['tcAlways', /the TC \(truncated\) bit is set on an answer over TCP or HTTPS/],
  ['countMismatch', /byte\(s\) follow the last of the 0 record\(s\) the header counts: the counts do not match/],
  ['wrongQuestion', /an answer to a different question/],
  ['badRdata', /the exchange name of answer record 1 of 1 \(MX\)/],
  ['rdlengthOverrun', /says its data is \d+ bytes, but only \d+ remain/],
];

const domain = (fault: DnsFault) => `${fault.toLowerCase()}.test`;
// Each faulty domain has an MX and an address of its own: a misread MX answer ("none") would send mail to 127.0.0.1.
const own = (fault: DnsFault): ZoneRecord[] => [
  { type: 'MX', exchange: `mx.${domain(fault)}`, priority: 10 },
  { type: 'A', address: '127.0.0.1' },
];

let dns: DnsServer;
let peer: CapturePeer;
let connections = 0;
before(async () => {
  peer = await capturePeer({
    onConnect(_session, callback) {
      connections++;
      callback();
    },
  });
  dns = await dnsServer({
    ...Object.fromEntries(
      FAULTS.flatMap(([fault]) => [
        [domain(fault), { fault, only: 'MX' as const, records: own(fault) }],
        [`mx.${domain(fault)}`, [{ type: 'A' as const, address: '127.0.0.1' }]],
      ]),
    ),
    // Every other kind of look-up goes through the same check.
    'good.test': [
      { type: 'MX', exchange: 'mx.good.test', priority: 10 },
      { type: 'TXT', data: 'v=spf1 -all' },
    ],
    'mx.good.test': [{ type: 'A', address: '127.0.0.1' }],
    '_dmarc.good.test': { fault: 'pointerLoop', records: [{ type: 'TXT', data: 'v=DMARC1; p=reject' }] },
    '_25._tcp.mx.good.test': {
      fault: 'cutMidRecord',
      records: [{ type: 'TLSA', data: Buffer.concat([Buffer.from([3, 1, 1]), Buffer.alloc(32, 1)]) }],
    },
    '_smtp._tls.good.test': {
      fault: 'badRdata',
      records: [{ type: 'TXT', data: 'v=TLSRPTv1; rua=mailto:r@good.test' }],
    },
    '1.0.0.127.in-addr.arpa': { fault: 'tcAlways', records: [{ type: 'PTR', domain: 'mx.good.test' }] },
  });
});
after(async () => {
  await Promise.all([dns.close(), peer.close()]);
});

const resolver = () => ['--resolver', `127.0.0.1:${dns.port}`, '--dns-timeout', '1s'];

for (const tcp of [false, true]) {
  for (const [fault, why] of FAULTS) {
    test(`mx-lookup, ${fault} over ${tcp ? 'TCP' : 'UDP'}: a DNS failure naming what was wrong (exit 3, dnsError.kind "malformed"), never "no MX"`, async () => {
      const r = await runCli(['mx-lookup', domain(fault), ...resolver(), ...(tcp ? ['--tcp'] : []), '--json']);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.mx, null, 'no report at all, so no implicit MX');
      assert.equal(doc.outcome.errorClass, 'dns');
      assert.equal(doc.outcome.dnsError.kind, 'malformed');
      assert.equal(doc.outcome.dnsError.type, 'MX');
      assert.match(doc.outcome.message, why);
      assert.match(
        doc.outcome.message,
        fault === 'wrongQuestion' && !tcp
          ? /no answer within 1s; the only answer was not to our question/
          : new RegExp(`the answer from 127\\.0\\.0\\.1:${dns.port} is malformed`),
      );
    });
  }
}

test('mx-lookup in text: a pointer loop is said as a malformed answer on stderr, not "no MX: the domain itself"', async () => {
  const r = await runCli(['mx-lookup', domain('pointerLoop'), ...resolver()]);
  assert.equal(r.code, 3);
  assert.match(
    r.stderr,
    /^\*\*\* MX pointerloop\.test: the answer from 127\.0\.0\.1:\d+ is malformed: the name of answer record 1 of 1 has a compression pointer loop/m,
  );
  assert.doesNotMatch(r.stdout + r.stderr, /no MX|implicit/);
});

test('send via MX to a domain whose MX answer is malformed: nothing is delivered, no connection is made, exit 3', async () => {
  for (const fault of ['pointerLoop', 'cutMidRecord', 'tcAlways', 'countMismatch', 'badRdata'] as const) {
    const before = { connections, messages: peer.messages.length };
    const r = await runCli([
      'send',
      '--from',
      'a@client.test',
      '--to',
      `b@${domain(fault)}`,
      ...resolver(),
      '--port',
      String(peer.port),
      '--timeout',
      '2s',
      '--json',
    ]);
    assert.equal(r.code, 3, `${fault}: ${r.stdout}${r.stderr}`);
    assert.equal(JSON.parse(r.stdout).outcome.kind, 'malformed', fault);
    assert.equal(connections, before.connections, `${fault}: no SMTP connection`);
    assert.equal(peer.messages.length, before.messages, `${fault}: nothing delivered`);
  }
});

test('every look-up goes through the check: TXT (DMARC, TLS-RPT), TLSA and PTR answers that are malformed are failures, not absences', async () => {
  const r = await runCli(['mx-lookup', 'good.test', ...resolver(), '--checks', '--ptr', '--https-port', '9', '--json']);
  const doc = JSON.parse(r.stdout);
  const check = (name: string) => doc.checks.find((c: { check: string }) => c.check === name);
  for (const name of ['DMARC', 'TLS-RPT', 'DANE']) {
    assert.equal(check(name).status, 'fail', `${name}: ${JSON.stringify(check(name))}`);
    assert.equal(check(name).dnsError.kind, 'malformed', name);
  }
  assert.equal(check('SPF').status, 'pass', 'a sound answer is still believed');
  const address = doc.mx.hosts[0].addresses[0];
  assert.match(address.ptrError, /malformed: the TC \(truncated\) bit is set/);
  assert.doesNotMatch(doc.mx.hosts[0].problems.join('\n'), /has no reverse DNS/);
  assert.equal(r.code, 1);
});

test('checkAnswer on hand-made bytes: backward pointers chained are fine; forward pointers, pointers into the header and reserved label bits are not', async () => {
  const { checkAnswer } = await import('../src/dns/message-check.js');
  const asked = { id: 0x1234, name: 'a.test', type: 15, class: 1 };
  const header = (an: number) => Buffer.from([0x12, 0x34, 0x81, 0x80, 0, 1, 0, an, 0, 0, 0, 0]);
  const question = Buffer.from([1, 0x61, 4, 0x74, 0x65, 0x73, 0x74, 0, 0, 15, 0, 1]); // a.test MX IN, at byte 12
  const rr = (owner: number[], rdata: number[]) =>
    Buffer.from([...owner, 0, 15, 0, 1, 0, 0, 1, 0, rdata.length >> 8, rdata.length & 0xff, ...rdata]);
  // MX 10 mx.<pointer to "test" at 14>, owner a pointer to the question name at 12.
  const good = Buffer.concat([header(1), question, rr([0xc0, 12], [0, 10, 2, 0x6d, 0x78, 0xc0, 14])]);
  assert.deepEqual(checkAnswer(good, asked, false).ok, true);
  const verdict = (buf: Buffer) => {
    const v = checkAnswer(buf, asked, false);
    return v.ok ? 'ok' : v.problem;
  };
  assert.match(
    verdict(Buffer.concat([header(1), question, rr([0xc0, 24], [0, 10, 0])])),
    /compression pointer loop: the pointer at byte 24 points to byte 24/,
  );
  assert.match(verdict(Buffer.concat([header(1), question, rr([0xc0, 40], [0, 10, 0])])), /compression pointer loop/);
  assert.match(verdict(Buffer.concat([header(1), question, rr([0xc0, 2], [0, 10, 0])])), /pointer into the header/);
  assert.match(
    verdict(Buffer.concat([header(1), question, rr([0x41, 0x61, 0], [0, 10, 0])])),
    /label length byte 0x41 with reserved bits/,
  );
  assert.match(
    verdict(Buffer.concat([header(2), question, rr([0xc0, 12], [0, 10, 0])])),
    /counts 2 answer record\(s\), but the message ends after 1/,
  );
  const opt = Buffer.from([0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]);
  const twoOpt = Buffer.concat([header(0), question, opt, opt]);
  twoOpt.writeUInt16BE(2, 10);
  assert.match(verdict(twoOpt), /OPT record belongs once in the additional section/);
});

test('DoH: the same check; a malformed answer or TC over HTTPS is a failure, never "no MX"', async () => {
  const https = await import('node:https');
  const DNS = (await import('dns2')).default;
  const { TLS } = await import('./helpers/paths.js');
  const faults: DnsFault[] = ['pointerLoop', 'tcAlways'];
  let next = 0;
  const server = https.createServer({ key: TLS.key(), cert: TLS.cert() }, (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const q = DNS.Packet.parse(Buffer.concat(parts));
      const a = DNS.Packet.createResponseFromRequest(q);
      a.answers.push({
        name: String(q.questions[0]!.name),
        type: 15,
        class: 1,
        ttl: 60,
        exchange: 'mx.doh.test',
        priority: 1,
      } as never);
      res.writeHead(200, { 'content-type': 'application/dns-message' });
      res.end(spoil(faults[next++ % faults.length]!, a.toBuffer()));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as { port: number }).port;
    for (const why of [/compression pointer loop/, /TC \(truncated\) bit is set on an answer over TCP or HTTPS/]) {
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
      assert.equal(r.code, 3, r.stdout + r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.outcome.dnsError.kind, 'malformed');
      assert.match(doc.outcome.message, why);
    }
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test(
  'DoH: a body longer than any DNS message (endless, or declared as 100 MB) is a malformed answer, read no further: memory stays flat',
  { skip: process.platform !== 'linux' ? 'reads /proc' : false },
  async () => {
    const { TLS } = await import('./helpers/paths.js');
    for (const [fault, why] of [
      ['endlessBody', /the body goes on past 65535 bytes, longer than any DNS message/],
      ['hugeDeclared', /the body is declared as 100000000 bytes, longer than any DNS message/],
    ] as const) {
      const doh = await dohServer(fault, { key: TLS.key(), cert: TLS.cert() });
      try {
        const started = Date.now();
        const { code, peak, out } = await measuredRun(
          ['mx-lookup', 'doh.test', '--doh', doh.url, '--ca-file', TLS.ca, '--dns-timeout', '5s', '--json'],
          { limitMs: 30_000 },
        );
        assert.equal(code, 3, out);
        const doc = JSON.parse(out.slice(out.indexOf('{')));
        assert.equal(doc.outcome.dnsError.kind, 'malformed', out);
        assert.match(doc.outcome.message, why);
        // Cut off at once, not when the 5 s timeout ends the read (the endless body reached 300 MiB in 3 s).
        assert.ok(Date.now() - started < 4000, `${fault}: ${Date.now() - started} ms`);
        assert.ok(peak > 0 && peak < 100 * MiB, `${fault}: peak RSS ${Math.round(peak / MiB)} MiB`);
      } finally {
        await doh.close();
      }
    }
  },
);

test('DNS over TCP: an answer dripped in small pieces is copied about once, not once per piece', async () => {
  // 64 KiB announced and sent 16 bytes at a time: every piece joined with all before it
  // copied about 134 MB (a 64 KiB answer a byte at a time, about 2 GB).
  const server = await rawServer((socket) => {
    socket.once('data', async () => {
      socket.write(Buffer.from([0xff, 0xff]));
      for (let at = 0; at < 0xffff && !socket.destroyed; at += 16) {
        socket.write(Buffer.alloc(Math.min(16, 0xffff - at), 0x2a));
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
  });
  const concat = Buffer.concat;
  let copied = 0;
  Buffer.concat = (list: readonly Uint8Array[], total?: number) => {
    const joined = concat(list, total);
    copied += joined.length;
    return joined;
  };
  try {
    const outcome = await ask('example.test', 'MX', {
      servers: [{ address: '127.0.0.1', port: server.port }],
      tcp: true,
      doh: undefined,
      timeoutMs: 20_000,
      ca: undefined,
    }).then(
      () => 'answered',
      (err: Error) => err.message,
    );
    // Garbage is no answer: said as a malformed answer, after the whole message was read.
    assert.match(outcome, /malformed|not a DNS|answer/i);
  } finally {
    Buffer.concat = concat;
    await server.close();
  }
  assert.ok(copied < 4 * 0x10001, `${copied} bytes copied for a ${0x10001}-byte answer`);
});
