/**
 * The steps `send --quit-after` can stop after, in session order. Here, below both the
 * option declarations (cli/commands.ts, its choices) and send, which both read it.
 */
export const QUIT_AFTER = ['connect', 'ehlo', 'tls', 'auth', 'mail', 'rcpt', 'data'] as const;
