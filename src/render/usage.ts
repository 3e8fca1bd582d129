import { printable } from './printable.js';

/**
 * An error about the command line (a usage error, exit 2), or a command's failure where there
 * is no transcript, as CLI tools print it: "smtpkit: ...". The transcript's `***` marks what
 * happened in a session, not what was typed.
 */
export const commandLineError = (message: string) => `smtpkit: ${printable(message)}\n`;
