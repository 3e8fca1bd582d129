import { declaredDefault, type OptionSpec } from '../declare.js';
import type { TransportOptions } from '../../dns/transport.js';
import { durationMs } from '../../util/duration.js';

/** The resolver group: which DNS servers to ask, and how (DNS code loads only when it is read). */

export interface ResolverFlags {
  resolver?: string[];
  tcp?: boolean;
  doh?: string;
  dnsTimeout?: string;
}

export function resolverOptions(): OptionSpec[] {
  return [
    {
      flags: '--resolver <ip[:port]>',
      help: 'DNS server to ask, repeatable, tried in turn (default: the system’s)',
      repeat: true,
    },
    { flags: '--tcp', help: 'ask over TCP' },
    { flags: '--doh <url>', help: 'ask over DNS-over-HTTPS (RFC 8484)' },
    { flags: '--dns-timeout <duration>', help: 'time limit for each DNS question', default: '5s' },
  ];
}

const DNS_TIMEOUT = declaredDefault(resolverOptions(), 'dns-timeout');

/** `ca`: the extra trusted CA (PEM) the command read from its --ca-file, for a DoH server. */
export async function resolverSpec(flags: ResolverFlags, ca: string | undefined): Promise<Readonly<TransportOptions>> {
  const { dohUrl, parseServer, systemServers } = await import('../../dns/resolver.js');
  return {
    servers: flags.resolver?.length ? flags.resolver.map(parseServer) : systemServers(),
    tcp: !!flags.tcp,
    doh: flags.doh === undefined ? undefined : dohUrl(flags.doh, '--doh'),
    timeoutMs: durationMs(flags.dnsTimeout ?? DNS_TIMEOUT, '--dns-timeout'),
    ca,
  };
}
