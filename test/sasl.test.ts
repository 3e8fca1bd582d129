import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { SaslError } from '../src/sasl/mechanism.js';
import { scram } from '../src/sasl/scram.js';
import { cramMd5, login, plain, xoauth2 } from '../src/sasl/simple.js';
import { strongestOffered } from '../src/sasl/index.js';

const text = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
const creds = { user: 'user', secret: 'pencil' };

test('SCRAM-SHA-1 matches the RFC 5802 example, and checks the server signature', () => {
  const c = scram('sha1', creds, 'fyko+d2lbbFgONRv9qkxdawL');
  assert.deepEqual(c.initial(), { data: Buffer.from('n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL').toString('base64'), secret: false });
  const final = c.respond(Buffer.from('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096'));
  assert.equal(text(final.data), 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=');
  assert.equal(final.secret, true);
  assert.deepEqual(c.respond(Buffer.from('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=')), { data: '', secret: false });
  assert.doesNotThrow(() => c.finish(undefined));
});

test('SCRAM-SHA-256 matches the RFC 7677 example; the signature may come with the 235', () => {
  const c = scram('sha256', creds, 'rOprNGfwEbeRWgbNEkqO');
  const final = c.respond(Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'));
  assert.equal(text(final.data), 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
  assert.doesNotThrow(() => c.finish(Buffer.from('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')));
});

test('SCRAM fails on a wrong or missing server signature and on a nonce that is not ours', () => {
  const wrong = scram('sha256', creds, 'rOprNGfwEbeRWgbNEkqO');
  wrong.respond(Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'));
  assert.throws(() => wrong.respond(Buffer.from('v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')), SaslError);
  const missing = scram('sha256', creds, 'rOprNGfwEbeRWgbNEkqO');
  missing.respond(Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'));
  assert.throws(() => missing.finish(undefined), /without proving it knows the password/);
  assert.throws(() => scram('sha1', creds, 'abc').respond(Buffer.from('r=xyz,s=QSXCR+Q6sek8bf92,i=4096')), /nonce/);
});

test('PLAIN, LOGIN, CRAM-MD5 and XOAUTH2 wire formats; secrets are marked', () => {
  assert.deepEqual(plain(creds).initial(), { data: Buffer.from('\0user\0pencil').toString('base64'), secret: true });
  const l = login(creds);
  assert.equal(l.initial(), undefined);
  assert.deepEqual(l.respond(Buffer.from('Username:')), { data: 'dXNlcg==', secret: false });
  assert.deepEqual(l.respond(Buffer.from('Password:')), { data: 'cGVuY2ls', secret: true });
  assert.deepEqual(login(creds, true).initial(), { data: 'dXNlcg==', secret: false });
  const challenge = Buffer.from('<1896.697170952@postoffice.reston.mci.net>');
  const cram = cramMd5({ user: 'tim', secret: 'tanstaaftanstaaf' }).respond(challenge);
  assert.equal(text(cram.data), 'tim b913a602c7eda7a495b4e6e7334d3890'); // RFC 2195's example
  assert.equal(cram.secret, true);
  assert.equal(createHmac('md5', 'tanstaaftanstaaf').update(challenge).digest('hex'), 'b913a602c7eda7a495b4e6e7334d3890');
  const x = xoauth2({ user: 'someuser@example.com', secret: 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg' }).initial();
  assert.equal(x?.data, 'dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==');
});

test('the default mechanism is the strongest offered, never XOAUTH2', () => {
  assert.equal(strongestOffered(['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-1']), 'SCRAM-SHA-1');
  assert.equal(strongestOffered(['LOGIN', 'PLAIN']), 'PLAIN');
  assert.equal(strongestOffered(['XOAUTH2']), undefined);
});
