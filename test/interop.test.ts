import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runCli } from './helpers/cli.js';

/**
 * Against the real Postfix that test/interop/postfix.sh starts. Under CI these must run;
 * elsewhere they skip, saying why, when no server is up.
 */
const ENV_FILE = process.env.SMTPKIT_INTEROP_ENV ?? '/tmp/smtpkit-interop/env.json';
interface InteropEnv {
  smtp: number;
  submission: number;
  smtps: number;
  ipv6: boolean;
  ca: string;
}
const env: InteropEnv | undefined = existsSync(ENV_FILE) ? JSON.parse(readFileSync(ENV_FILE, 'utf8')) : undefined;
const skip = env ? false : `no Postfix is up (${ENV_FILE} is missing; run test/interop/postfix.sh start)`;
if (!env && process.env.CI) throw new Error(`CI must run the interop tests, but ${ENV_FILE} is missing: did .ci/run start Postfix?`);
if (skip) console.log(`# interop tests skipped: ${skip}`);

test('Postfix plain port: ehlo lists its extensions, each explained', { skip }, async () => {
  const r = await runCli(['ehlo', `127.0.0.1:${env!.smtp}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^<-  220 mail\.test ESMTP smtpkit interop$/m);
  assert.match(r.stdout, /^    SIZE 10240000 +messages up to 10240000 bytes \(10 MB\)/m);
  assert.match(r.stdout, /^    CHUNKING +the message may be sent in chunks with BDAT/m);
  assert.match(r.stdout, /^!!! AUTH PLAIN\/LOGIN is offered without TLS/m);
  const doc = JSON.parse((await runCli(['ehlo', `127.0.0.1:${env!.smtp}`, '--json'])).stdout);
  for (const ext of ['PIPELINING', 'STARTTLS', 'ENHANCEDSTATUSCODES', '8BITMIME', 'DSN', 'SMTPUTF8', 'CHUNKING']) assert.ok(ext in doc.capabilities.extensions, ext);
  assert.deepEqual(doc.capabilities.extensions.AUTH.slice(0, 3), ['PLAIN', 'LOGIN', 'CRAM-MD5']);
});

test('Postfix plain port over IPv6', { skip: skip || (env && !env.ipv6 ? 'no IPv6 loopback here' : false) }, async () => {
  const r = await runCli(['ehlo', `[::1]:${env!.smtp}`, '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^OK: \[::1\]:\d+ answered EHLO/);
});

test('Postfix submission: STARTTLS with --ca-file and --tls-verify, AUTH appears after TLS', { skip }, async () => {
  const r = await runCli(['starttls', `localhost:${env!.submission}`, '-4', '--ca-file', env!.ca, '--tls-verify', '--json']);
  assert.equal(r.code, 0, r.stdout);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.tls.trusted, true);
  assert.equal(doc.tls.nameMatches, true);
  assert.equal(doc.tls.sni, 'localhost');
  assert.match(doc.tls.protocol, /^TLSv1\.[23]$/);
  assert.equal(doc.tls.chain[0].subject, 'CN=mail.test');
  assert.ok(!('AUTH' in doc.capabilitiesBeforeTls.extensions), 'no AUTH before TLS on submission');
  assert.ok('AUTH' in doc.capabilities.extensions);
  assert.ok(doc.events.some((e: { type: string; message?: string }) => e.type === 'info' && /After TLS the server added AUTH/.test(e.message ?? '')));
  assert.ok(doc.timings.tls > 0 && doc.timings['ehlo-tls'] > 0);
});

test('Postfix submission without our CA: untrusted is a warning, and with --tls-verify exit 6', { skip }, async () => {
  const warn = await runCli(['starttls', `127.0.0.1:${env!.submission}`]);
  assert.equal(warn.code, 0);
  assert.match(warn.stdout, /^!!! the certificate is not trusted: .*\(--tls-verify makes this an error\)$/m);
  const strict = await runCli(['starttls', `127.0.0.1:${env!.submission}`, '--tls-verify']);
  assert.equal(strict.code, 6);
  assert.match(strict.stderr, /^\*\*\* the certificate is not trusted/m);
});

test('Postfix implicit TLS port', { skip }, async () => {
  const r = await runCli(['ehlo', `127.0.0.1:${env!.smtps}`, '--tls-on-connect', '--ca-file', env!.ca, '--tls-verify']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^=== TLS TLSv1\.[23]/m);
  assert.match(r.stdout, /^<~  220 mail\.test ESMTP/m);
  assert.match(r.stdout, /answered EHLO with \d+ extensions over TLS/);
  const plain = await runCli(['ehlo', `127.0.0.1:${env!.smtps}`, '--greeting-timeout', '1s']);
  assert.equal(plain.code, 4, 'without TLS the implicit-TLS port sends no greeting');
});
