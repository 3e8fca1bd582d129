import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { SaslError } from '../src/sasl/mechanism.js';
import { scram } from '../src/sasl/scram.js';
import { cramMd5, login, plain, xoauth2 } from '../src/sasl/simple.js';
import { strongestOffered } from '../src/sasl/index.js';
import { saslprep, SaslprepError } from '../src/sasl/saslprep.js';
import { MAX_ITERATIONS } from '../src/sasl/scram.js';

const text = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
const creds = { user: 'user', secret: 'pencil' };

test('SCRAM-SHA-1 matches the RFC 5802 example, and checks the server signature', async () => {
  const c = scram('sha1', creds, 'fyko+d2lbbFgONRv9qkxdawL');
  assert.deepEqual(c.initial(), {
    data: Buffer.from('n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL').toString('base64'),
    secret: false,
  });
  const final = await c.respond(Buffer.from('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096'));
  assert.equal(text(final.data), 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=');
  assert.equal(final.secret, true);
  assert.deepEqual(await c.respond(Buffer.from('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=')), { data: '', secret: false });
  assert.doesNotThrow(() => c.finish(undefined));
});

test('SCRAM-SHA-256 matches the RFC 7677 example; the signature may come with the 235', async () => {
  const c = scram('sha256', creds, 'rOprNGfwEbeRWgbNEkqO');
  const final = await c.respond(
    Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'),
  );
  assert.equal(
    text(final.data),
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  );
  assert.doesNotThrow(() => c.finish(Buffer.from('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')));
});

test('SCRAM fails on a wrong or missing server signature and on a nonce that is not ours', async () => {
  const wrong = scram('sha256', creds, 'rOprNGfwEbeRWgbNEkqO');
  await wrong.respond(
    Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'),
  );
  await assert.rejects(
    async () => wrong.respond(Buffer.from('v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')),
    SaslError,
  );
  const missing = scram('sha256', creds, 'rOprNGfwEbeRWgbNEkqO');
  await missing.respond(
    Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'),
  );
  assert.throws(() => missing.finish(undefined), /without proving it knows the password/);
  await assert.rejects(
    async () => scram('sha1', creds, 'abc').respond(Buffer.from('r=xyz,s=QSXCR+Q6sek8bf92,i=4096')),
    /nonce/,
  );
});

test('PLAIN, LOGIN, CRAM-MD5 and XOAUTH2 wire formats; secrets are marked', async () => {
  assert.deepEqual(plain(creds).initial(), { data: Buffer.from('\0user\0pencil').toString('base64'), secret: true });
  const l = login(creds);
  assert.equal(l.initial(), undefined);
  assert.deepEqual(l.respond(Buffer.from('Username:')), { data: 'dXNlcg==', secret: false });
  assert.deepEqual(l.respond(Buffer.from('Password:')), { data: 'cGVuY2ls', secret: true });
  assert.deepEqual(login(creds, true).initial(), { data: 'dXNlcg==', secret: false });
  const challenge = Buffer.from('<1896.697170952@postoffice.reston.mci.net>');
  const cram = await cramMd5({ user: 'tim', secret: 'tanstaaftanstaaf' }).respond(challenge);
  assert.equal(text(cram.data), 'tim b913a602c7eda7a495b4e6e7334d3890'); // RFC 2195's example
  assert.equal(cram.secret, true);
  assert.equal(
    createHmac('md5', 'tanstaaftanstaaf').update(challenge).digest('hex'),
    'b913a602c7eda7a495b4e6e7334d3890',
  );
  const x = xoauth2({
    user: 'someuser@example.com',
    secret: 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg',
  }).initial();
  assert.equal(
    x?.data,
    'dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==',
  );
});

test('the default mechanism is the strongest offered, never XOAUTH2', () => {
  assert.equal(strongestOffered(['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-1']), 'SCRAM-SHA-1');
  assert.equal(strongestOffered(['LOGIN', 'PLAIN']), 'PLAIN');
  assert.equal(strongestOffered(['XOAUTH2']), undefined);
});

test('SASLprep (RFC 4013 examples): mapping, NFKC, prohibited characters named, bidi, unassigned only in stored strings', () => {
  assert.equal(saslprep('I\u00ADX', 'x', true), 'IX'); // soft hyphen mapped to nothing
  assert.equal(saslprep('user', 'x', true), 'user');
  assert.equal(saslprep('USER', 'x', true), 'USER'); // case preserved
  assert.equal(saslprep('\u00AA', 'x', true), 'a'); // NFKC
  assert.equal(saslprep('\u2168', 'x', true), 'IX');
  assert.equal(saslprep('a\u00A0b', 'x', true), 'a b'); // non-ASCII space to SPACE
  assert.throws(
    () => saslprep('\u0007', 'the password', true),
    (e: SaslprepError) => e.codePoint === 'U+0007' && /U\+0007, a control character/.test(e.message),
  );
  assert.throws(() => saslprep('\u0627\u0031', 'x', true), /does not start and end/); // bidi: RandAL first but not last
  assert.throws(() => saslprep('a\u0627a', 'x', true), /mixes right-to-left and left-to-right/);
  assert.equal(saslprep('\u0627\u0031\u0628', 'x', true), '\u0627\u0031\u0628');
  assert.throws(() => saslprep('\uE000', 'x', true), /private-use/);
  // U+0221 was unassigned in Unicode 3.2: refused in a stored string, allowed in a query.
  assert.throws(() => saslprep('\u0221', 'x', true), /unassigned/);
  assert.equal(saslprep('\u0221', 'x', false), '\u0221');
});

test('PLAIN and SCRAM prepare their strings; NFKC alone would have let a control character through', async () => {
  assert.throws(() => plain({ user: 'u', secret: 'pass\u0000word' }), SaslprepError);
  assert.throws(() => scram('sha256', { user: 'u\u200E', secret: 'p' }), /U\+200E/);
  assert.deepEqual(plain({ user: 'u', secret: 'I\u00ADX' }).initial(), {
    data: Buffer.from('\0u\0IX').toString('base64'),
    secret: true,
  });
});

test('LOGIN answers the user name once and the password once: a third question or "Token:" is refused', async () => {
  const l = login(creds);
  await l.respond(Buffer.from('Username:'));
  await l.respond(Buffer.from('Password:'));
  assert.throws(() => l.respond(Buffer.from('Password:')), SaslError);
  assert.throws(() => login(creds).respond(Buffer.from('Token:')), /neither the user name nor the password/);
  const ordered = login(creds);
  assert.deepEqual(ordered.respond(Buffer.from('')), { data: 'dXNlcg==', secret: false });
  assert.deepEqual(ordered.respond(Buffer.from('')), { data: 'cGVuY2ls', secret: true });
  assert.throws(() => ordered.respond(Buffer.from('')), SaslError);
});

test('CRAM-MD5 refuses an empty challenge; SCRAM refuses an iteration count above the cap before any work', async () => {
  assert.throws(() => cramMd5(creds).respond(Buffer.alloc(0)), /empty challenge/);
  const c = scram('sha256', creds, 'abc');
  await assert.rejects(
    async () => c.respond(Buffer.from(`r=abcdef,s=QSXCR+Q6sek8bf92,i=${MAX_ITERATIONS.sha256 + 1}`)),
    /at most 600000/,
  );
});
