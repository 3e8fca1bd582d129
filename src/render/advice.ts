import type { Hint, Wait } from '../errors.js';
import type { Audience } from '../explain/hints.js';

const WAIT_OPTION: Record<Wait, string> = {
  connect: 'connect timeout; --connect-timeout raises it',
  greeting: 'greeting timeout; --greeting-timeout raises it',
  command: 'command timeout; --command-timeout raises it',
  tls: '--tls-timeout raises it',
  dns: '--timeout raises it',
  total: '--timeout raises it',
};

/**
 * The advice for a hint: the core says what happened, this says what helps. On the command
 * line that is a flag; in the REPL the session's options are fixed, so it says what to restart with.
 */
/** How to ask for TLS from the first byte, in each audience's words. */
const TLS_AT_ONCE: Record<Audience, string> = {
  repl: 'restart the repl with --tls-on-connect',
  cli: 'use --tls-on-connect or smtps://host:port',
};

/** What trusts a private CA or a self-signed certificate. */
const CA_FILE: Record<Audience, string> = {
  cli: '--ca-file FILE trusts a private CA or a self-signed certificate',
  repl: 'restart the repl with --ca-file FILE to trust a private CA or a self-signed certificate',
};

export function adviceText(hint: Hint | undefined, audience: Audience = 'cli'): string | undefined {
  if (!hint) return undefined;
  const flag = (text: string) =>
    audience === 'repl' ? `restart the repl with ${text.replace(/^.*?(--\S+).*$/, '$1')} to change it` : text;
  switch (hint.kind) {
    case 'timeout': {
      const base =
        audience === 'repl' ? `${hint.wait} timeout; ${flag(WAIT_OPTION[hint.wait])}` : WAIT_OPTION[hint.wait];
      if (hint.implicitTls === 'not') return `${base}; it does not answer TLS either`;
      if (hint.implicitTls === 'maybe')
        return `${base}; if this port expects TLS at once (like 465), ${TLS_AT_ONCE[audience]}`;
      return base;
    }
    case 'implicit-tls-found':
      return audience === 'repl'
        ? 'say so next time: restart the repl with --tls-on-connect'
        : 'say so with --tls-on-connect or smtps://host:port';
    case 'speaks-tls':
      return TLS_AT_ONCE[audience];
    case 'tls-old-version':
      return audience === 'repl'
        ? 'restart the repl with --tls-min 1.0 to reach such a server'
        : '--tls-min 1.0 reaches such a server, to diagnose it';
    case 'tls-verify': {
      const ca = hint.caFile ? `${CA_FILE[audience]}; ` : '';
      return audience === 'repl'
        ? `${ca}with --tls-verify this would end the session`
        : `${ca}--tls-verify makes this an error`;
    }
    case 'ca-file':
      return CA_FILE[audience];
    case 'implicit-tls':
      return audience === 'repl'
        ? 'if this port expects TLS from the start, restart the repl with --tls-on-connect'
        : 'if this port expects TLS from the start, use --tls-on-connect';
    case 'choose-mechanism':
      return audience === 'repl' ? 'name another mechanism: /auth MECH' : 'choose one with --mech';
    case 'allow-plaintext':
      return audience === 'repl'
        ? '/starttls first, or restart the repl with --allow-plaintext'
        : '--allow-plaintext sends them anyway';
  }
}

/** A message with its advice in parentheses, as the transcript and -q print it. */
export function withAdvice(message: string, hint: Hint | undefined, audience: Audience = 'cli'): string {
  const advice = adviceText(hint, audience);
  return advice ? `${message} (${advice})` : message;
}
