import { createSecureContext, type SecureContext, type SecureVersion } from 'node:tls';
import { usageError } from '../errors.js';

/** What a context is made of: a session's TLS settings (TlsSettings) less what is the socket's (SNI, verify). */
export interface ContextSettings {
  cert: string | undefined;
  key: string | undefined;
  /** Extra trusted CA certificates (PEM), added to the system roots. */
  ca: string | undefined;
  minVersion: SecureVersion | undefined;
  maxVersion: SecureVersion | undefined;
}

/**
 * One TLS context per distinct settings, shared by every session that uses them. A context
 * holds 25-55 KB of OpenSSL memory that V8 does not see, so it is freed only when a garbage
 * collection happens to run: made anew for each of thousands of probe targets, it piled up
 * between collections (+16 MiB over 2,000 STARTTLS probes on Node 24). Sharing is safe: the
 * context holds no per-connection state (SNI and sessions are the socket's; Node keeps no
 * client session cache in it), and a run has a handful of distinct settings at most.
 */
const contexts = new Map<string, SecureContext>();
/** Distinct settings kept: a long-running process (REPL, exporter) sees a few modules, not more. */
const KEPT = 16;
/** Contexts built so far (the tests' view of when the work happens). */
let built = 0;
export const contextsBuilt = (): number => built;

/**
 * The TLS context: client certificate, versions, and --ca-file added to the system roots.
 * Adding to Node's default store costs about 1 ms; building a store from all the roots'
 * PEM text again (ca: [...rootCertificates, extra]) costs about 16.
 */
export function secureContext(t: ContextSettings): SecureContext {
  const key = JSON.stringify([t.cert, t.key, t.minVersion, t.maxVersion, t.ca]);
  const known = contexts.get(key);
  if (known) return known;
  // OpenSSL 3 refuses TLS 1.0/1.1 at its default security level whatever minVersion says:
  // lowered only when the user asked for those versions, to diagnose old servers.
  const old = t.minVersion === 'TLSv1' || t.minVersion === 'TLSv1.1';
  let context: SecureContext;
  try {
    context = createSecureContext({
      cert: t.cert,
      key: t.key,
      minVersion: t.minVersion,
      maxVersion: t.maxVersion,
      ...(old ? { ciphers: 'DEFAULT@SECLEVEL=0' } : {}),
    });
  } catch (err) {
    // Not PEM, or a key that is not the certificate's: the user's files, not a bug.
    throw usageError(`the client certificate and key (--cert, --key) cannot be used: ${(err as Error).message}`);
  }
  if (t.ca) (context as SecureContext & { context: { addCACert(pem: string): void } }).context.addCACert(t.ca);
  built++;
  if (contexts.size >= KEPT) contexts.delete(contexts.keys().next().value!);
  contexts.set(key, context);
  return context;
}
