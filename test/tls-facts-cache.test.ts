import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { secureContext } from '../src/session/secure-context.js';
import { tlsFacts } from '../src/session/tls-facts.js';
import { TLS } from './helpers/paths.js';

/**
 * Certificate facts are kept by fingerprint (tls-facts.ts): only what the certificate says
 * may come from that cache. The name check, the trust verdict and the days left belong to
 * the connection and the moment, so the same certificate met again under another name, with
 * another CA, or later, must be judged anew.
 */
let server: tls.Server;
let port = 0;
const ca = readFileSync(TLS.ca, 'utf8');

before(async () => {
  server = tls.createServer({ key: TLS.key(), cert: TLS.cert() }, (s) => s.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
after(() => server.close());

async function factsFor(name: string, withCa: boolean) {
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    servername: name,
    rejectUnauthorized: false,
    ...(withCa ? { ca } : {}),
  });
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  try {
    return tlsFacts(socket, name, name);
  } finally {
    socket.destroy();
  }
}

test('the same certificate under two names, with and without its CA, and later: each judged anew, never a cached pass', async () => {
  const first = await factsFor('mail.test', true);
  assert.equal(first.nameMatches, true);
  assert.equal(first.trusted, true);
  const other = await factsFor('other.test', true);
  assert.equal(other.chain[0]!.sha256, first.chain[0]!.sha256, 'the same certificate');
  assert.equal(other.nameMatches, false);
  assert.match(other.nameError!, /not other\.test$/);
  // Two modules, one trusting the CA (--ca-file), one not, in turns: the CA added to one
  // shared context must not reach the other (Node's root store is shared between contexts).
  for (let i = 0; i < 2; i++) {
    const untrusted = await factsFor('mail.test', false);
    assert.equal(untrusted.trusted, false);
    assert.equal(untrusted.nameMatches, true);
    assert.equal((await factsFor('mail.test', true)).trusted, true);
  }
  // Days left are counted from now on every read, the parse kept or not.
  const realNow = Date.now;
  Date.now = () => realNow() + 20 * 365 * 86_400_000;
  try {
    const later = await factsFor('mail.test', true);
    assert.ok(later.chain[0]!.daysLeft < first.chain[0]!.daysLeft - 7000, `${later.chain[0]!.daysLeft} days left`);
  } finally {
    Date.now = realNow;
  }
  // A caller changing what it got does not change what the next one gets.
  first.chain[0]!.subjectAltNames.push('DNS:evil.test');
  assert.ok(!(await factsFor('evil.test', true)).chain[0]!.subjectAltNames.includes('DNS:evil.test'));
});
