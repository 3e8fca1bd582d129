/**
 * A SASL client mechanism (RFC 4422) as a small state machine, free of I/O: the session
 * feeds it the server's challenges and sends what it returns. Each response says whether
 * it carries a secret, so the transcript can redact exactly those lines.
 */
export interface SaslResponse {
  /** Base64 to send ("" for an empty response). */
  data: string;
  secret: boolean;
}

export interface SaslClient {
  readonly name: string;
  /** Sent with the AUTH command itself (RFC 4954 initial response), if the mechanism has one. */
  initial(): SaslResponse | undefined;
  /** Answers one 334 challenge (already base64-decoded); may take time (SCRAM's PBKDF2). */
  respond(challenge: Buffer): SaslResponse | Promise<SaslResponse>;
  /**
   * Called on success with any data the server sent in its 235; throws when the server
   * did not prove itself (SCRAM's server signature). Most mechanisms accept anything.
   */
  finish(data: Buffer | undefined): void;
}

export interface Credentials {
  user: string;
  /** Password, or the bearer token for XOAUTH2. */
  secret: string;
}

export const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
export const publicResponse = (data: string): SaslResponse => ({ data, secret: false });
export const secretResponse = (data: string): SaslResponse => ({ data, secret: true });

export class SaslError extends Error {}
