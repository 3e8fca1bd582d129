import type { ErrorClass } from '../errors.js';

/** How a command ended: what the outcome line and the JSON `outcome` field say. */
export interface Outcome {
  ok: boolean;
  exitCode: number;
  message: string;
  errorClass?: ErrorClass | 'internal';
  phase?: string;
  /** A DNS failure as the resolver gave it (mx-lookup). */
  dnsError?: unknown;
}
