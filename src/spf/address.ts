import { isIP } from 'node:net';

/** A client address as SPF sees it: an IPv4-mapped IPv6 address is IPv4 (RFC 7208 §5). */
export interface ClientAddress {
  family: 4 | 6;
  bytes: number[];
  /** Readable form: dotted quad, or IPv6 in lower case, compressed (%{c}). */
  text: string;
}

/** Parses an address; undefined when it is none. */
export function clientAddress(input: string): ClientAddress | undefined {
  const bytes = addressBytes(input);
  if (!bytes) return undefined;
  const mapped =
    bytes.length === 16 && bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (bytes.length === 4 || mapped) {
    const v4 = bytes.slice(-4);
    return { family: 4, bytes: v4, text: v4.join('.') };
  }
  return { family: 6, bytes, text: compressIpv6(bytes) };
}

/** The bytes of an IPv4 or IPv6 address (an IPv6 address may end in a dotted quad). */
export function addressBytes(input: string): number[] | undefined {
  const family = isIP(input);
  if (family === 4) return input.split('.').map(Number);
  if (family !== 6) return undefined;
  let text = input.toLowerCase().replace(/%.*$/, '');
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/** Whether two addresses of one family share their first `prefix` bits. */
export function inNetwork(address: number[], network: number[], prefix: number): boolean {
  if (address.length !== network.length) return false;
  for (let bit = 0; bit < prefix; bit += 8) {
    const take = Math.min(8, prefix - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((address[bit / 8]! & mask) !== (network[bit / 8]! & mask)) return false;
  }
  return true;
}

/** %{i} (RFC 7208 §7.3): IPv4 dotted, IPv6 as 32 dot-separated nibbles. */
export function macroAddress(a: ClientAddress): string {
  if (a.family === 4) return a.text;
  return a.bytes.flatMap((b) => [(b >> 4).toString(16), (b & 15).toString(16)]).join('.');
}

function compressIpv6(bytes: number[]): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
  // The longest run of two or more zero groups becomes "::" (RFC 5952 §4.2).
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
}
