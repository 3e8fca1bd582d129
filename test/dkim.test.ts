import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { capturePeer, type CapturePeer } from './helpers/capture-peer.js';
import { runCli } from './helpers/cli.js';
import { dkimpySign, dkimpyVerify, keyRecord, newKey } from './helpers/dkim-peer.js';
import { rawServer } from './helpers/raw-server.js';
import { dnsServer, type DnsServer, type Zone } from './helpers/dns-server.js';
import { TLS } from './helpers/paths.js';
import { BodyHasher } from '../src/dkim/canonicalize.js';

const dir = mkdtempSync(join(tmpdir(), 'smtpkit-dkim-'));
const rsa = newKey(dir, 'rsa', 'rsa');
const ed = newKey(dir, 'ed', 'ed25519');
const rsa1024 = newKey(dir, 'rsa1024', 'rsa', 1024);
const rsa512 = newKey(dir, 'rsa512', 'rsa', 512);
const other = newKey(dir, 'other', 'rsa');
const attachment = join(dir, 'photo.bin');
writeFileSync(attachment, Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 256)));

/** Keys as dkimpy and our DNS server both see them. */
const keys: Record<string, string> = {
  'rsa._domainkey.example.test': keyRecord(readFileSync(rsa, 'utf8')),
  'ed._domainkey.example.test': keyRecord(readFileSync(ed, 'utf8')),
  'small._domainkey.example.test': keyRecord(readFileSync(rsa1024, 'utf8')),
  'tiny._domainkey.example.test': keyRecord(readFileSync(rsa512, 'utf8')),
  'swapped._domainkey.example.test': keyRecord(readFileSync(other, 'utf8')),
  'revoked._domainkey.example.test': 'v=DKIM1; k=rsa; p=',
  'rsa._domainkey.mail.example.test': keyRecord(readFileSync(rsa, 'utf8')),
  'rsa._domainkey.elsewhere.test': keyRecord(readFileSync(rsa, 'utf8')),
  'rsa._domainkey.b.walkfail.test': keyRecord(readFileSync(rsa, 'utf8')),
  'rsa._domainkey.xn--bcher-kva.test': keyRecord(readFileSync(rsa, 'utf8')),
  'rsa._domainkey.mail.xn--bcher-kva.test': keyRecord(readFileSync(rsa, 'utf8')),
};
const zone: Zone = {
  ...Object.fromEntries(Object.entries(keys).map(([name, data]) => [name, [{ type: 'TXT' as const, data }]])),
  '_dmarc.example.test': [{ type: 'TXT', data: 'v=DMARC1; p=reject' }],
  '_dmarc.xn--bcher-kva.test': [{ type: 'TXT', data: 'v=DMARC1; p=reject' }],
  'broken._domainkey.example.test': 'SERVFAIL',
  // a.walkfail.test and b.walkfail.test: their tree walks fail at _dmarc.walkfail.test, before any record.
  '_dmarc.walkfail.test': 'SERVFAIL',
  'keys.test': [{ type: 'MX', exchange: 'mx.keys.test', priority: 10 }],
  'nokeys.test': [{ type: 'MX', exchange: 'mx.keys.test', priority: 10 }],
  'mx.keys.test': [{ type: 'A', address: '192.0.2.1' }],
  'good._domainkey.keys.test': [{ type: 'TXT', data: keyRecord(readFileSync(rsa, 'utf8')) }],
  'ed._domainkey.keys.test': [{ type: 'TXT', data: keyRecord(readFileSync(ed, 'utf8')) }],
  'small._domainkey.keys.test': [{ type: 'TXT', data: keyRecord(readFileSync(rsa1024, 'utf8')) }],
  'tiny._domainkey.keys.test': [{ type: 'TXT', data: keyRecord(readFileSync(rsa512, 'utf8')) }],
  'revoked._domainkey.keys.test': [{ type: 'TXT', data: 'v=DKIM1; p=' }],
  'testing._domainkey.keys.test': [{ type: 'TXT', data: `${keyRecord(readFileSync(rsa, 'utf8'))}; t=y` }],
  'garbled._domainkey.keys.test': [{ type: 'TXT', data: 'v=DKIM1; k=rsa; p=not base64!' }],
  'selector1._domainkey.keys.test': [{ type: 'CNAME', domain: 'selector1-keys-test._domainkey.provider.test' }],
  'selector1-keys-test._domainkey.provider.test': [{ type: 'TXT', data: keyRecord(readFileSync(rsa, 'utf8')) }],
};

let dns: DnsServer;
let peer: CapturePeer;
before(async () => {
  dns = await dnsServer(zone);
  peer = await capturePeer();
});
after(async () => {
  await Promise.all([dns.close(), peer.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const dryRun = async (...args: string[]) => {
  const r = await runCli([
    'send',
    '--dry-run',
    '--from',
    'Ann <ann@example.test>',
    '--to',
    'bob@example.test',
    '--subject',
    'Grüße',
    ...args,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return Buffer.from(r.stdout, 'utf8');
};
const verify = async (message: Buffer | string, ...args: string[]) => {
  const r = await runCli(
    ['dkim-verify', '-', '--json', '--resolver', `127.0.0.1:${dns.port}`, '--dns-timeout', '1s', ...args],
    { input: message.toString() },
  );
  return { code: r.code, doc: JSON.parse(r.stdout), stderr: r.stderr };
};
const reasons = (doc: { signatures: Array<{ reason: string }> }) => doc.signatures.map((s) => s.reason);

test('smtpkit signs with RSA and an attachment: dkimpy verifies it, and so does dkim-verify', async () => {
  const m = await dryRun(
    '--body',
    'Hello  there \n\n\n',
    '--attach',
    attachment,
    '--dkim-key',
    rsa,
    '--dkim-selector',
    'rsa',
  );
  assert.match(m.toString(), /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example\.test; s=rsa;/);
  assert.match(
    m.toString(),
    /h=From:From:To:Subject:Date:Message-ID:MIME-Version:Content-Type;/,
    'the usual set, From oversigned',
  );
  const py = dkimpyVerify(m, keys, dir);
  assert.ok(py.ok, py.output);
  const v = await verify(m);
  assert.equal(v.code, 0, JSON.stringify(v.doc));
  assert.deepEqual(reasons(v.doc), ['pass']);
  assert.equal(v.doc.signatures[0].keyBits, 2048);
  assert.equal(v.doc.alignment[0].strict, true);
});

test('smtpkit signs with Ed25519 (RFC 8463), every canonicalization: dkimpy verifies each', async () => {
  for (const canon of ['relaxed/relaxed', 'simple/simple', 'relaxed/simple', 'simple/relaxed']) {
    const m = await dryRun(
      '--body',
      ' a \t b  \n\n \n',
      '--header',
      'X-Folded:   spaced   value ',
      '--dkim-key',
      ed,
      '--dkim-selector',
      'ed',
      '--dkim-canon',
      canon,
      '--dkim-headers',
      'From:To:Subject:X-Folded',
    );
    assert.match(m.toString(), new RegExp(`a=ed25519-sha256; c=${canon};`));
    const py = dkimpyVerify(m, keys, dir);
    assert.ok(py.ok, `${canon}: ${py.output}`);
    const v = await verify(m);
    assert.deepEqual(reasons(v.doc), ['pass'], canon);
  }
});

test('--data: a ready message (bare LF line ends, dot lines) is signed as it goes on the wire', async () => {
  const raw = join(dir, 'raw.eml');
  writeFileSync(raw, 'From: Ann <ann@example.test>\nTo: bob@example.test\nSubject: raw\n\nbody line\n.dot line\n\n\n');
  const r = await runCli([
    'send',
    '--dry-run',
    '--from',
    'ann@example.test',
    '--to',
    'bob@example.test',
    '--data',
    raw,
    '--dkim-key',
    ed,
    '--dkim-selector',
    'ed',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const m = Buffer.from(r.stdout.replace(/\r?\n/g, '\r\n'));
  assert.ok(dkimpyVerify(m, keys, dir).ok);
  assert.deepEqual(reasons((await verify(m)).doc), ['pass']); // Standard input is a one-shot stream: spooled to a private file while hashed, then sent.
  const before = peer.messages.length;
  const piped = await runCli(
    [
      'send',
      `127.0.0.1:${peer.port}`,
      '--ca-file',
      TLS.ca,
      '--from',
      'ann@example.test',
      '--to',
      'bob@example.test',
      '--data',
      '-',
      '--dkim-key',
      rsa,
      '--dkim-selector',
      'rsa',
    ],
    { input: readFileSync(raw, 'utf8') },
  );
  assert.equal(piped.code, 0, piped.stdout + piped.stderr);
  assert.match(piped.stdout, /DKIM-Signature: v=1; a=rsa-sha256/);
  assert.ok(
    dkimpyVerify(peer.messages[before]!.data, keys, dir).ok,
    'dkimpy verifies what the server received from stdin',
  );
});

test('send through a server: the DKIM-Signature shows in the transcript and the received message verifies with dkimpy', async () => {
  const before = peer.messages.length;
  const r = await runCli([
    'send',
    `127.0.0.1:${peer.port}`,
    '--ca-file',
    TLS.ca,
    '--from',
    'ann@example.test',
    '--to',
    'bob@example.test',
    '--attach',
    attachment,
    '--dkim-key',
    rsa,
    '--dkim-selector',
    'rsa',
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /DKIM-Signature: v=1; a=rsa-sha256/);
  const received = peer.messages[before]!.data;
  assert.ok(dkimpyVerify(received, keys, dir).ok, 'dkimpy verifies what the server received');
  const bdat = await runCli([
    'send',
    `127.0.0.1:${peer.port}`,
    '--ca-file',
    TLS.ca,
    '--from',
    'ann@example.test',
    '--to',
    'bob@example.test',
    '--bdat',
    '--dkim-key',
    ed,
    '--dkim-selector',
    'ed',
  ]);
  assert.equal(bdat.code, 0, bdat.stdout);
  assert.ok(dkimpyVerify(peer.messages.at(-1)!.data, keys, dir).ok);
  const json = await runCli([
    'send',
    `127.0.0.1:${peer.port}`,
    '--ca-file',
    TLS.ca,
    '--from',
    'ann@example.test',
    '--to',
    'bob@example.test',
    '--json',
    '--dkim-key',
    ed,
    '--dkim-selector',
    'ed',
    '--dkim-domain',
    'mail.example.test',
  ]);
  assert.deepEqual(JSON.parse(json.stdout).result.dkim, {
    domain: 'mail.example.test',
    selector: 'ed',
    algorithm: 'ed25519-sha256',
    keyBits: 256,
    canonicalization: 'relaxed/relaxed',
  });
});

test('load mode signs once and every message it sends verifies with dkimpy, in one thread or several', async () => {
  for (const threads of ['1', '2']) {
    const before = peer.messages.length;
    const r = await runCli(
      [
        'send',
        `127.0.0.1:${peer.port}`,
        '--ca-file',
        TLS.ca,
        '--from',
        'ann@example.test',
        '--to',
        'bob@example.test',
        '--count',
        '6',
        '--concurrency',
        '2',
        '--dkim-key',
        threads === '1' ? rsa : ed,
        '--dkim-selector',
        threads === '1' ? 'rsa' : 'ed',
        '--json',
      ],
      { env: { SMTPKIT_LOAD_THREADS: threads }, limitMs: 30_000 },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual([doc.settings.threads, doc.result.accepted], [Number(threads), 6]);
    const received = peer.messages.slice(before);
    assert.equal(received.length, 6);
    for (const m of received) {
      assert.match(m.data.toString('latin1'), /^DKIM-Signature: v=1; a=(rsa|ed25519)-sha256/);
      assert.ok(dkimpyVerify(m.data, keys, dir).ok, `dkimpy verifies a load-mode message (${threads} thread(s))`);
    }
  }
});

test('load mode: a message DKIM cannot sign (a From: with no domain) is exit 2 before any connection, in one thread or several', async () => {
  const server = await rawServer((socket) => socket.end('220 x ESMTP\r\n'));
  const file = join(dir, 'no-domain.eml');
  writeFileSync(file, 'From: nobody\r\nSubject: x\r\n\r\nhello\r\n');
  try {
    for (const threads of ['1', '2']) {
      const r = await runCli(
        [
          'send',
          `127.0.0.1:${server.port}`,
          '--from',
          'ann@example.test',
          '--to',
          'bob@example.test',
          '--data',
          file,
          '--count',
          '4',
          '--concurrency',
          '2',
          '--dkim-key',
          ed,
          '--dkim-selector',
          'ed',
          '--json',
        ],
        { env: { SMTPKIT_LOAD_THREADS: threads } },
      );
      assert.equal(r.code, 2, r.stdout + r.stderr);
      // With --json the usage error is a JSON document too.
      const { outcome } = JSON.parse(r.stdout);
      assert.equal(outcome.errorClass, 'usage');
      assert.match(outcome.message, /From: address has no domain/);
      assert.equal(r.stderr, '');
    }
    assert.equal(server.received.length, 0, 'no connection was made');
  } finally {
    await server.close();
  }
});

test('load mode with the message on standard input (--data -): read once, signed and sent by one thread or several', async () => {
  const input = 'From: ann@example.test\r\nTo: bob@example.test\r\nSubject: piped\r\n\r\nfrom a pipe\r\n';
  for (const threads of ['1', '2']) {
    const before = peer.messages.length;
    const r = await runCli(
      [
        'send',
        `127.0.0.1:${peer.port}`,
        '--ca-file',
        TLS.ca,
        '--from',
        'ann@example.test',
        '--to',
        'bob@example.test',
        '--data',
        '-',
        '--count',
        '3',
        '--concurrency',
        '2',
        '--dkim-key',
        ed,
        '--dkim-selector',
        'ed',
        '--json',
      ],
      { env: { SMTPKIT_LOAD_THREADS: threads }, input, limitMs: 30_000 },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(JSON.parse(r.stdout).result.accepted, 3);
    const received = peer.messages.slice(before);
    assert.equal(received.length, 3);
    for (const m of received) {
      assert.match(m.data.toString('latin1'), /^DKIM-Signature: [^]*\r\nSubject: piped\r\n\r\nfrom a pipe\r\n$/);
      assert.ok(dkimpyVerify(m.data, keys, dir).ok, `dkimpy verifies a piped load-mode message (${threads} thread(s))`);
    }
  }
});

test('signing options are checked before anything is sent', async () => {
  const base = ['send', '--dry-run', '--from', 'ann@example.test', '--to', 'bob@example.test'];
  const tiny = await runCli([...base, '--dkim-key', rsa512, '--dkim-selector', 'x']);
  assert.equal(tiny.code, 2);
  assert.match(tiny.stderr, /512 bits.*RFC 8301/);
  const small = await runCli([...base, '--dkim-key', rsa1024, '--dkim-selector', 'x']);
  assert.equal(small.code, 0);
  assert.match(small.stderr, /warning: the DKIM key has 1024 bits/);
  for (const args of [
    ['--dkim-key', rsa],
    ['--dkim-selector', 'x'],
    ['--dkim-key', rsa, '--dkim-selector', 'a b'],
    ['--dkim-key', rsa, '--dkim-selector', 'x', '--dkim-canon', 'loose'],
    ['--dkim-key', rsa, '--dkim-selector', 'x', '--dkim-headers', 'To:Subject'],
    ['--dkim-key', join(dir, 'none.pem'), '--dkim-selector', 'x'],
    ['--dkim-key', attachment, '--dkim-selector', 'x'],
    ['--dkim-key', rsa, '--dkim-selector', 'x\r\nBcc: y'],
  ]) {
    const r = await runCli([...base, ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(!/at .+\.js:\d+/.test(r.stderr), r.stderr);
  }
});

test('messages signed by dkimpy (RSA and Ed25519) pass dkim-verify', async () => {
  const message = Buffer.from(
    'From: Ann <ann@example.test>\r\nTo: bob@example.test\r\nSubject: from dkimpy\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n\r\nHello,\r\n\r\nsigned elsewhere.\r\n',
  );
  for (const [key, sel, ed25519] of [
    [rsa, 'rsa', false],
    [ed, 'ed', true],
  ] as const) {
    for (const canon of ['relaxed/relaxed', 'simple/simple']) {
      const signed = dkimpySign(message, sel, 'example.test', key, ['from', 'to', 'subject', 'date'], {
        canon,
        ed25519,
      });
      const v = await verify(signed);
      assert.equal(v.code, 0, `${sel} ${canon}: ${JSON.stringify(v.doc.signatures)}`);
    }
  }
});

test('altered copies fail with the right explanation', async () => {
  const message = Buffer.from(
    'From: Ann <ann@example.test>\r\nTo: bob@example.test\r\nSubject: original\r\n\r\nThe body.\r\n',
  );
  const signed = dkimpySign(message, 'rsa', 'example.test', rsa, ['from', 'to', 'subject']).toString();
  const cases: Array<[string, string, string, number]> = [
    ['body', signed.replace('The body.', 'The body!'), 'body-hash-mismatch', 1],
    ['footer', `${signed}--\r\nSent by a list\r\n`, 'body-hash-mismatch', 1],
    ['signed header', signed.replace('Subject: original', 'Subject: changed'), 'signature-mismatch', 1],
    ['key removed', signed.replace('s=rsa;', 's=gone;'), 'key-not-found', 1],
    ['key revoked', signed.replace('s=rsa;', 's=revoked;'), 'key-revoked', 1],
    ['another key', signed.replace('s=rsa;', 's=swapped;'), 'signature-mismatch', 1],
    ['512-bit key', signed.replace('s=rsa;', 's=tiny;'), 'weak-key', 1],
    ['expired', signed.replace('v=1;', 'v=1; x=1000000000;').replace(/t=\d+;/, 't=900000000;'), 'expired', 1],
    ['x= before t=', signed.replace('v=1;', 'v=1; x=1000000000;'), 'syntax', 1],
    ['DNS failure', signed.replace('s=rsa;', 's=broken;'), 'dns-failure', 3],
    ['no From in h=', signed.replace(/h=from\s*:\s*/, 'h='), 'syntax', 1],
  ];
  for (const [name, text, reason, code] of cases) {
    const v = await verify(text);
    assert.deepEqual(reasons(v.doc), [reason], name);
    assert.equal(v.code, code, name);
    assert.ok(v.doc.signatures[0].explanation.length > 20, name);
  }
  // h= is itself signed: narrowing it breaks the signature; a field added above it is not signed and does not matter.
  assert.equal(
    (await verify(signed.replace('To: bob@example.test', 'To: eve@example.test').replace('h=from : to', 'h=from')))
      .code,
    1,
  );
  assert.equal((await verify(`X-Added: later\r\n${signed}`)).code, 0);
});

test('l= partial body: still a pass, with a warning that the rest is unsigned', async () => {
  const message = Buffer.from('From: ann@example.test\r\nSubject: l\r\n\r\nsigned part\r\n');
  const signed = dkimpySign(message, 'rsa', 'example.test', rsa, ['from', 'subject'], { length: true });
  const v = await verify(Buffer.concat([signed, Buffer.from('appended by someone\r\n')]));
  assert.equal(v.code, 0);
  assert.deepEqual(v.doc.signatures[0].bodyLength, { signed: 13, total: 34 });
  assert.match(v.doc.signatures[0].notes.join(' '), /l=13: only the first 13 of 34 body bytes are signed/);
});

test('alignment: a subdomain aligns relaxed through the DNS tree walk; another domain does not', async () => {
  const message = Buffer.from('From: ann@example.test\r\nSubject: a\r\n\r\nx\r\n');
  const sub = await verify(dkimpySign(message, 'rsa', 'mail.example.test', rsa, ['from', 'subject']));
  assert.equal(sub.code, 0);
  assert.deepEqual(
    { strict: sub.doc.alignment[0].strict, relaxed: sub.doc.alignment[0].relaxed, org: sub.doc.alignment[0].fromOrg },
    { strict: false, relaxed: true, org: 'example.test' },
  );
  const elsewhere = await verify(dkimpySign(message, 'rsa', 'elsewhere.test', rsa, ['from', 'subject']));
  assert.equal(elsewhere.code, 0, 'the signature itself passes');
  assert.equal(elsewhere.doc.alignment[0].relaxed, false);
  assert.match(elsewhere.doc.outcome.message, /none aligned with From: example\.test/);
});

test('alignment is unknown, not "not aligned", when a tree walk fails before finding any record', async () => {
  const message = Buffer.from('From: ann@a.walkfail.test\r\nSubject: a\r\n\r\nx\r\n');
  const v = await verify(dkimpySign(message, 'rsa', 'b.walkfail.test', rsa, ['from', 'subject']));
  assert.equal(v.doc.signatures[0].result, 'pass', v.stderr);
  assert.equal(v.doc.alignment[0].relaxed, undefined, JSON.stringify(v.doc.alignment));
  assert.match(v.doc.alignment[0].error, /_dmarc\.walkfail\.test.*SERVFAIL/);
  assert.match(v.doc.outcome.message, /alignment with From: a\.walkfail\.test could not be determined/);
  assert.doesNotMatch(v.doc.outcome.message, /none aligned/);
});

test('alignment of an internationalized From: domain is judged on its A-labels: jörg@bücher.test and d=xn--bcher-kva.test are the same domain (RFC 8616)', async () => {
  const message = Buffer.from('From: Jörg <jörg@bücher.test>\r\nSubject: a\r\n\r\nx\r\n', 'utf8');
  const same = await verify(dkimpySign(message, 'rsa', 'xn--bcher-kva.test', rsa, ['from', 'subject']));
  assert.equal(same.code, 0, same.stderr);
  assert.equal(same.doc.signatures[0].result, 'pass');
  assert.deepEqual(
    { strict: same.doc.alignment[0].strict, relaxed: same.doc.alignment[0].relaxed },
    { strict: true, relaxed: true },
  );
  const sub = await verify(dkimpySign(message, 'rsa', 'mail.xn--bcher-kva.test', rsa, ['from', 'subject']));
  assert.equal(sub.doc.signatures[0].result, 'pass');
  assert.deepEqual(
    { strict: sub.doc.alignment[0].strict, relaxed: sub.doc.alignment[0].relaxed, org: sub.doc.alignment[0].fromOrg },
    { strict: false, relaxed: true, org: 'xn--bcher-kva.test' },
  );
  assert.match(sub.doc.outcome.message, /aligned with From: bücher\.test/);
});

test('dkim-verify: text output explains; no signature exits 1; unreadable file exits 2', async () => {
  const message = Buffer.from('From: ann@example.test\r\nSubject: t\r\n\r\nx\r\n');
  const signed = dkimpySign(message, 'rsa', 'example.test', rsa, ['from', 'subject'])
    .toString()
    .replace('\r\nx\r\n', '\r\ny\r\n');
  const r = await runCli(['dkim-verify', '-', '--resolver', `127.0.0.1:${dns.port}`], { input: signed });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /✖ #1 fail \(body-hash-mismatch\): body hash mismatch: the body changed after signing/);
  const none = await runCli(['dkim-verify', '-', '--json', '--resolver', `127.0.0.1:${dns.port}`], {
    input: message.toString(),
  });
  assert.equal(none.code, 1);
  assert.equal(JSON.parse(none.stdout).outcome.message, 'the message has no DKIM-Signature');
  const missing = await runCli(['dkim-verify', join(dir, 'nope.eml'), '--resolver', `127.0.0.1:${dns.port}`]);
  assert.equal(missing.code, 2, missing.stderr);
});

/** Peak resident memory of a child, read from /proc while it runs (VmHWM is a high-water mark). */
async function peakRssOf(args: string[]): Promise<{ code: number | null; peak: number; stderr: string }> {
  const { spawn } = await import('node:child_process');
  const { BIN } = await import('./helpers/paths.js');
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let peak = 0;
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const poll = setInterval(() => {
    try {
      peak = Math.max(
        peak,
        Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024,
      );
    } catch {
      /* exited */
    }
  }, 20);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(poll);
  return { code, peak, stderr };
}

test(
  'a 50 MB attachment is signed and verified in bounded memory (the body hash streams)',
  { skip: process.platform !== 'linux' ? 'reads /proc' : false },
  async () => {
    const { closeSync, openSync, writeSync } = await import('node:fs');
    const big = join(dir, 'big.bin');
    const fd = openSync(big, 'w');
    for (let i = 0; i < 50; i++) writeSync(fd, Buffer.alloc(1024 * 1024, i));
    closeSync(fd);
    const signed = join(dir, 'big.eml');
    const { spawnSync } = await import('node:child_process');
    const { BIN } = await import('./helpers/paths.js');
    const out = openSync(signed, 'w');
    const s = spawnSync(
      process.execPath,
      [
        BIN,
        'send',
        '--dry-run',
        '--from',
        'ann@example.test',
        '--to',
        'bob@example.test',
        '--attach',
        big,
        '--dkim-key',
        rsa,
        '--dkim-selector',
        'rsa',
      ],
      { stdio: ['ignore', out, 'pipe'] },
    );
    closeSync(out);
    assert.equal(s.status, 0, String(s.stderr));
    const sign = await peakRssOf([
      'send',
      '--dry-run',
      '--from',
      'ann@example.test',
      '--to',
      'bob@example.test',
      '--attach',
      big,
      '--dkim-key',
      rsa,
      '--dkim-selector',
      'rsa',
    ]);
    assert.equal(sign.code, 0, sign.stderr);
    assert.ok(
      sign.peak > 0 && sign.peak < 150 * 1024 * 1024,
      `signing: peak RSS ${Math.round(sign.peak / 1048576)} MiB for a 68 MB message`,
    );
    const check = await peakRssOf(['dkim-verify', signed, '--resolver', `127.0.0.1:${dns.port}`, '-q']);
    assert.equal(check.code, 0, check.stderr);
    assert.ok(
      check.peak > 0 && check.peak < 150 * 1024 * 1024,
      `verifying: peak RSS ${Math.round(check.peak / 1048576)} MiB`,
    );
  },
);

test('mx-lookup --dkim-selector judges published keys: size, type, testing, revoked, syntax, CNAME to a provider', async () => {
  const check = async (...selectors: string[]) => {
    const r = await runCli([
      'mx-lookup',
      'keys.test',
      '--json',
      '--resolver',
      `127.0.0.1:${dns.port}`,
      '--dns-timeout',
      '1s',
      ...selectors.flatMap((s) => ['--dkim-selector', s]),
    ]);
    const f = JSON.parse(r.stdout).checks.find((c: { check: string }) => c.check === 'DKIM');
    return { code: r.code, f };
  };
  const good = await check('good', 'ed');
  assert.equal(good.f.status, 'pass', good.f.summary);
  assert.equal(good.code, 0);
  assert.match(good.f.details.join('\n'), /RSA 2048 bits[^]*Ed25519 \(RFC 8463\)/);
  const cases: Array<[string, string, RegExp, string]> = [
    ['small', 'warn', /1024-bit RSA key; use 2048 bits/, 'RFC 8301 §3.2'],
    ['tiny', 'fail', /512-bit RSA key; verifiers must reject/, 'RFC 8301 §3.2'],
    ['revoked', 'warn', /is revoked \(empty p=\)/, 'RFC 6376 §3.6.1'],
    ['testing', 'warn', /t=y \(testing\)/, 'RFC 6376 §3.6.1'],
    ['garbled', 'fail', /p= is not base64/, 'RFC 6376 §3.6.1'],
    ['missing', 'fail', /no key at missing\._domainkey\.keys\.test/, 'RFC 6376 §6.1.2'],
  ];
  for (const [selector, status, text, ref] of cases) {
    const r = await check(selector);
    assert.equal(r.f.status, status, selector);
    assert.match(r.f.summary, text, selector);
    assert.equal(r.f.issues[0].ref, ref, selector);
    assert.equal(r.code, status === 'fail' ? 1 : 0, selector);
  }
  const guessed = await runCli([
    'mx-lookup',
    'keys.test',
    '--checks',
    '--json',
    '--resolver',
    `127.0.0.1:${dns.port}`,
    '--dns-timeout',
    '1s',
  ]);
  const f = JSON.parse(guessed.stdout).checks.find((c: { check: string }) => c.check === 'DKIM');
  assert.match(f.summary, /1 key published and usable \(found by guessing common selectors\)/);
  assert.match(
    f.details.join('\n'),
    /selector1\._domainkey\.keys\.test is a CNAME to selector1-keys-test\._domainkey\.provider\.test/,
  );
  const none = await runCli([
    'mx-lookup',
    'nokeys.test',
    '--checks',
    '--json',
    '--resolver',
    `127.0.0.1:${dns.port}`,
    '--dns-timeout',
    '1s',
  ]);
  const n = JSON.parse(none.stdout).checks.find((c: { check: string }) => c.check === 'DKIM');
  assert.equal(n.status, 'absent');
  assert.match(n.summary, /that proves nothing/);
  const bad = await runCli([
    'mx-lookup',
    'keys.test',
    '--dkim-selector',
    'a\r\nb',
    '--resolver',
    `127.0.0.1:${dns.port}`,
  ]);
  assert.equal(bad.code, 2);
});

test('rsa-sha1 is reported as a weak algorithm even when the signature is valid (RFC 8301)', async () => {
  const signed = dkimpySign(
    Buffer.from('From: ann@example.test\r\nSubject: old\r\n\r\nx\r\n'),
    'rsa',
    'example.test',
    rsa,
    ['from', 'subject'],
    { algorithm: 'rsa-sha1' },
  );
  const v = await verify(signed);
  assert.deepEqual(reasons(v.doc), ['weak-algorithm']);
  assert.equal(v.code, 1);
});

test('the streamed body hash does not depend on where the chunks split (CR|LF, spaces, blank lines at the end)', () => {
  const bodies = [
    'a  b \t\r\n\r\n c\r\n\r\n\r\n',
    'x\r',
    'x\ny\r\n \n\t\n',
    '',
    '\r\n\r\n',
    'no end',
    ' lead\r\n\r\ntrail \r\n',
    'a\rb\r\r\n',
  ];
  for (let seed = 0; seed < 20; seed++)
    bodies.push(
      Array.from({ length: 200 }, (_, i) => ' \t\r\nab.'[(i * 7 + seed * 13 + ((i * seed) % 5)) % 8]).join(''),
    );
  for (const body of bodies) {
    for (const canon of ['simple', 'relaxed'] as const) {
      const whole = new BodyHasher(canon);
      whole.update(Buffer.from(body));
      const expected = whole.digest();
      for (const size of [1, 2, 3, 7]) {
        const h = new BodyHasher(canon);
        for (let i = 0; i < body.length; i += size) h.update(Buffer.from(body.slice(i, i + size)));
        assert.equal(h.digest(), expected, `${canon} ${JSON.stringify(body)} in ${size}-byte chunks`);
      }
    }
  }
  // RFC 6376 §3.4.3/§3.4.4: an empty body is CRLF under simple, nothing under relaxed.
  const empty = (c: 'simple' | 'relaxed') => new BodyHasher(c).digest();
  assert.equal(empty('simple'), 'frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=');
  assert.equal(empty('relaxed'), '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
});

test('raw 8-bit header bytes (not UTF-8) are signed and verified byte for byte', async () => {
  const raw = Buffer.concat([
    Buffer.from('From: ann@example.test\r\nTo: bob@example.test\r\nSubject: caf'),
    Buffer.from([0xe9, 0x20, 0xff]),
    Buffer.from('\r\n\r\nbody\r\n'),
  ]);
  const signedByThem = dkimpySign(raw, 'rsa', 'example.test', rsa, ['from', 'to', 'subject'], {
    canon: 'simple/simple',
  });
  const theirs = join(dir, 'latin1-dkimpy.eml');
  writeFileSync(theirs, signedByThem);
  const r = await runCli(['dkim-verify', theirs, '--json', '--resolver', `127.0.0.1:${dns.port}`]);
  assert.deepEqual(reasons(JSON.parse(r.stdout)), ['pass']);
  const file = join(dir, 'latin1.eml');
  writeFileSync(file, raw);
  const out = join(dir, 'latin1-signed.eml');
  const { spawnSync } = await import('node:child_process');
  const { BIN } = await import('./helpers/paths.js');
  const { openSync, closeSync } = await import('node:fs');
  const fd = openSync(out, 'w');
  const s = spawnSync(
    process.execPath,
    [
      BIN,
      'send',
      '--dry-run',
      '--from',
      'ann@example.test',
      '--to',
      'bob@example.test',
      '--data',
      file,
      '--dkim-key',
      rsa,
      '--dkim-selector',
      'rsa',
      '--dkim-canon',
      'simple/simple',
    ],
    { stdio: ['ignore', fd, 'pipe'] },
  );
  closeSync(fd);
  assert.equal(s.status, 0, String(s.stderr));
  assert.ok(dkimpyVerify(readFileSync(out), keys, dir).ok);
});

test('dkim-verify shows UTF-8 header values decoded (From: domain, tag values), never as latin1 mojibake, and still escaped', async () => {
  const message = Buffer.from(
    'From: Jörg Müller <jörg@bücher.test>\r\nTo: bob@example.test\r\nSubject: Grüße\r\n\r\nbody\r\n',
    'utf8',
  );
  const signed = dkimpySign(message, 'rsa', 'example.test', rsa, ['from', 'to', 'subject']).toString('utf8');
  const text = await runCli(['dkim-verify', '-', '--resolver', `127.0.0.1:${dns.port}`], { input: signed });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^=== 1 DKIM signature; From: domain bücher\.test$/m);
  assert.doesNotMatch(text.stdout, /Ã/);
  const v = await verify(signed);
  assert.equal(v.doc.fromDomain, 'bücher.test');
  // A tag value the same: the selector in the key's name, as the explanation and JSON give it.
  const renamed = await verify(signed.replace('s=rsa;', 's=schlüssel;'));
  assert.deepEqual(reasons(renamed.doc), ['key-not-found']);
  assert.equal(renamed.doc.signatures[0].selector, 'schlüssel');
  assert.match(renamed.doc.signatures[0].explanation, /no key at schlüssel\._domainkey\.example\.test/);
  // Decoded is not raw: a C1 control (U+009B, a one-byte CSI) in the domain is shown escaped.
  const hostile = await runCli(['dkim-verify', '-', '--resolver', `127.0.0.1:${dns.port}`], {
    input: signed.replace('bücher.test>', 'bü\u009b2Jcher.test>'),
  });
  assert.match(hostile.stdout, /From: domain bü\\x9b2jcher\.test$/m);
  assert.doesNotMatch(hostile.stdout, /\u009b/);
});
