import { accessSync, constants, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { usageError } from '../errors.js';

/** DER certificates as PEM blocks, in the order given (leaf first). */
export function pemChain(chain: Buffer[]): string {
  return chain
    .map(
      (der) =>
        `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`,
    )
    .join('');
}

/** Before connecting: a --save-cert path we could not write must not cost a session. */
export function checkSaveCert(file: string | undefined): void {
  if (file === undefined) return;
  if (!file.trim()) throw usageError('--save-cert needs a file name');
  try {
    accessSync(dirname(resolve(file)), constants.W_OK);
  } catch {
    throw usageError(`--save-cert: cannot write in ${dirname(resolve(file))}`);
  }
}

/**
 * Writes each presented chain as PEM, leaf first, for --ca-file or openssl. With several
 * targets (probe), each chain follows a "# target" line, which PEM readers skip.
 */
export function saveCertificates(file: string, chains: Array<{ label: string; chain: Buffer[] }>): number {
  const withCerts = chains.filter((c) => c.chain.length);
  const text =
    withCerts.length === 1 && chains.length === 1
      ? pemChain(withCerts[0]!.chain)
      : withCerts.map((c) => `# ${c.label.replace(/[\r\n]/g, ' ')}\n${pemChain(c.chain)}`).join('');
  try {
    writeFileSync(file, text, { mode: 0o644 });
  } catch (err) {
    throw usageError(
      `--save-cert: cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return withCerts.reduce((n, c) => n + c.chain.length, 0);
}
