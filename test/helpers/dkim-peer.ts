import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './paths.js';

/** Debian's python3-dkim (dkimpy) is the independent DKIM implementation: the system python, not a pyenv one. */
export const PYTHON = '/usr/bin/python3';
const SCRIPT = join(ROOT, 'test/helpers/dkimpy.py');

/** The TXT record publishing a private key's public half. */
export function keyRecord(pem: string): string {
  const key = createPrivateKey(pem);
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  return key.asymmetricKeyType === 'ed25519'
    ? `v=DKIM1; k=ed25519; p=${spki.subarray(-32).toString('base64')}`
    : `v=DKIM1; k=rsa; p=${spki.toString('base64')}`;
}

export function newKey(dir: string, name: string, type: 'rsa' | 'ed25519', bits = 2048): string {
  const { privateKey } =
    type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: bits }) : generateKeyPairSync('ed25519');
  const path = join(dir, `${name}.pem`);
  writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  return path;
}

/** dkimpy's verdict on a message, with keys from a map instead of DNS. */
export function dkimpyVerify(
  message: Buffer,
  keys: Record<string, string>,
  dir: string,
): { ok: boolean; output: string } {
  const keyFile = join(dir, `keys-${Date.now()}-${Math.random()}.json`);
  writeFileSync(keyFile, JSON.stringify(keys));
  const r = spawnSync(PYTHON, [SCRIPT, 'verify', keyFile], { input: message, timeout: 20_000 });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** A message signed by dkimpy. */
export function dkimpySign(
  message: Buffer,
  selector: string,
  domain: string,
  keyFile: string,
  headers: string[],
  opts: { canon?: string; ed25519?: boolean; length?: boolean; algorithm?: string } = {},
): Buffer {
  const r = spawnSync(
    PYTHON,
    [
      SCRIPT,
      'sign',
      selector,
      domain,
      keyFile,
      headers.join(':'),
      opts.canon ?? 'relaxed/relaxed',
      opts.algorithm ?? (opts.ed25519 ? 'ed25519-sha256' : 'rsa-sha256'),
      opts.length ? 'l' : '-',
    ],
    { input: message, timeout: 20_000 },
  );
  if (r.status !== 0) throw new Error(`dkimpy sign failed: ${r.stderr}`);
  return r.stdout;
}

/** dkimpy's ARC verdict: the chain's cv (none, pass, fail; `ended` when a sealer already said cv=fail) and its reason. */
export function dkimpyArcVerify(
  message: Buffer,
  keys: Record<string, string>,
  dir: string,
): { cv: string; output: string } {
  const keyFile = join(dir, `keys-${Date.now()}-${Math.random()}.json`);
  writeFileSync(keyFile, JSON.stringify(keys));
  const r = spawnSync(PYTHON, [SCRIPT, 'arc-verify', keyFile], { input: message, timeout: 20_000 });
  const output = `${r.stdout}${r.stderr}`;
  return { cv: /^(none|pass|fail|ended)\b/.exec(String(r.stdout))?.[1] ?? 'error', output };
}
