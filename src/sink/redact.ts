/** SASL mechanism names a transcript may show (RFC 4422 names; anything else may be a secret). */
const MECHANISMS =
  /^(PLAIN|LOGIN|CRAM-MD5|DIGEST-MD5|XOAUTH2|OAUTHBEARER|GSSAPI|GS2-KRB5|NTLM|EXTERNAL|ANONYMOUS|SCRAM-SHA-(1|256|512)(-PLUS)?)$/i;

/** The commands the sink knows: a line after AUTH that is none of them may be an answer to it. */
const VERBS = new Set([
  'EHLO',
  'HELO',
  'MAIL',
  'RCPT',
  'DATA',
  'BDAT',
  'RSET',
  'NOOP',
  'QUIT',
  'VRFY',
  'HELP',
  'STARTTLS',
  'AUTH',
]);

export const REDACTED = '<redacted>';

/**
 * What a transcript may show of a command line. AUTH's initial response is a secret, however
 * the client spaces it (tabs included) and whatever case it uses; so is a line sent right after
 * an AUTH that is not a command (a pipelined answer the sink never asked for).
 */
export function shownCommand(line: string, verb: string, afterAuth: boolean): { line: string; redacted: boolean } {
  if (verb === 'AUTH') {
    const words = line.trim().split(/\s+/);
    if (words.length <= 1) return { line, redacted: false };
    const mech = MECHANISMS.test(words[1]!) ? ` ${words[1]!.toUpperCase()}` : '';
    if (words.length === 2 && mech) return { line: `AUTH${mech}`, redacted: false };
    return { line: `AUTH${mech} ${REDACTED}`, redacted: true };
  }
  if (afterAuth && !VERBS.has(verb)) return { line: REDACTED, redacted: true };
  return { line, redacted: false };
}
