import { createHmac } from 'node:crypto';
import { b64, publicResponse, SaslError, secretResponse, type Credentials, type SaslClient } from './mechanism.js';
import { saslprep } from './saslprep.js';

/** PLAIN (RFC 4616): authzid NUL authcid NUL password, in the initial response; both SASLprepped (§2). */
export function plain({ user, secret }: Credentials): SaslClient {
  const response = secretResponse(
    b64(`\0${saslprep(user, 'the user name', false)}\0${saslprep(secret, 'the password', true)}`),
  );
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
 * Each is given once: a server that asks again, or asks for something else ("Token:"),
 * gets no answer (the exchange is cancelled), so the password never goes where it was
 * not asked for.
 */
export function login({ user, secret }: Credentials, initialUser = false): SaslClient {
  let userSent = initialUser;
  let passwordSent = false;
  return {
    name: 'LOGIN',
    initial: () => (initialUser ? publicResponse(b64(user)) : undefined),
    respond: (challenge) => {
      const prompt = challenge.toString('utf8').trim();
      const lower = prompt.toLowerCase();
      // Go by the prompt when the server words it; by the order when it sends none.
      const wants = /^(user|login)/.test(lower)
        ? 'user'
        : /^pass/.test(lower)
          ? 'password'
          : prompt === ''
            ? userSent
              ? 'password'
              : 'user'
            : undefined;
      if (wants === 'user' && !userSent) return ((userSent = true), publicResponse(b64(user)));
      if (wants === 'password' && userSent && !passwordSent)
        return ((passwordSent = true), secretResponse(b64(secret)));
      throw new SaslError(
        `the server asked ${JSON.stringify(prompt.slice(0, 60))} ${passwordSent ? 'after the password' : wants ? 'out of order' : 'for something that is neither the user name nor the password'}; LOGIN answers each question once`,
      );
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
      // A missing or fixed challenge would make the digest replayable (RFC 2195 §2: unique per session).
      if (!challenge.length)
        throw new SaslError('the server sent an empty challenge; answering it would give out a replayable digest');
      if (answered) throw new SaslError('the server asked again after the digest');
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
