import type { Capabilities } from '../protocol/capabilities.js';

/** EHLO keywords: what each lets a client do, in plain words. */
const EXTENSIONS: Record<string, (params: string[]) => string> = {
  PIPELINING: () => 'commands may be sent in batches without waiting for each reply (RFC 2920)',
  SIZE: (p) => sizeText(p[0]),
  STARTTLS: () => 'the connection can be upgraded to TLS (RFC 3207)',
  AUTH: (p) => `login is possible with ${p.length ? p.join(', ') : 'no mechanism listed'} (RFC 4954)`,
  '8BITMIME': () => 'message bodies may contain 8-bit data (RFC 6152)',
  BINARYMIME: () => 'binary message bodies may be sent with BDAT (RFC 3030)',
  CHUNKING: () => 'the message may be sent in chunks with BDAT instead of DATA (RFC 3030)',
  SMTPUTF8: () => 'addresses and headers may contain UTF-8 (international email, RFC 6531)',
  DSN: () => 'delivery status notifications can be requested per recipient (NOTIFY, RET, ENVID; RFC 3461)',
  ENHANCEDSTATUSCODES: () => 'replies carry detailed status codes such as 5.7.1 (RFC 2034)',
  REQUIRETLS: () => 'messages can demand TLS on every hop to the recipient (RFC 8689)',
  VRFY: () => 'VRFY can ask whether an address exists (often disabled or vague, for privacy)',
  EXPN: () => 'EXPN can list the members of a mailing list',
  ETRN: () => 'a client may ask the server to flush its queue for a domain (RFC 1985)',
  HELP: () => 'HELP gives help text for people',
  DELIVERBY: () => 'a message can carry a delivery deadline (RFC 2852)',
  MTRK: () => 'message tracking can be requested (RFC 3885)',
  'NO-SOLICITING': () => 'the server asks not to be sent solicitations (RFC 3865)',
  'MT-PRIORITY': () => 'messages may carry a priority (RFC 6710)',
  RRVS: () => 'a recipient can be required to have existed since a date (RFC 7293)',
  FUTURERELEASE: () => 'messages can be held for later release (RFC 4865)',
  LIMITS: (p) => `the server states its limits: ${p.join(' ')} (RFC 9422)`,
  PIPECONNECT: () => 'the client may send EHLO before the greeting on a later connection (Exim)',
  'X-EXPS': () => 'a non-standard AUTH advertisement (Microsoft)',
  XCLIENT: () => 'a trusted proxy may pass on the real client’s details (Postfix XCLIENT)',
  XFORWARD: () => 'a trusted proxy may forward client details for logging (Postfix XFORWARD)',
};

function sizeText(limit: string | undefined): string {
  if (!limit || !/^\d+$/.test(limit)) return 'the server checks message sizes (no limit number given)';
  const n = Number(limit);
  if (n === 0) return 'message sizes can be declared; no fixed limit (RFC 1870)';
  return `messages up to ${n} bytes (${(n / 1_000_000).toFixed(n >= 10_000_000 ? 0 : 1)} MB) are accepted (RFC 1870)`;
}

export function explainExtension(keyword: string, params: string[]): string {
  const known = EXTENSIONS[keyword];
  if (known) return known(params);
  return keyword.startsWith('X') ? 'a private, non-standard extension' : 'an extension smtpkit does not know';
}

/** Notes on the capability set as a whole, e.g. credentials that would travel in clear. */
export function capabilityNotes(caps: Capabilities, tls: boolean): string[] {
  const notes: string[] = [];
  const auth = caps.extensions.AUTH;
  if (!tls && auth?.some((m) => /^(PLAIN|LOGIN)$/i.test(m)))
    notes.push('AUTH PLAIN/LOGIN is offered without TLS: passwords could cross the network in clear');
  if (!tls && !('STARTTLS' in caps.extensions) && caps.via === 'EHLO')
    notes.push('no STARTTLS: mail to and from this server on this port travels unencrypted');
  return notes;
}
