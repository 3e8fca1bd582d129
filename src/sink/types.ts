import type { EventEmitter } from 'node:events';
import type { BareNewline } from './line-ends.js';
import type { RateLimit } from './rate-limit.js';
import type { FaultRule } from './rules.js';

// The sink's data, shared by the server (server.ts) and each session (session.ts), so the
// session does not import the file that creates it.

export type DropPoint = 'connect' | 'ehlo' | 'mail' | 'rcpt' | 'data';

export interface SinkOptions {
  host: string;
  port: number;
  /** The name in the greeting and EHLO. */
  name: string;
  tls: { key: string; cert: string } | undefined;
  auth: { user: string; pass: string } | undefined;
  maxSize: number;
  rejectRcpt: RegExp | undefined;
  tempfailRate: number;
  delayGreetingMs: number;
  delayDataMs: number;
  dropAfter: DropPoint | undefined;
  /** Where each accepted message is written as an .eml file; none: only its headers are kept. */
  saveDir: string | undefined;
  /** Emit transcript events (costly under load, so only when someone shows them). */
  transcript: boolean;
  /** Keep each accepted message's bytes in memory (`raw` of the 'message' event), for the HTTP API's store. */
  keepMessages?: boolean;
  /** A client silent this long gets 421 4.4.2 and is hung up on. */
  idleTimeoutMs: number;
  /** A STARTTLS handshake not done in this time is cut off. */
  handshakeTimeoutMs: number;
  /** Sessions at once; one more gets 421 4.7.0. */
  maxSessions: number;
  /**
   * A client sending slower than this (bytes/s, over `minRateWindowMs` of the time it is
   * mid-line or mid-message) gets 421 4.4.2: a trickle is no silence, so --idle-timeout
   * never sees it. 0: no minimum.
   */
  minRate: number;
  minRateWindowMs: number;
  /** A message with a bare LF or CR: noted, refused (550 5.5.2) or mended to CRLF. */
  bareNewline: BareNewline;
  /** Deterministic faults, matched in order (the first for a stage and address answers); none by default. */
  rules?: readonly FaultRule[];
  /** Messages per client address; none by default. */
  rateLimit?: RateLimit;
  random: () => number;
}

export interface SinkMessage {
  id: string;
  session: number;
  from: string;
  to: string[];
  size: number;
  headers: Array<[string, string]>;
  /** Where it was saved (with a save directory). */
  file: string | undefined;
  tls: boolean;
  user: string | undefined;
  receivedAt: string;
  /** Line ends in the message that were not CRLF; `normalized`: saved as CRLF (--bare-newline normalize). */
  lineEndings: { bareLf: number; bareCr: number; normalized: boolean };
  /** The message as received (after dot-unstuffing), with `keepMessages`. */
  raw?: Buffer;
}

/** The counters a session moves (server.ts's Sink has them as `stats`). */
export interface SinkStats {
  sessions: number;
  messages: number;
  bytes: number;
  rejected: number;
  tempfailed: number;
  oversized: number;
  saveFailed: number;
  refusedSessions: number;
  bareLineEnds: number;
  slowSessions: number;
  rateLimited: number;
}

/** What a session needs of its server: server.ts's Sink. */
export interface SinkHost extends EventEmitter {
  readonly options: SinkOptions;
  readonly stats: SinkStats;
  /** The rules now (POST /api/v1/rules replaces them while sessions run). */
  readonly rules: readonly FaultRule[];
  /** A rule answered with a refusal (4xx/5xx): counted per rule. */
  ruleRefused(rule: FaultRule): void;
  /** Takes a message's place under --rate-limit for this client; false: it is past the rate. */
  withinRate(client: string): boolean;
  /** The session (a SinkSession) has ended. */
  sessionClosed(session: object): void;
  saveFailed(err: NodeJS.ErrnoException): void;
}
