import { escapeAll } from './escape.js';

/**
 * Untrusted text in a line (a reply, a name from DNS, a header): every control shown as
 * \xNN, line breaks too. The writer escapes again at the end; this keeps a value on its line.
 */
export function printable(text: string): string {
  return escapeAll(text);
}

/**
 * Untrusted text in quotes, each character escaped once: quotes and backslashes as in JSON
 * (so the value cannot end its quotes early and fake what follows on the line), controls
 * as printable shows them.
 */
export function quoted(text: string): string {
  return `"${escapeAll(text.replace(/["\\]/g, '\\$&'))}"`;
}
