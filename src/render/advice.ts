import type { Hint, Wait } from '../errors.js';

const WAIT_OPTION: Record<Wait, string> = {
  connect: 'connect timeout; --connect-timeout raises it',
  greeting: 'greeting timeout; --greeting-timeout raises it',
  command: 'command timeout; --command-timeout raises it',
  tls: '--tls-timeout raises it',
  dns: '--timeout raises it',
  total: '--timeout raises it',
};

/** The command line's advice for a hint: the core says what happened, this says which flag helps. */
export function adviceText(hint: Hint | undefined): string | undefined {
  if (!hint) return undefined;
  switch (hint.kind) {
    case 'timeout':
      return WAIT_OPTION[hint.wait];
    case 'tls-old-version':
      return '--tls-min 1.0 reaches such a server, to diagnose it';
    case 'tls-verify':
      return '--tls-verify makes this an error';
    case 'implicit-tls':
      return 'if this port expects TLS from the start, use --tls-on-connect';
  }
}

/** A message with its advice in parentheses, as the transcript and -q print it. */
export function withAdvice(message: string, hint: Hint | undefined): string {
  const advice = adviceText(hint);
  return advice ? `${message} (${advice})` : message;
}
