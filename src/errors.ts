/**
 * One complete server reply, possibly spanning several lines (RFC 5321 §4.2). Declared here,
 * beside the error that carries it, so this file imports nothing: protocol/ builds on it.
 */
export interface Reply {
  code: number;
  /** The RFC 3463 enhanced status code of the first line ("5.7.1"), when the server sent one. */
  enhanced: string | null;
  /** The text of each line after the code and separator, enhanced code included, as received. */
  lines: string[];
}

/** Exit codes are part of the interface: README and man page list them, tests pin them. */
export const ExitCode = {
  ok: 0,
  checkFailed: 1,
  usage: 2,
  dns: 3,
  connect: 4,
  protocol: 5,
  tls: 6,
  auth: 7,
  rejected: 8,
} as const;

export type ErrorClass = Exclude<keyof typeof ExitCode, 'ok'>;

/** Which wait ran out: each has its own option, named where the error is rendered. */
export type Wait = 'connect' | 'greeting' | 'command' | 'tls' | 'dns' | 'total';

/**
 * What a reader could do about an error, as data: the renderer turns it into words
 * (the CLI names flags, the REPL may say something else). Never text inside the core.
 */
export type Hint =
  /** implicitTls: a silent port other than 25/587 may want TLS at once ('maybe'), or was asked and does not ('not'). */
  | { kind: 'timeout'; wait: Wait; implicitTls?: 'maybe' | 'not' }
  /** The server speaks only TLS versions below what we offered. */
  | { kind: 'tls-old-version' }
  /** A certificate problem that is a warning unless verification is asked for; caFile: trusting another CA would cure it. */
  | { kind: 'tls-verify'; caFile?: boolean }
  /** The certificate failed verification, and trusting another CA (a private one, the certificate itself) would cure it. */
  | { kind: 'ca-file' }
  /** STARTTLS is missing: perhaps the port wants TLS from the start. */
  | { kind: 'implicit-tls' }
  /** The port answered a plaintext connection with TLS bytes: it wants TLS from the start. */
  | { kind: 'speaks-tls' }
  /** A silent port answered TLS, so the session went on over implicit TLS unasked. */
  | { kind: 'implicit-tls-found' }
  /** Another SASL mechanism could work (or XOAUTH2 must be named). */
  | { kind: 'choose-mechanism' }
  /** Credentials were withheld because the session has no TLS. */
  | { kind: 'allow-plaintext' };

/**
 * What kind of failure, beyond its class, for code that must tell them apart without
 * reading the message: a server reply, a reply nobody asked for, the server closing...
 */
export type FailureKind =
  | 'refused'
  | 'timeout'
  | 'unsolicited'
  | 'closing'
  | 'closed'
  | 'missing-replies'
  | 'malformed'
  | 'flood'
  | 'interrupted'
  | 'other';

export interface ErrorDetails {
  /** The server's reply that decided the failure, when there is one. */
  reply?: Reply;
  hint?: Hint;
  kind?: FailureKind;
}

/** Every failure we expect becomes one of these; anything else is a bug and is reported as one. */
export class SmtpkitError extends Error {
  readonly errorClass: ErrorClass;
  /** The phase of the session it happened in (connect, greeting, ehlo, starttls, ...), if any. */
  readonly phase: string | undefined;
  readonly reply: Reply | undefined;
  readonly hint: Hint | undefined;
  readonly kind: FailureKind;

  constructor(errorClass: ErrorClass, message: string, phase?: string, details: ErrorDetails = {}) {
    super(message);
    this.name = 'SmtpkitError';
    this.errorClass = errorClass;
    this.phase = phase;
    this.reply = details.reply;
    this.hint = details.hint;
    this.kind = details.kind ?? (details.reply ? 'refused' : 'other');
  }

  get exitCode(): number {
    return ExitCode[this.errorClass];
  }

  /** The same failure, told as happening in another phase (the step that was running). */
  inPhase(phase: string): SmtpkitError {
    if (this.phase) return this;
    return new SmtpkitError(this.errorClass, this.message, phase, {
      reply: this.reply,
      hint: this.hint,
      kind: this.kind,
    });
  }
}

export const usageError = (message: string) => new SmtpkitError('usage', message);

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

export const INTERNAL_ERROR_EXIT = 70;

/** A failure as an outcome: its class, phase, reply and hint; anything but an SmtpkitError is a bug of ours. */
export function outcomeOf(err: unknown): Outcome {
  if (err instanceof SmtpkitError) {
    return {
      ok: false,
      exitCode: err.exitCode,
      message: err.message,
      errorClass: err.errorClass,
      ...(err.phase ? { phase: err.phase } : {}),
      ...(err.kind !== 'other' ? { kind: err.kind } : {}),
      ...(err.reply ? { reply: err.reply } : {}),
      ...(err.hint ? { hint: err.hint } : {}),
    };
  }
  // Not a failure we foresaw: a bug. Say so plainly; the stack only on request (render/failure.ts).
  const message = `internal error: ${(err as Error)?.message ?? String(err)} (this is a bug in smtpkit; SMTPKIT_DEBUG=1 shows details)`;
  return { ok: false, exitCode: INTERNAL_ERROR_EXIT, message, errorClass: 'internal' };
}
