import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SmtpkitError } from '../src/errors.js';
import { MAX_LINE_BYTES, ReplyParser, replyText, replyWireLines } from '../src/protocol/reply.js';

const parse = (text: string) => new ReplyParser().push(Buffer.from(text));

function protocolError(fn: () => unknown, pattern: RegExp) {
  assert.throws(
    fn,
    (err: unknown) => err instanceof SmtpkitError && err.errorClass === 'protocol' && pattern.test(err.message),
  );
}

test('a multi-line reply comes out whole, with its enhanced code', () => {
  const [r, ...rest] = parse('250-mail.test\r\n250-SIZE 1000\r\n250 2.0.0 OK\r\n');
  assert.equal(rest.length, 0);
  assert.deepEqual(r, { code: 250, enhanced: null, lines: ['mail.test', 'SIZE 1000', '2.0.0 OK'] });
  const [e] = parse('550 5.7.1 Relay access denied\r\n');
  assert.equal(e?.enhanced, '5.7.1');
  assert.equal(replyText(e!), 'Relay access denied');
  assert.deepEqual(replyWireLines(e!), ['550 5.7.1 Relay access denied']);
});

test('an enhanced code whose class disagrees with the reply code is not taken as one', () => {
  assert.equal(parse('250 5.1.1 odd\r\n')[0]?.enhanced, null);
  assert.equal(parse('421 4.3.02 leading zero\r\n')[0]?.enhanced, '4.3.2');
});

test('a reply split into single bytes parses the same as in one piece', () => {
  const text = '220-first\r\n220-second line\r\n220 3.0.0 last\r\n';
  const parser = new ReplyParser();
  const got = [...Buffer.from(text)].flatMap((b) => parser.push(Buffer.from([b])));
  assert.deepEqual(got, parse(text));
});

test('bare LF line endings are accepted; the code alone is a complete last line', () => {
  assert.deepEqual(parse('250-a\n250\n')[0]?.lines, ['a', '']);
});

test('several replies in one chunk come out in order', () => {
  assert.deepEqual(
    parse('250 a\r\n354 b\r\n').map((r) => r.code),
    [250, 354],
  );
});

test('lines that disagree on the code are a protocol error naming both codes', () => {
  protocolError(() => parse('250-a\r\n251 b\r\n'), /disagree on the code \(250, then 251\)/);
});

test('garbage and out-of-range codes are protocol errors that quote what came', () => {
  protocolError(() => parse('HTTP/1.1 400 Bad Request\r\n'), /not an SMTP reply: "HTTP\/1.1 400/);
  protocolError(() => parse('600 nope\r\n'), /not an SMTP reply/);
  protocolError(() => parse('25 short\r\n'), /not an SMTP reply/);
  protocolError(() => parse('250x\r\n'), /not an SMTP reply/);
});

test('an over-long line is refused once it passes the limit, even with no line end yet', () => {
  const parser = new ReplyParser();
  parser.push(Buffer.from('250 '));
  protocolError(() => parser.push(Buffer.alloc(MAX_LINE_BYTES, 'a')), /longer than 8192 bytes/);
  protocolError(() => parse(`250 ${'b'.repeat(MAX_LINE_BYTES)}\r\n`), /longer than/);
});

test('end() reports a reply cut off by the close', () => {
  const partial = new ReplyParser();
  partial.push(Buffer.from('250-a\r\n250-b\r\n'));
  protocolError(() => partial.end(), /closed in the middle of a reply \(got 2 line\(s\) of a multi-line 250 reply\)/);
  const noCrlf = new ReplyParser();
  noCrlf.push(Buffer.from('220 hello'));
  protocolError(() => noCrlf.end(), /"220 hello" with no line ending/);
  const clean = new ReplyParser();
  clean.push(Buffer.from('221 bye\r\n'));
  assert.doesNotThrow(() => clean.end());
});

test('discard() drops buffered bytes and a partial reply, and says what they were', () => {
  const parser = new ReplyParser();
  assert.deepEqual(
    parser.push(Buffer.from('220 go\r\n250-inj\r\n250 x')).map((r) => r.code),
    [220],
  );
  assert.equal(parser.discard(), '250-inj\r\n250 x');
  assert.deepEqual(parser.push(Buffer.from('250 fresh\r\n'))[0]?.lines, ['fresh']);
});

test('a TLS record where the greeting should be is told apart from garbage, even one byte at a time; later in a session it is garbage', () => {
  const alert = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]);
  const speaksTls = (err: unknown) =>
    err instanceof SmtpkitError && err.errorClass === 'connect' && err.hint?.kind === 'speaks-tls';
  const parser = new ReplyParser();
  assert.throws(() => [...alert].forEach((b) => parser.push(Buffer.from([b]))), speaksTls);
  // Two bytes and a close: still a TLS port.
  const cut = new ReplyParser();
  cut.push(alert.subarray(0, 2));
  assert.throws(() => cut.end(), speaksTls);
  // After a greeting, the same bytes are a garbled reply.
  const later = new ReplyParser();
  later.push(Buffer.from('220 mail.test\r\n'));
  protocolError(() => later.push(Buffer.concat([alert, Buffer.from('\r\n')])), /not an SMTP reply/);
});
