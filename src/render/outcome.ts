import type { ErrorClass, FailureKind, Hint } from '../errors.js';
import type { Reply } from '../protocol/reply.js';

/** How a command ended: what the outcome line and the JSON `outcome` field say. */
export interface Outcome {
  ok: boolean;
  exitCode: number;
  message: string;
  errorClass?: ErrorClass | 'internal';
  phase?: string;
  /** What kind of failure, the reply that decided it, and advice as data (render words it). */
  kind?: FailureKind;
  reply?: Reply;
  hint?: Hint;
  /** A DNS failure as the resolver gave it (mx-lookup). */
  dnsError?: unknown;
}
