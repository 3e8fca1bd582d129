import type { Capabilities } from '../protocol/capabilities.js';
import type { Reply } from '../protocol/reply.js';
import type { ErrorClass, Hint } from '../errors.js';
import type { TlsFacts } from './tls-facts.js';

/** Milliseconds since the session started, and whether the bytes went over TLS. */
interface Stamp {
  t: number;
  tls: boolean;
}

/**
 * Everything a session does becomes one of these. The core only emits them; the
 * renderers turn them into a transcript or JSON.
 */
export type SmtpEvent =
  | (Stamp & { type: 'info'; message: string })
  /** `hint`: advice as data, worded by the renderer (it may name an option). */
  | (Stamp & { type: 'warning'; message: string; hint?: Hint })
  | (Stamp & { type: 'connected'; remoteAddress: string; remotePort: number; localAddress: string; localPort: number })
  /** A line we sent; `command` is its verb, `redacted` says the line shown is not the line sent. */
  | (Stamp & { type: 'sent'; line: string; command: string; redacted?: boolean })
  /** A reply, and the command it answers ("CONNECT" for the greeting, "UNSOLICITED" for none). */
  | (Stamp & { type: 'reply'; reply: Reply; command: string })
  | (Stamp & { type: 'capabilities'; capabilities: Capabilities })
  | (Stamp & { type: 'tls'; facts: TlsFacts })
  /** Raw bytes for -v: what went in or out, before any parsing. */
  | (Stamp & { type: 'raw'; direction: 'in' | 'out'; data: string })
  | (Stamp & {
      type: 'error';
      errorClass: ErrorClass | 'internal';
      message: string;
      phase?: string;
      hint?: Hint;
      reply?: Reply;
    });

/** An event before the session stamps it. */
export type EventBody = SmtpEvent extends infer E ? (E extends SmtpEvent ? Omit<E, 't' | 'tls'> : never) : never;

export type EventSink = (event: SmtpEvent) => void;

/** Per-phase durations in milliseconds, in the order the phases ran. */
export type Timings = Record<string, number>;
