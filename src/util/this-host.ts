import { BlockList, isIP } from 'node:net';

/**
 * 0.0.0.0/8 and :: mean "this host" (RFC 1122 §3.2.1.3, RFC 4291 §2.5.2), and so does their
 * IPv4-mapped form (::ffff:0.0.0.0/104): on Linux a connection there reaches the machine
 * smtpkit runs on. An address DNS gives there names no mail host, whatever it claims.
 */
const THIS_HOST = new BlockList();
THIS_HOST.addSubnet('0.0.0.0', 8, 'ipv4');
THIS_HOST.addAddress('::', 'ipv6');
THIS_HOST.addSubnet('::ffff:0.0.0.0', 104, 'ipv6');

/** The address means "this host": never a target found in DNS. */
export function namesThisHost(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && THIS_HOST.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** Why such addresses are not used, in the words every caller shows. */
export const thisHostReason = (addresses: readonly string[]): string =>
  `${addresses.join(', ')} ${addresses.length === 1 ? 'names' : 'name'} no host ("this host": 0.0.0.0/8 and ::, RFC 1122 §3.2.1.3, RFC 4291 §2.5.2): a connection there would reach this machine`;
