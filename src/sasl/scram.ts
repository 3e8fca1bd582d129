import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { b64, publicResponse, SaslError, secretResponse, type Credentials, type SaslClient } from './mechanism.js';

type Hash = 'sha1' | 'sha256';

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
 * Passwords are NFKC-normalised, which is what SASLprep does for ordinary passwords.
 */
export function scram(hash: Hash, { user, secret }: Credentials, nonce = randomBytes(18).toString('base64')): SaslClient {
  const name = hash === 'sha1' ? 'SCRAM-SHA-1' : 'SCRAM-SHA-256';
  const hmac = (key: Buffer, data: string) => createHmac(hash, key).update(data).digest();
  const clientFirstBare = `n=${saslName(user)},r=${nonce}`;
  let expectedServerSignature: Buffer | undefined;
  let verified = false;

  const verify = (serverFinal: string) => {
    const attrs = attributes(serverFinal);
    if (attrs.has('e')) throw new SaslError(`the server reported a SCRAM error: ${attrs.get('e')}`);
    const v = Buffer.from(attrs.get('v') ?? '', 'base64');
    if (!expectedServerSignature || v.length !== expectedServerSignature.length || !timingSafeEqual(v, expectedServerSignature)) {
      throw new SaslError('the server’s SCRAM signature is wrong: it does not know the password (an impostor, or a broken server)');
    }
    verified = true;
  };

  return {
    name,
    initial: () => publicResponse(b64(`n,,${clientFirstBare}`)),
    respond: (challenge) => {
      const text = challenge.toString('utf8');
      if (expectedServerSignature) {
        verify(text);
        return publicResponse('');
      }
      const attrs = attributes(text);
      const serverNonce = attrs.get('r') ?? '';
      const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
      const iterations = Number(attrs.get('i'));
      if (!serverNonce.startsWith(nonce) || serverNonce === nonce) throw new SaslError('the server’s SCRAM nonce does not extend ours');
      if (!salt.length || !Number.isInteger(iterations) || iterations < 1 || iterations > 10_000_000) {
        throw new SaslError(`malformed SCRAM server-first message: ${JSON.stringify(text)}`);
      }
      const salted = pbkdf2Sync(secret.normalize('NFKC'), salt, iterations, hash === 'sha1' ? 20 : 32, hash);
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
        if (!data?.length) throw new SaslError('the server accepted the login without proving it knows the password (no SCRAM server signature)');
        verify(data.toString('utf8'));
      }
    },
  };
}
