import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SmtpkitError } from '../src/errors.js';
import { secureContext, type ContextSettings } from '../src/session/secure-context.js';
import { readFixture } from './helpers/paths.js';

// Issue 25: a TLS context per probe target piled up 25-55 KB of OpenSSL memory each between
// garbage collections (V8 does not see it); targets with the same settings now share one.
// Each target's settings are made anew from the command line, so the sharing goes by content.
const settings = (o: Partial<ContextSettings> = {}): ContextSettings => ({
  cert: undefined,
  key: undefined,
  ca: readFixture('tls/ca.pem'),
  minVersion: undefined,
  maxVersion: undefined,
  ...o,
});

test('TLS context: sessions with the same settings share one, made from equal but separate values', () => {
  const first = secureContext(settings());
  assert.equal(secureContext(settings()), first);
  assert.equal(secureContext({ ...settings(), ca: `${readFixture('tls/ca.pem')}` }), first);
});

test('TLS context: another CA, version range or client certificate gets its own', () => {
  const base = secureContext(settings());
  const others = [
    secureContext(settings({ ca: undefined })),
    secureContext(settings({ ca: readFixture('tls/mtasts.pem') })),
    secureContext(settings({ minVersion: 'TLSv1' })),
    secureContext(settings({ maxVersion: 'TLSv1.2' })),
    secureContext(settings({ cert: readFixture('tls/server.pem'), key: readFixture('tls/server.key') })),
  ];
  assert.equal(new Set([base, ...others]).size, others.length + 1);
});

test('TLS context: a key that is not the certificate’s is a usage error each time, never kept', () => {
  const bad = settings({ cert: readFixture('tls/server.pem'), key: readFixture('tls/wrongname.key') });
  for (let i = 0; i < 2; i++)
    assert.throws(
      () => secureContext(bad),
      (e: unknown) => e instanceof SmtpkitError && e.errorClass === 'usage' && /--cert, --key/.test(e.message),
    );
});
