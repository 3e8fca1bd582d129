import { hostname } from 'node:os';
import type { AuditOptions } from './check.js';

/** The audit's defaults, in one place: internet.nl's 10 MX hosts, a 120 s whole-audit limit. */
export const AUDIT_DEFAULTS = {
  port: 25,
  timeoutMs: 120_000,
  waitMs: 10_000,
  httpsPort: 443,
  scanConcurrency: 4,
  maxMx: 10,
  concurrency: 4,
} as const;

/** The EHLO name: this host's, when it is one. */
export function defaultEhloName(): string {
  const name = hostname();
  return /^[A-Za-z0-9.-]+$/.test(name) ? name : 'localhost';
}

export type AuditSettings = Omit<AuditOptions, 'domain'>;
