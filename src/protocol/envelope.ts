/**
 * MAIL and RCPT as values (RFC 5321 §4.1.1.2-3 and the extensions' parameters), built in
 * this one place: the transaction decides which parameters apply, this spells them.
 */
export interface MailParams {
  /** SIZE=n (RFC 1870): the message size, when the server offers SIZE. */
  size?: number;
  /** BODY=8BITMIME (RFC 6152). */
  body?: '8BITMIME' | '7BIT';
  /** SMTPUTF8 (RFC 6531): an address needs it. */
  smtputf8?: boolean;
  /** RET=FULL|HDRS (RFC 3461). */
  ret?: 'FULL' | 'HDRS';
  /** ENVID=... (RFC 3461), xtext-encoded here. */
  envid?: string;
  /** REQUIRETLS (RFC 8689). */
  requiretls?: boolean;
}

export interface RcptParams {
  /** NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY (RFC 3461). */
  notify?: string;
  /** ORCPT: the original recipient, typed rfc822 or utf-8, xtext-encoded here. */
  orcpt?: string;
}

export function mail(from: string, p: MailParams = {}): string {
  const params = [
    p.size !== undefined && `SIZE=${p.size}`,
    p.body && `BODY=${p.body}`,
    p.smtputf8 && 'SMTPUTF8',
    p.requiretls && 'REQUIRETLS',
    p.ret && `RET=${p.ret}`,
    p.envid !== undefined && `ENVID=${xtext(p.envid)}`,
  ].filter(Boolean);
  return [`MAIL FROM:<${from}>`, ...params].join(' ');
}

export function rcpt(to: string, p: RcptParams = {}): string {
  const params = [
    p.notify && `NOTIFY=${p.notify}`,
    p.orcpt !== undefined && `ORCPT=${/^[\x21-\x7e]*$/.test(p.orcpt) ? 'rfc822' : 'utf-8'};${xtext(p.orcpt)}`,
  ].filter(Boolean);
  return [`RCPT TO:<${to}>`, ...params].join(' ');
}

/** RFC 3461 §4: "+" and "=" and anything outside printable ASCII become +XX. */
export function xtext(s: string): string {
  return [...Buffer.from(s)]
    .map((b) =>
      b > 0x20 && b < 0x7f && b !== 0x2b && b !== 0x3d
        ? String.fromCharCode(b)
        : `+${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}
