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

/** Every failure we expect becomes one of these; anything else is a bug and is reported as one. */
export class SmtpkitError extends Error {
  readonly errorClass: ErrorClass;
  /** The phase of the session it happened in (connect, greeting, ehlo, starttls, ...), if any. */
  readonly phase: string | undefined;

  constructor(errorClass: ErrorClass, message: string, phase?: string) {
    super(message);
    this.name = 'SmtpkitError';
    this.errorClass = errorClass;
    this.phase = phase;
  }

  get exitCode(): number {
    return ExitCode[this.errorClass];
  }
}

export const usageError = (message: string) => new SmtpkitError('usage', message);
