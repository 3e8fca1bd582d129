/**
 * What to try next, for the failures people hit most. The first matching rule wins. A hint
 * that names a way to act has two wordings: command-line flags, and the REPL's own
 * commands (a person typing SMTP cannot pass --starttls mid-session).
 */

export interface HintContext {
  code: number;
  enhanced: string | null;
  command: string;
  text: string;
  /** Whether the reply came over TLS. */
  tls: boolean;
}

export type Audience = 'cli' | 'repl';

type Hint = string | Record<Audience, string>;
type Rule = [when: (c: HintContext) => boolean, hint: Hint];

const detail = (c: HintContext) => c.enhanced?.slice(2);

const RULES: Rule[] = [
  [
    (c) => c.code === 530 && !c.tls && (/tls/i.test(c.text) || !/auth/i.test(c.text)),
    {
      cli: 'the server wants TLS first: use STARTTLS (--starttls always for send and auth; `smtpkit starttls` checks it), or implicit TLS with --tls-on-connect on port 465',
      repl: 'the server wants TLS first: type /starttls (or STARTTLS), then EHLO again if needed',
    },
  ],
  [
    (c) => c.code === 530 || (c.code === 550 && /auth.*required|must authenticate/i.test(c.text)),
    {
      cli: 'the server wants you to authenticate first (AUTH) before this command: --user and a password',
      repl: 'the server wants you to log in first: /auth PLAIN <user>',
    },
  ],
  [
    (c) => c.code === 538 || detail(c) === '7.11' || detail(c) === '7.10',
    {
      cli: 'start TLS first (STARTTLS, or port 465 with --tls-on-connect), then authenticate',
      repl: 'type /starttls first, then /auth again',
    },
  ],
  [
    (c) => c.code === 535 || detail(c) === '7.8',
    'check the username and password; many providers require an app password or OAuth (XOAUTH2) instead of the account password',
  ],
  [
    (c) => c.code === 504 && c.command === 'AUTH',
    {
      cli: 'pick a mechanism from the AUTH line of the EHLO reply with --mech (it may only appear after STARTTLS)',
      repl: 'pick a mechanism from the AUTH line of the EHLO reply (/caps shows it; it may only appear after /starttls)',
    },
  ],
  [
    (c) => c.command === 'CONNECT' && c.code === 554,
    'the server refuses this client outright: check whether your IP address is on a blocklist (the text often names it) or whether this port is meant for you',
  ],
  [
    (c) => c.code === 421 && c.command === 'CONNECT',
    'the server is busy or limiting connections from your address; wait and retry, or connect less often',
  ],
  [
    (c) => c.code === 421,
    'the server ended the session; if it happens after idle time, the server’s timeout is shorter than your pauses',
  ],
  [
    (c) => c.code >= 550 && /relay/i.test(c.text),
    'relaying is refused: authenticate (AUTH, usually on port 587) or send only to domains this server hosts',
  ],
  [
    (c) => c.code >= 400 && c.code < 500 && /grey|gray/i.test(c.text),
    'greylisting: the server delays first-time senders; the same message retried after a few minutes normally goes through',
  ],
  [(c) => detail(c) === '1.1', 'the recipient is unknown: check the spelling of the part before the @'],
  [
    (c) => detail(c) === '3.4' || (c.code === 552 && /size|big|large/i.test(c.text)),
    {
      cli: 'the message is over the server’s size limit: see SIZE in `smtpkit ehlo`',
      repl: 'the message is over the server’s size limit: /caps shows SIZE',
    },
  ],
  [
    (c) => detail(c) === '7.23' || detail(c) === '7.24',
    'check the SPF record of the sender’s domain: this server’s IP must be allowed there',
  ],
  [
    (c) => detail(c) === '7.26' || detail(c) === '7.22' || detail(c) === '7.20' || /dmarc/i.test(c.text),
    'check DKIM signing and SPF for the From: domain, and that they align with it (DMARC)',
  ],
  [(c) => detail(c) === '7.25', 'give the client IP a reverse DNS name that resolves back to the same IP'],
  [
    (c) => c.command === 'STARTTLS' && c.code === 454,
    'TLS is broken on the server side (certificate or key files); its mail log says why',
  ],
  [
    (c) => (c.command === 'EHLO' || c.command === 'HELO') && c.code === 501,
    {
      cli: 'give a fully qualified host name with --ehlo',
      repl: 'give a fully qualified host name: EHLO mail.example.com',
    },
  ],
  [
    (c) => c.command === 'MAIL' && c.code === 503,
    'send EHLO first, finish the previous transaction (or RSET), and authenticate if the server requires it',
  ],
  [(c) => c.command === 'RCPT' && c.code === 503, 'send MAIL FROM before RCPT TO'],
  [
    (c) => c.command === 'DATA' && (c.code === 503 || c.code === 554),
    'at least one RCPT TO must be accepted before DATA',
  ],
];

export function hintFor(context: HintContext, audience: Audience = 'cli'): string | undefined {
  const hint = RULES.find(([when]) => when(context))?.[1];
  return typeof hint === 'object' ? hint[audience] : hint;
}
