import { DnsFailure } from '../../dns/resolver.js';
import { namesThisHost, thisHostReason } from '../../util/this-host.js';
import type { ServiceEndpoint } from '../../mailbox/conversation.js';
import type { AuditContext } from '../context.js';
import { NotTested } from '../not-tested.js';

/** The services of RFC 6186 and RFC 8314: their SRV names and IANA ports; implicit TLS or by command. */
export const SERVICES = {
  submission: { srv: '_submission._tcp', port: 587, implicitTls: false },
  submissions: { srv: '_submissions._tcp', port: 465, implicitTls: true },
  imap: { srv: '_imap._tcp', port: 143, implicitTls: false },
  imaps: { srv: '_imaps._tcp', port: 993, implicitTls: true },
  pop3: { srv: '_pop3._tcp', port: 110, implicitTls: false },
  pop3s: { srv: '_pop3s._tcp', port: 995, implicitTls: true },
} as const;
export type ServiceName = keyof typeof SERVICES;

/** Targets of one SRV name probed, at most (a zone listing hundreds must not turn the audit into a scan). */
const MAX_SRV_TARGETS = 4;

export interface FoundService {
  service: ServiceName;
  endpoint: ServiceEndpoint;
  /** srv: the domain names it (RFC 6186); mx: the IANA port of an MX host, tried because no SRV record says otherwise. */
  via: 'srv' | 'mx';
}

export interface Discovery {
  found: FoundService[];
  /** SRV says "not offered" (target "."), as RFC 6186 §3 allows. */
  notOffered: ServiceName[];
  /** What the look-ups said, for evidence; an SRV target without address, a failed look-up. */
  notes: string[];
  /** Why no MX host was tried, when none was. */
  noMx: string | undefined;
}

/**
 * Where the domain's services are: the SRV records of each, else the IANA port on each MX
 * host (its first address: once per host is polite enough). Look-ups go through the audit's
 * resolver. `ctx.options.servicePorts` moves the IANA ports (tests; a lab publishes SRV).
 */
export async function findServices(ctx: AuditContext, services: readonly ServiceName[]): Promise<Discovery> {
  const d: Discovery = { found: [], notOffered: [], notes: [], noMx: undefined };
  let hosts: Array<{ host: string; address: string }> | undefined;
  const mxHosts = async () => {
    if (hosts) return hosts;
    try {
      hosts = (await ctx.mailHosts()).flatMap((h) =>
        h.addresses.length ? [{ host: h.exchange, address: h.addresses[0]!.address }] : [],
      );
    } catch (err) {
      if (!(err instanceof NotTested)) throw err;
      d.noMx = err.message;
      hosts = [];
    }
    return hosts;
  };
  for (const service of services) {
    const { srv, port, implicitTls } = SERVICES[service];
    const name = `${srv}.${ctx.domain}`;
    let records: Array<{ port: number; target: string }> = [];
    try {
      records = (await ctx.options.resolver.srv(name)).records;
    } catch (err) {
      if (!(err instanceof DnsFailure)) throw err;
      d.notes.push(`SRV ${name}: ${err.short}; the MX hosts' port ${port} tried instead`);
    }
    const targets = records.map((r) => ({ ...r, target: r.target.replace(/\.$/, '') }));
    if (targets.length === 1 && targets[0]!.target === '') {
      d.notOffered.push(service);
      d.notes.push(`SRV ${name}: "." (not offered, RFC 6186 §3)`);
      continue;
    }
    if (targets.length) {
      for (const t of targets.filter((x) => x.target).slice(0, MAX_SRV_TARGETS)) {
        d.notes.push(`SRV ${name}: ${t.target}:${t.port}`);
        let addresses: string[] = [];
        try {
          addresses = (await ctx.options.resolver.addresses(t.target)).map((a) => a.address);
        } catch (err) {
          if (!(err instanceof DnsFailure)) throw err;
        }
        const address = addresses.find((a) => !namesThisHost(a));
        if (!address && addresses.length)
          d.notes.push(`SRV target ${t.target}: ${thisHostReason(addresses)}: not probed`);
        else if (!address) d.notes.push(`SRV target ${t.target} has no address: not probed`);
        else d.found.push({ service, via: 'srv', endpoint: { host: t.target, address, port: t.port, implicitTls } });
      }
      continue;
    }
    const moved = ctx.options.servicePorts?.[service] ?? port;
    for (const h of await mxHosts())
      d.found.push({ service, via: 'mx', endpoint: { host: h.host, address: h.address, port: moved, implicitTls } });
  }
  return d;
}

/** `fn` over `items`, `limit` at once, results in input order. */
export async function eachLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** One wait of a conversation: the audit's per-wait limit, never past its deadline. */
export const waitFor = (ctx: AuditContext) => Math.min(ctx.options.waitMs, ctx.remainingMs());

/** "mail.test:143 (127.0.0.1)": how findings name a service endpoint. */
export const endpointSubject = (s: FoundService) =>
  `${s.service} ${s.endpoint.host}:${s.endpoint.port} (${s.endpoint.address})${s.via === 'srv' ? ' via SRV' : ''}`;

/** Closed ports, one verdict line per host: "110, 143, 993, 995 closed". */
export function closedByHost(closed: FoundService[]): Map<string, FoundService[]> {
  const byHost = new Map<string, FoundService[]>();
  for (const s of closed) {
    const key = `${s.endpoint.host} (${s.endpoint.address})`;
    byHost.set(key, [...(byHost.get(key) ?? []), s]);
  }
  return byHost;
}
