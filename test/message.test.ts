import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DataEncoder } from '../src/protocol/data-encoder.js';
import { parseAddress } from '../src/message/address.js';
import { buildMessage, type MessageSpec } from '../src/message/build.js';
import { base64Lines, base64LinesSize, headerText, quotedPrintable } from '../src/message/encode.js';
import { tempDir } from './helpers/process-group.js';

function encode(chunks: string[], dotStuff = true): string {
  const e = new DataEncoder(dotStuff);
  return Buffer.concat([...chunks.map((c) => e.push(Buffer.from(c))), e.end()]).toString();
}

test('DATA encoding: bare LF becomes CRLF, leading dots are doubled, the end is added', () => {
  assert.equal(encode(['a\nb\r\n.c\n..d\n.']), 'a\r\nb\r\n..c\r\n...d\r\n..\r\n.\r\n');
  assert.equal(encode(['.first line']), '..first line\r\n.\r\n');
  assert.equal(encode(['no newline at end']), 'no newline at end\r\n.\r\n');
  assert.equal(encode(['ends with CR\r']), 'ends with CR\r\n.\r\n');
});

test('DATA encoding is the same however the input is split', () => {
  const text = 'x\n.y\r\n\n..z\r\n.';
  const whole = encode([text]);
  for (let cut = 0; cut <= text.length; cut++)
    assert.equal(encode([text.slice(0, cut), text.slice(cut)]), whole, `cut at ${cut}`);
  assert.equal(encode([...text]), whole);
});

test('BDAT encoding normalises line ends without dot-stuffing', () => {
  assert.equal(encode(['.a\nb'], false), '.a\r\nb\r\n');
});

test('header and body encodings', () => {
  assert.equal(headerText('plain'), 'plain');
  assert.equal(headerText('Grüße'), '=?UTF-8?B?R3LDvMOfZQ==?=');
  assert.ok(
    headerText('ä'.repeat(60))
      .split('\r\n ')
      .every((w) => w.length <= 75),
  );
  assert.equal(quotedPrintable('a=b ü \nend '), 'a=3Db =C3=BC=20\r\nend=20');
  assert.ok(
    quotedPrintable('x'.repeat(200))
      .split('\r\n')
      .every((l) => l.length <= 76),
  );
  for (const n of [0, 1, 56, 57, 58, 114, 1000, 123457]) {
    assert.equal(base64LinesSize(n), base64Lines(Buffer.alloc(n)).length, `n=${n}`);
  }
});

test('addresses: display names, the null sender, and refusals', () => {
  assert.deepEqual(parseAddress('Ann <ann@a.test>', '--from'), { name: 'Ann', address: 'ann@a.test' });
  assert.deepEqual(parseAddress('<>', '--from', true), { name: undefined, address: '' });
  for (const bad of ['<>', 'no-at-sign', 'a b@c.test', 'a@b.test>\r\nDATA', 'x@y@z'])
    assert.throws(() => parseAddress(bad, '--to'), /--to/);
});

async function collect(spec: MessageSpec, eightBit = false) {
  const m = buildMessage(spec, eightBit);
  const parts: Buffer[] = [];
  for await (const c of m.chunks()) parts.push(c);
  return { m, text: Buffer.concat(parts).toString('utf8'), bytes: Buffer.concat(parts).length };
}

const base: MessageSpec = {
  from: { name: undefined, address: 'a@x.test' },
  to: [{ name: 'Bob', address: 'b@y.test' }],
  cc: [],
  subject: 'hi',
  headers: ['X-Test: 1', 'subject: replaced'],
  body: 'line one\nline two\n',
  html: false,
  attachments: [],
  raw: undefined,
  date: new Date(Date.UTC(2026, 10, 28, 12, 0, 0)),
};

test('a plain message: default headers, overrides, CRLF body; the declared size is exact', async () => {
  const { m, text, bytes } = await collect(base);
  assert.equal(m.size, bytes);
  // The Date is local time, so its day, hour and offset depend on TZ: it must name the same instant.
  const date =
    /^Date: ((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4})\r\n/.exec(text);
  assert.ok(date, text);
  assert.equal(Date.parse(date[1]!), base.date!.getTime());
  assert.match(
    text,
    /^Date: [^\r]*\r\nFrom: a@x\.test\r\nTo: Bob <b@y\.test>\r\nsubject: replaced\r\nMessage-ID: <[^>]+@x\.test>\r\nMIME-Version: 1\.0\r\nX-Test: 1\r\nContent-Type: text\/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nline one\r\nline two\r\n$/,
  );
  assert.equal(m.eightBit, false);
});

test('UTF-8 text is 8bit with 8BITMIME, quoted-printable without', async () => {
  const spec = { ...base, body: 'Grüße\n' };
  const with8 = await collect(spec, true);
  assert.equal(with8.m.eightBit, true);
  assert.match(with8.text, /Content-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n$/);
  assert.equal(with8.m.size, with8.bytes);
  const without = await collect(spec, false);
  assert.match(without.text, /Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe\r\n$/);
});

test('attachments stream as base64 with exact sizes; MIME structure is well formed', async () => {
  const dir = tempDir('smtpkit-');
  const file = join(dir, 'data.bin');
  const content = Buffer.from(Array.from({ length: 100_003 }, (_, i) => (i * 7) % 256));
  writeFileSync(file, content);
  const { m, text, bytes } = await collect({ ...base, attachments: [{ path: file, size: content.length }] });
  assert.equal(m.size, bytes);
  const boundary = /boundary="([^"]+)"/.exec(text)?.[1];
  assert.ok(boundary);
  const parts = text.split(`--${boundary}`);
  assert.equal(parts.length, 4, 'preamble, text, attachment, closing');
  assert.match(
    parts[2]!,
    /^\r\nContent-Type: application\/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="data\.bin"\r\n\r\n/,
  );
  const b64 = parts[2]!.split('\r\n\r\n')[1]!;
  assert.ok(b64.split('\r\n').every((l) => l.length <= 76));
  assert.deepEqual(Buffer.from(b64.replace(/\r\n/g, ''), 'base64'), content);
  assert.equal(parts[3], '--\r\n');
});
