import { getServers } from 'node:dns';
import { isIP } from 'node:net';
import { SmtpkitError, usageError } from '../errors.js';
import { aLabels, dnsNameProblem, notIdna, presentationName } from './domain.js';
import {
  ask,
  MalformedAnswer,
  type AskOptions,
  type DnsRecord,
  type DnsResponse,
  type Ede,
  type NameServer,
  type RecordType,
  type TransportOptions,
  TYPE,
} from './transport.js';

/** Why a name has no records of a type: told apart, because the fixes differ. */
export type Absence = 'NXDOMAIN' | 'NODATA';

export interface Answer<T> {
  records: T[];
  ttl: number | undefined;
  authenticated: boolean;
  /** Set when there are no records: the name does not exist, or has none of this type. */
  absent: Absence | undefined;
  /** The name is an alias (CNAME) of this one. */
  cname: string | undefined;
}

const RCODE_NAMES: Record<number, string> = { 1: 'FORMERR', 2: 'SERVFAIL', 4: 'NOTIMP', 5: 'REFUSED' };
const RCODE_WHY: Record<number, string> = {
  1: 'the server could not read the question',
  2: 'the server failed to resolve it',
  5: 'the server will not answer this question for us',
};

/** What went wrong with one look-up, as data (JSON carries it). */
export interface DnsErrorInfo {
  /**
   * rcode: the resolver answered an error (SERVFAIL, REFUSED ...); no-answer: none answered
   * in time or at all; malformed: an answer that cannot be believed (a pointer loop, a record
   * cut short, counts that do not match, TC over TCP, another question); not-a-name: never asked.
   */
  kind: 'rcode' | 'no-answer' | 'malformed' | 'not-a-name';
  name: string;
  type: RecordType;
  /** The resolver that answered, or undefined when none did. */
  server: string | undefined;
  /** SERVFAIL, REFUSED ...; undefined when no server answered. */
  rcode: string | undefined;
  ede: Ede[];
}

/**
 * A look-up that failed (SERVFAIL, REFUSED, no answer): not "no data". SPF calls it a
 * temperror; a DANE sender defers mail to the host. Exit 3 when nothing handles it.
 */
export class DnsFailure extends SmtpkitError {
  constructor(
    readonly info: DnsErrorInfo,
    message: string,
  ) {
    super('dns', message, 'dns', info.kind === 'malformed' ? { kind: 'malformed' } : {});
  }

  /** "SERVFAIL, EDE 6 DNSSEC Bogus" or "no answer": for findings. */
  get short(): string {
    const ede = this.info.ede.map((e) => `EDE ${e.code} ${e.text}`).join(', ');
    return [this.info.rcode ?? (this.info.kind === 'malformed' ? 'malformed answer' : 'no answer'), ede]
      .filter(Boolean)
      .join(', ');
  }
}

export function describeEde(ede: Ede[]): string {
  return ede.map((e) => `Extended DNS Error ${e.code} (${e.text})${e.extra ? `: ${e.extra}` : ''}`).join('; ');
}

/**
 * When the AD bit came over a network, say what it is worth (RFC 6698 §4.1, RFC 7672
 * §2.1): the resolver may have validated, but nothing protects the bit on its way here.
 */
export function adCaveat(response: Pick<DnsResponse, 'authenticated' | 'local' | 'server'>): string | undefined {
  if (!response.authenticated || response.local) return undefined;
  return `the AD bit (DNSSEC-validated) came from ${response.server}, not from a resolver on this host: it is only as trustworthy as the network path to that resolver (RFC 6698 §4.1, RFC 7672 §2.1)`;
}

/** Typed look-ups over our transport; failures (SERVFAIL, timeouts) throw DnsFailure (exit 3). */

export class Resolver {
  constructor(readonly transport: TransportOptions) {}

  async query(
    unicodeName: string,
    type: RecordType,
    want: AskOptions = {},
  ): Promise<Answer<DnsRecord> & { response: DnsResponse }> {
    const name = aLabels(unicodeName);
    // A name from DNS or a record (an SPF include:) that IDNA refuses is that name's problem, not the user's.
    if (name === undefined)
      throw new DnsFailure(
        { kind: 'not-a-name', name: unicodeName, type, server: undefined, rcode: undefined, ede: [] },
        `${type} ${notIdna(unicodeName)}`,
      );
    // A name too long for DNS (from a record, or a U-label that grew) is refused here, not by the encoder's throw.
    const tooLong = dnsNameProblem(name);
    if (tooLong)
      throw new DnsFailure(
        { kind: 'not-a-name', name, type, server: undefined, rcode: undefined, ede: [] },
        `${type} ${JSON.stringify(name)} is not a DNS name: ${tooLong}`,
      );
    let response: DnsResponse;
    try {
      response = await ask(name, type, this.transport, want);
    } catch (err) {
      if (err instanceof MalformedAnswer)
        throw new DnsFailure(
          { kind: 'malformed', name, type, server: err.server, rcode: undefined, ede: [] },
          err.message,
        );
      if (err instanceof SmtpkitError && err.errorClass === 'dns')
        throw new DnsFailure(
          { kind: 'no-answer', name, type, server: undefined, rcode: undefined, ede: [] },
          err.message,
        );
      throw err;
    }
    if (response.rcode !== 0 && response.rcode !== 3) {
      const rcode = RCODE_NAMES[response.rcode] ?? `rcode ${response.rcode}`;
      const why = response.ede.length
        ? describeEde(response.ede)
        : `${RCODE_WHY[response.rcode] ?? 'an error'}${response.rcode === 2 ? '; it gave no Extended DNS Error, so the cause is unknown: often broken DNSSEC or unreachable authoritative servers' : ''}`;
      throw new DnsFailure(
        { kind: 'rcode', name, type, server: response.server, rcode, ede: response.ede },
        `${type} ${name}: the resolver ${response.server} answered ${rcode} (${why})`,
      );
    }
    const wanted = response.answers.filter((r) => r.type === typeNumber(type));
    const cname = response.answers.find(
      (r) => r.type === 5 && String(r.name).toLowerCase() === name.toLowerCase().replace(/\.$/, ''),
    );
    return {
      response,
      records: wanted,
      ttl: wanted.length ? Math.min(...wanted.map((r) => Number(r.ttl))) : undefined,
      authenticated: response.authenticated,
      absent: wanted.length ? undefined : response.rcode === 3 ? 'NXDOMAIN' : 'NODATA',
      cname: cname ? String(cname.domain) : undefined,
    };
  }

  async mx(domain: string) {
    const a = await this.query(domain, 'MX');
    return {
      ...a,
      records: a.records.map((r) => ({
        preference: Number(r.priority),
        exchange: String(r.exchange),
        ttl: Number(r.ttl),
      })),
    };
  }

  async addresses(name: string): Promise<Array<{ family: 4 | 6; address: string; ttl: number }>> {
    const [v4, v6] = await Promise.all([this.query(name, 'A'), this.query(name, 'AAAA')]);
    return [
      ...v4.records.map((r) => ({ family: 4 as const, address: String(r.address), ttl: Number(r.ttl) })),
      ...v6.records.map((r) => ({ family: 6 as const, address: String(r.address), ttl: Number(r.ttl) })),
    ];
  }

  async txt(name: string) {
    const a = await this.query(name, 'TXT');
    return { ...a, records: a.records.map((r) => String(r.data)) };
  }

  /** Reverse names in master-file form: an octet no host name holds is shown as \\DDD, never decoded. */
  async ptr(address: string): Promise<string[]> {
    const a = await this.query(reverseName(address), 'PTR');
    return a.records.map((r) => presentationName(String(r.domain)));
  }

  /** Service records (RFC 2782), lowest priority first; a target of "." says the service is not offered. */
  async srv(name: string) {
    const a = await this.query(name, 'SRV');
    const records = a.records
      .map((r) => ({
        priority: Number(r.priority),
        weight: Number(r.weight),
        port: Number(r.port),
        target: String(r.target),
      }))
      .sort((x, y) => x.priority - y.priority || y.weight - x.weight);
    return { ...a, records };
  }

  async tlsa(name: string) {
    // DO bit: whether the records are DNSSEC-validated is the whole point (RFC 7672 §2.2).
    const a = await this.query(name, 'TLSA', { dnssec: true });
    return { ...a, records: a.records.map((r) => decodeTlsa(r.data as unknown as Buffer)) };
  }
}

export interface Tlsa {
  usage: number;
  selector: number;
  matchingType: number;
  data: string;
}

/** TLSA rdata (RFC 6698 §2.1): usage, selector, matching type, then the association data. */
export function decodeTlsa(data: Buffer): Tlsa {
  return {
    usage: data[0] ?? -1,
    selector: data[1] ?? -1,
    matchingType: data[2] ?? -1,
    data: data.subarray(3).toString('hex'),
  };
}

const typeNumber = (t: RecordType) => TYPE[t];

export function reverseName(address: string): string {
  if (isIP(address) === 4) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  const groups = address.split('::');
  const head = groups[0] ? groups[0].split(':') : [];
  const tail = groups[1] ? groups[1].split(':') : [];
  const full = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail]
    .map((g) => g.padStart(4, '0'))
    .join('');
  return `${[...full].reverse().join('.')}.ip6.arpa`;
}

/** `IP`, `IP:port`, `[IPv6]:port`. */
export function parseServer(spec: string): NameServer {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec);
  const [address, port] = bracket
    ? [bracket[1]!, bracket[2]]
    : isIP(spec)
      ? [spec, undefined]
      : [spec.slice(0, spec.lastIndexOf(':')), spec.slice(spec.lastIndexOf(':') + 1)];
  if (!isIP(address) || (port !== undefined && !(/^\d{1,5}$/.test(port) && +port >= 1 && +port <= 65535)))
    throw usageError(`--resolver ${JSON.stringify(spec)}: give an IP address, optionally with :port ([IPv6]:port)`);
  return { address, port: port ? Number(port) : 53 };
}

/** A DNS-over-HTTPS endpoint: an https URL, refused here rather than by the first question. */
export function dohUrl(spec: string, what: string): string {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw usageError(`${what} ${JSON.stringify(spec)}: give an https URL, e.g. https://dns.example/dns-query`);
  }
  if (url.protocol !== 'https:') throw usageError(`${what} ${JSON.stringify(spec)}: DNS-over-HTTPS needs an https URL`);
  return spec;
}

export function systemServers(): NameServer[] {
  return getServers().map(parseServer);
}
