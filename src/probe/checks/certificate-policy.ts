/** Which rule judged the certificate, and whether a bad one fails or only warns. */
export interface CertificatePolicy {
  rule: 'tls-verify' | 'dane' | 'mta-sts' | 'opportunistic' | 'authenticated';
  enforced: boolean;
  why: string;
}

/**
 * Port 25 between MTAs is opportunistic TLS (RFC 3207 §4.1, RFC 7435): senders deliver
 * over an untrusted or mismatched certificate, so it warns, unless --tls-verify, DANE
 * (RFC 7672) or an MTA-STS policy in enforce mode (RFC 8461) demands a valid one. Clients
 * of other ports (587, 465) check the certificate: there it fails.
 */
export function certificatePolicy(
  port: number,
  o: { verify: boolean; dane?: boolean; mtaStsEnforce?: boolean; mx?: boolean },
): CertificatePolicy {
  // dane: the host publishes DNSSEC-validated TLSA records, so they decide (RFC 7672 §2.2).
  if (o.dane)
    return {
      rule: 'dane',
      enforced: true,
      why: 'the host’s DNSSEC-validated TLSA records decide (--dane): senders that use DANE will not deliver over a certificate they do not match',
    };
  if (o.verify) return { rule: 'tls-verify', enforced: true, why: '--tls-verify asks for a valid certificate' };
  if (o.mtaStsEnforce)
    return {
      rule: 'mta-sts',
      enforced: true,
      why: 'the domain’s MTA-STS policy is in enforce mode: senders that honour it will not deliver over it',
    };
  if (port === 25 || o.mx)
    return {
      rule: 'opportunistic',
      enforced: false,
      why: 'port 25 between MTAs is opportunistic TLS, so senders deliver anyway; --tls-verify, --dane or an MTA-STS policy in enforce mode make this a failure',
    };
  return {
    rule: 'authenticated',
    enforced: true,
    why: `clients of port ${port} check the certificate; --ca-file adds a private CA`,
  };
}
