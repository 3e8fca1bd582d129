import { authMechanisms, hasExtension, type Capabilities } from '../protocol/capabilities.js';

// Those that take an argument complete with its space, as EHLO does: '/ex' Tab '550' is '/explain 550'.
export const META_COMMANDS = [
  '/help',
  '/starttls',
  '/auth ',
  '/send',
  '/explain ',
  '/caps',
  '/timing',
  '/save ',
  '/raw on',
  '/raw off',
  '/quit',
];

/**
 * Tab completion: SMTP verbs (and only the extensions this server advertised), the usual
 * MAIL FROM:< / RCPT TO:< forms, AUTH mechanisms, and meta commands. What is completed
 * takes the case of the last letter typed (`eh` → `ehlo`, `EH` → `EHLO`): verbs are
 * case-insensitive (RFC 5321 §2.4), and a line half one case, half the other reads as a slip.
 */
export function completions(line: string, caps: Capabilities | undefined, tls: boolean): string[] {
  if (line.startsWith('/')) return META_COMMANDS.filter((m) => m.startsWith(line));
  const words = [
    'EHLO ',
    'HELO ',
    'MAIL FROM:<',
    'RCPT TO:<',
    'DATA',
    'RSET',
    'NOOP',
    'QUIT',
    'VRFY ',
    'EXPN ',
    'HELP',
  ];
  if (caps && hasExtension(caps, 'STARTTLS') && !tls) words.push('STARTTLS');
  if (caps && hasExtension(caps, 'CHUNKING')) words.push('BDAT ');
  if (caps && hasExtension(caps, 'ETRN')) words.push('ETRN ');
  if (caps) for (const m of authMechanisms(caps)) words.push(`AUTH ${m}`);
  const upper = line.toUpperCase();
  const lower = /[a-z][^a-zA-Z]*$/.test(line);
  return words.filter((w) => w.startsWith(upper)).map((w) => line + (lower ? w.toLowerCase() : w).slice(line.length));
}
