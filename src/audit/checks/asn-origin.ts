import { BlockList, isIP } from 'node:net';
import { reverseName, type Resolver } from '../../dns/resolver.js';

/** One route that announces an address: the origin AS and the announced prefix. */
export interface Origin {
  asn: number;
  prefix: string;
}

/** What the IP-to-ASN zone says of an address: its origins, or why there are none. */
export type OriginAnswer = { name: string; origins: Origin[]; records: string[] } | { name: string; none: string };

/** The TXT name of an address in an IP-to-ASN zone: reversed octets (IPv4) or nibbles (IPv6), as in-addr/ip6.arpa. */
export function originName(address: string, zones: { v4: string; v6: string }): string {
  const reversed = reverseName(address).replace(/\.(in-addr|ip6)\.arpa$/, '');
  return `${reversed}.${isIP(address) === 4 ? zones.v4 : zones.v6}`;
}

const MAX_ASN = 4_294_967_295;

/**
 * The origins in Team Cymru's TXT shape, "13335 | 1.1.1.0/24 | AU | apnic | 2011-08-11" (a
 * multi-origin prefix lists several ASNs before the first bar). The zone is untrusted: an ASN out
 * of range, a prefix that is no prefix of this family or does not hold the address is dropped.
 */
export function parseOrigins(records: string[], address: string): Origin[] {
  const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
  const out: Origin[] = [];
  for (const r of records) {
    const [asns, prefix] = r.split('|').map((f) => f.trim());
    const m = /^([0-9a-f.:]+)\/(\d{1,3})$/i.exec(prefix ?? '');
    if (!asns || !m || isIP(m[1]!) !== isIP(address)) continue;
    const length = Number(m[2]);
    if (length > (family === 'ipv4' ? 32 : 128)) continue;
    const covers = new BlockList();
    covers.addSubnet(m[1]!, length, family);
    if (!covers.check(address, family)) continue;
    for (const a of asns.split(/\s+/)) {
      if (!/^\d{1,10}$/.test(a) || Number(a) > MAX_ASN) continue;
      if (!out.some((o) => o.asn === Number(a) && o.prefix === prefix)) out.push({ asn: Number(a), prefix: prefix! });
    }
  }
  return out;
}

/** The origins of an address, looked up through the audit's resolver; a failed look-up rejects (DnsFailure). */
export async function lookupOrigins(
  resolver: Resolver,
  address: string,
  zones: { v4: string; v6: string },
): Promise<OriginAnswer> {
  const name = originName(address, zones);
  const answer = await resolver.txt(name);
  if (answer.absent) return { name, none: `${name} has no TXT record (${answer.absent})` };
  const origins = parseOrigins(answer.records, address);
  if (!origins.length)
    return {
      name,
      none: `no "ASN | prefix" holding ${address} in the TXT of ${name}: ${JSON.stringify(answer.records)}`,
    };
  return { name, origins, records: answer.records };
}
