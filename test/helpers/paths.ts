import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = `${ROOT}bin/smtpkit.js`;
export const fixture = (name: string) => `${ROOT}test/fixtures/${name}`;
export const readFixture = (name: string) => readFileSync(fixture(name), 'utf8');

export const TLS = {
  ca: fixture('tls/ca.pem'),
  key: () => readFixture('tls/server.key'),
  cert: () => readFixture('tls/server.pem'),
  wrongNameKey: () => readFixture('tls/wrongname.key'),
  wrongNameCert: () => readFixture('tls/wrongname.pem'),
};

export const MTA_STS_TLS = { key: () => readFixture('tls/mtasts.key'), cert: () => readFixture('tls/mtasts.pem') };
export const EXPIRED_TLS = { key: () => readFixture('tls/expired.key'), cert: () => readFixture('tls/expired.pem') };

/** A 1024-bit RSA certificate: too weak, for the TLS scan's key-strength finding. */
export const WEAK_TLS = { key: () => readFixture('tls/weak1024.key'), cert: () => readFixture('tls/weak1024.pem') };
