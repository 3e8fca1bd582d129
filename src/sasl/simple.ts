import { createHmac } from 'node:crypto';
import { b64, publicResponse, SaslError, secretResponse, type Credentials, type SaslClient } from './mechanism.js';

/** PLAIN (RFC 4616): authzid NUL authcid NUL password, in the initial response. */
export function plain({ user, secret }: Credentials): SaslClient {
  const response = secretResponse(b64(`\0${user}\0${secret}`));
  let sent = false;
  return {
    name: 'PLAIN',
    initial: () => ((sent = true), response),
    // A server that ignores the initial response asks with an empty 334.
    respond: () => {
      if (sent) throw new SaslError('the server asked again after PLAIN’s only response');
      sent = true;
      return response;
    },
    finish: () => {},
  };
}

/**
 * LOGIN (draft-murchison-sasl-login): username, then password, each asked for by a 334.
 * With `initialUser` the username rides on the AUTH command, which many servers accept.
 */
export function login({ user, secret }: Credentials, initialUser = false): SaslClient {
  let step = initialUser ? 1 : 0;
  return {
    name: 'LOGIN',
    initial: () => (initialUser ? publicResponse(b64(user)) : undefined),
    respond: (challenge) => {
      // Two answers make the whole of LOGIN: a server asking for more gets no second password.
      if (step >= 2) throw new SaslError('the server asked again after LOGIN’s password');
      const prompt = challenge.toString('utf8').toLowerCase();
      // Go by the prompt when the server words it; by the order otherwise.
      const wantsUser = prompt.startsWith('user') ? true : prompt.startsWith('pass') ? false : step === 0;
      step++;
      return wantsUser ? publicResponse(b64(user)) : secretResponse(b64(secret));
    },
    finish: () => {},
  };
}

/** CRAM-MD5 (RFC 2195): user and HMAC-MD5 of the challenge. The digest is redacted: it can be cracked offline. */
export function cramMd5({ user, secret }: Credentials): SaslClient {
  let answered = false;
  return {
    name: 'CRAM-MD5',
    initial: () => undefined,
    respond: (challenge) => {
      // One challenge, one answer: a server asking again would collect digests of its choosing.
      if (answered) throw new SaslError('the server asked again after CRAM-MD5’s only response');
      answered = true;
      return secretResponse(b64(`${user} ${createHmac('md5', secret).update(challenge).digest('hex')}`));
    },
    finish: () => {},
  };
}

/**
 * XOAUTH2 (Google, Microsoft): the bearer token in the initial response. On failure the
 * server sends a 334 with a JSON error; the client answers with an empty line.
 */
export function xoauth2({ user, secret }: Credentials, onError: (json: string) => void = () => {}): SaslClient {
  return {
    name: 'XOAUTH2',
    initial: () => secretResponse(b64(`user=${user}\x01auth=Bearer ${secret}\x01\x01`)),
    respond: (challenge) => {
      onError(challenge.toString('utf8'));
      return publicResponse('');
    },
    finish: () => {},
  };
}
