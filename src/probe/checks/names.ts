/**
 * Every check a probe can report, in the order its results show them. Renderers and
 * monitoring match on these names (Nagios, JUnit test cases, the Prometheus `check` label),
 * so a name is a type: a misspelt one does not compile. The table (./index.ts) lists them
 * in this order; test/probe-checks.test.ts holds the two together.
 */
export const CHECK_NAMES = [
  'connect',
  'greeting',
  'ehlo',
  'tls',
  'tls-version',
  'certificate-trust',
  'certificate-name',
  'certificate-expiry',
  'tls-protocols',
  'tls-ciphers',
  'auth-before-tls',
  'port-conventions',
  'auth',
  'envelope',
  'open-relay',
  'vrfy',
  'expn',
  'rcpt-enumeration',
  'dnsbl',
  'ptr',
  'response-time',
] as const;

export type CheckName = (typeof CHECK_NAMES)[number];
