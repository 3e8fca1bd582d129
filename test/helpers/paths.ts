import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = `${ROOT}bin/smtpkit.cjs`;
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

/**
 * The repository's main checkout: ROOT itself, or, when ROOT is a linked worktree (its .git
 * is a file "gitdir: MAIN/.git/worktrees/NAME"), MAIN. Material shared beside the repository
 * (../shared/reference) is found from there.
 */
export function mainCheckout(root = ROOT): string {
  try {
    const gitdir = /^gitdir:\s*(.+?)\s*$/m.exec(readFileSync(`${root}.git`, 'utf8'))?.[1];
    const main = gitdir && /^(.*)\/\.git\/worktrees\/[^/]+$/.exec(gitdir)?.[1];
    if (main) return `${main}/`;
  } catch {
    // .git is a directory (a plain checkout) or absent (an unpacked tarball): ROOT it is.
  }
  return root;
}

/** 1024-bit finite-field DH parameters (openssl dhparam 1024): a DHE group the audit must call insufficient. */
export const DH1024 = () => readFixture('tls/dh1024.pem');
