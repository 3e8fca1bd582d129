import type { Credentials, SaslClient } from './mechanism.js';
import { scram } from './scram.js';
import { cramMd5, login, plain, xoauth2 } from './simple.js';

/** The mechanisms we speak, strongest first: the default is the first the server offers. */
export const MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'CRAM-MD5', 'PLAIN', 'LOGIN', 'XOAUTH2'] as const;
export type MechanismName = (typeof MECHANISMS)[number];

/** Mechanisms that send the password itself (in base64): only safe inside TLS. */
export const SENDS_PASSWORD = new Set(['PLAIN', 'LOGIN', 'XOAUTH2']);

export function isMechanism(name: string): name is MechanismName {
  return (MECHANISMS as readonly string[]).includes(name);
}

/** XOAUTH2 needs a token rather than a password, so it is never picked by default. */
export function strongestOffered(offered: string[]): MechanismName | undefined {
  return MECHANISMS.find((m) => m !== 'XOAUTH2' && offered.includes(m));
}

export function saslClient(
  name: MechanismName,
  credentials: Credentials,
  opts: { loginInitial?: boolean; onXoauthError?: (json: string) => void } = {},
): SaslClient {
  switch (name) {
    case 'PLAIN':
      return plain(credentials);
    case 'LOGIN':
      return login(credentials, opts.loginInitial);
    case 'CRAM-MD5':
      return cramMd5(credentials);
    case 'XOAUTH2':
      return xoauth2(credentials, opts.onXoauthError);
    case 'SCRAM-SHA-1':
      return scram('sha1', credentials);
    case 'SCRAM-SHA-256':
      return scram('sha256', credentials);
  }
}
