import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { saslprep } from './saslprep.js';
import { b64, publicResponse, SaslError, secretResponse, type Credentials, type SaslClient } from './mechanism.js';

type Hash = 'sha1' | 'sha256';

const pbkdf2Async = promisify(pbkdf2);

/**
 * The most PBKDF2 iterations we compute for a server: OWASP's 2023 figures for
 * PBKDF2-HMAC-SHA256 (600,000) and -SHA1 (1,300,000). Servers use far fewer (Dovecot and
 * Cyrus SASL default to 4096); a count above these is refused before any work, as a
 * server could otherwise make the client burn seconds of CPU per login.
 */
export const MAX_ITERATIONS: Record<Hash, number> = { sha256: 600_000, sha1: 1_300_000 };

/** RFC 5802 §5.1: "=" and "," in a username are escaped. */
const saslName = (s: string) => s.replace(/=/g, '=3D').replace(/,/g, '=2C');

function attributes(message: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) map.set(part[0]!, part.slice(2));
  }
  return map;
}

/**
 * SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677), without channel binding. The
 * server must prove it knows the password too: a missing or wrong server signature fails.
 * The user name (a query string) and the password (a stored string) go through SASLprep.
 */
export function scram(
  hash: Hash,
  { user, secret }: Credentials,
  nonce = randomBytes(18).toString('base64'),
): SaslClient {
  const name = hash === 'sha1' ? 'SCRAM-SHA-1' : 'SCRAM-SHA-256';
  const hmac = (key: Buffer, data: string) => createHmac(hash, key).update(data).digest();
  const password = saslprep(secret, 'the password', true);
  const clientFirstBare = `n=${saslName(saslprep(user, 'the user name', false))},r=${nonce}`;
  let expectedServerSignature: Buffer | undefined;
  let verified = false;

  const verify = (serverFinal: string) => {
    const attrs = attributes(serverFinal);
    if (attrs.has('e')) throw new SaslError(`the server reported a SCRAM error: ${attrs.get('e')}`);
    const v = Buffer.from(attrs.get('v') ?? '', 'base64');
    if (
      !expectedServerSignature ||
      v.length !== expectedServerSignature.length ||
      !timingSafeEqual(v, expectedServerSignature)
    ) {
      throw new SaslError(
        'the server’s SCRAM signature is wrong: it does not know the password (an impostor, or a broken server)',
      );
    }
    verified = true;
  };

  return {
    name,
    initial: () => publicResponse(b64(`n,,${clientFirstBare}`)),
    respond: async (challenge) => {
      const text = challenge.toString('utf8');
      if (expectedServerSignature) {
        verify(text);
        return publicResponse('');
      }
      const attrs = attributes(text);
      const serverNonce = attrs.get('r') ?? '';
      const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
      const iterations = Number(attrs.get('i'));
      if (!serverNonce.startsWith(nonce) || serverNonce === nonce)
        throw new SaslError('the server’s SCRAM nonce does not extend ours');
      if (!salt.length || !Number.isInteger(iterations) || iterations < 1) {
        throw new SaslError(`malformed SCRAM server-first message: ${JSON.stringify(text.slice(0, 200))}`);
      }
      if (iterations > MAX_ITERATIONS[hash]) {
        throw new SaslError(
          `the server asks for ${iterations} PBKDF2 iterations; smtpkit computes at most ${MAX_ITERATIONS[hash]} for ${name} (servers use 4096 by default)`,
        );
      }
      // In the thread pool: the event loop, and with it every timeout, keeps running.
      const salted = await pbkdf2Async(password, salt, iterations, hash === 'sha1' ? 20 : 32, hash);
      const clientKey = hmac(salted, 'Client Key');
      const storedKey = createHash(hash).update(clientKey).digest();
      const withoutProof = `c=biws,r=${serverNonce}`;
      const authMessage = `${clientFirstBare},${text},${withoutProof}`;
      const signature = hmac(storedKey, authMessage);
      const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
      expectedServerSignature = hmac(hmac(salted, 'Server Key'), authMessage);
      return secretResponse(b64(`${withoutProof},p=${proof.toString('base64')}`));
    },
    finish: (data) => {
      if (!verified) {
        if (!data?.length)
          throw new SaslError(
            'the server accepted the login without proving it knows the password (no SCRAM server signature)',
          );
        verify(data.toString('utf8'));
      }
    },
  };
}
