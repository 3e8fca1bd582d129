import { DnsFailure, type Resolver } from '../dns/resolver.js';
import type { ClientAddress } from './address.js';

/** A look-up that failed (SERVFAIL, timeout): a temperror, not "no record" (RFC 7208 §2.6.6). */
export class SpfLookupError extends Error {
  constructor(
    message: string,
    /** No DNS server answered at all: the check could not ask DNS (exit 3), as opposed to DNS saying it failed. */
    readonly unreachable: boolean,
  ) {
    super(message);
  }
}

/**
 * What check_host() asks of DNS. Each look-up gives the records, an empty list for
 * NXDOMAIN or no records of the type (a void look-up), or throws SpfLookupError.
 */
export interface SpfDns {
  /** TXT records, each record's strings joined with nothing between (RFC 7208 §3.3). */
  txt(name: string): Promise<string[]>;
  /** A (4) or AAAA (6) addresses of a name. */
  addresses(name: string, family: 4 | 6): Promise<string[]>;
  /** The exchanges of the MX records. */
  mx(name: string): Promise<string[]>;
  /** The names in the PTR records of the address's reverse name. */
  ptr(address: ClientAddress): Promise<string[]>;
}

/** The SPF port over smtpkit's resolver (its transport, timeouts and --resolver choices). */
export function resolverPort(resolver: Resolver): SpfDns {
  const guard = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof DnsFailure)) throw err;
      // A failure with no server and no rcode: nobody answered (or no resolver is configured).
      throw new SpfLookupError(err.message, err.info.server === undefined && err.info.rcode === undefined);
    }
  };
  return {
    txt: (name) => guard(async () => (await resolver.txt(name)).records),
    addresses: (name, family) =>
      guard(async () =>
        (await resolver.query(name, family === 4 ? 'A' : 'AAAA')).records.map((r) => String(r.address)),
      ),
    mx: (name) => guard(async () => (await resolver.mx(name)).records.map((r) => r.exchange)),
    ptr: (address) => guard(() => resolver.ptr(address.text)),
  };
}
