import { auth } from './auth.js';
import { authBeforeTls } from './auth-before-tls.js';
import { certificateExpiry, certificateName, certificateTrust } from './certificate.js';
import { connect } from './connect.js';
import type { ProbeCheck } from './context.js';
import { dnsbl } from './dnsbl.js';
import { ehlo } from './ehlo.js';
import { enumeration } from './enumeration.js';
import { envelope } from './envelope.js';
import { greeting } from './greeting.js';
import { openRelay } from './open-relay.js';
import { portConventions } from './port-conventions.js';
import { ptr } from './ptr.js';
import { responseTime } from './response-time.js';
import { tls, tlsVersion } from './tls.js';
import { tlsScan } from './tls-scan.js';

/**
 * What a probe runs, in order: each row runs when its `when` says so, in the probe's one
 * session (the relay and enumeration tests open fresh ones). The first rows connect, greet,
 * say EHLO and start TLS, so the later ones read what those found. Adding a check is a
 * file and a row here (and its name in ./names.ts).
 */
export const PROBE_CHECKS: readonly ProbeCheck[] = [
  connect,
  greeting,
  ehlo,
  tls,
  tlsVersion,
  certificateTrust,
  certificateName,
  certificateExpiry,
  tlsScan,
  authBeforeTls,
  portConventions,
  auth,
  envelope,
  openRelay,
  enumeration,
  dnsbl,
  ptr,
  responseTime,
];

export { CHECK_NAMES, type CheckName } from './names.js';
export { checkContext, type CheckContext, type ProbeCheck } from './context.js';
