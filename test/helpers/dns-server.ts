import DNS from 'dns2';

const { Packet } = DNS;

/** A record in the test zone: the type name and its fields as dns2 encodes them. */
export type ZoneRecord = { type: 'A'; address: string } | { type: 'AAAA'; address: string } | { type: 'MX'; exchange: string; priority: number } | { type: 'TXT'; data: string } | { type: 'CNAME'; domain: string } | { type: 'PTR'; domain: string } | { type: 'TLSA'; data: Buffer } | FailRecord;

/** Not a record: questions for this name and type get this error, the name's other types answer as usual. */
export interface FailRecord {
  type: 'FAIL';
  of: 'A' | 'AAAA' | 'MX' | 'TXT' | 'PTR' | 'TLSA';
  rcode: 'SERVFAIL' | 'REFUSED';
}

export interface Zone {
  [name: string]: ZoneRecord[] | 'SERVFAIL' | 'REFUSED' | 'SILENT';
}

const TYPES: Record<string, number> = { A: 1, CNAME: 5, PTR: 12, MX: 15, TXT: 16, AAAA: 28, TLSA: 52 };

export interface DnsServer {
  port: number;
  /** How many questions came over each transport. */
  asked: { udp: number; tcp: number };
  /** The answer's AD bit: set to pretend the records were DNSSEC-validated. */
  authenticated: boolean;
  /** Each question's EDNS as asked: the OPT payload size and DO bit, or null without OPT. */
  edns: Array<{ name: string; type: number; payload: number; do: boolean } | null>;
  close(): Promise<void>;
}

/**
 * A dns2 server on 127.0.0.1, UDP and TCP on the same port, answering from `zone`:
 * unknown names get NXDOMAIN, known names without the type get NODATA, CNAMEs are
 * followed once, and answers over 512 bytes are truncated on UDP (so clients retry on TCP).
 */
export async function dnsServer(zone: Zone): Promise<DnsServer> {
  const state: DnsServer = { port: 0, asked: { udp: 0, tcp: 0 }, authenticated: false, edns: [], close: async () => {} };
  const handler = (transport: 'udp' | 'tcp') => (request: InstanceType<typeof Packet>, send: (p: InstanceType<typeof Packet>) => void) => {
    state.asked[transport]++;
    const response = Packet.createResponseFromRequest(request);
    const [q] = request.questions;
    const name = String(q?.name ?? '').toLowerCase();
    const entry = zone[name];
    const opt = (request.additionals ?? []).find((r) => r && r.type === 41) as unknown as { class: number; doFlag: boolean } | undefined;
    state.edns.push(opt ? { name, type: Number(q?.type), payload: opt.class, do: opt.doFlag } : null);
    const header = response.header as unknown as { rcode: number; ra: number; ad: number };
    header.ra = 1;
    if (entry === 'SILENT') return;
    if (entry === 'SERVFAIL' || entry === 'REFUSED') {
      header.rcode = entry === 'SERVFAIL' ? 2 : 5;
      return send(response);
    }
    if (!entry) {
      header.rcode = 3;
      return send(response);
    }
    const fail = entry.find((r): r is FailRecord => r.type === 'FAIL' && TYPES[r.of] === q?.type);
    if (fail) {
      header.rcode = fail.rcode === 'SERVFAIL' ? 2 : 5;
      return send(response);
    }
    const add = (owner: string, records: ZoneRecord[]) => {
      for (const r of records) {
        if (TYPES[r.type] !== q?.type && r.type !== 'CNAME') continue;
        const { type, ...fields } = r;
        // A TXT string holds at most 255 bytes: longer data (DKIM keys) goes as several strings, as real zones do.
        if (r.type === 'TXT' && r.data.length > 255) Object.assign(fields, { data: r.data.match(/[^]{1,255}/g) });
        response.answers.push({ name: owner, type: TYPES[type]!, class: Packet.CLASS.IN, ttl: 300, ...fields } as never);
        if (type === 'CNAME' && q?.type !== 5) {
          const target = zone[r.domain.toLowerCase()];
          if (Array.isArray(target)) add(r.domain, target);
        }
      }
    };
    add(name, entry);
    header.ad = state.authenticated ? 1 : 0;
    send(response);
  };
  // UDP picks a free port; TCP must get the same number, which another program may hold:
  // then both are closed and another port is tried, so no half-open server keeps the test alive.
  for (let attempt = 1; ; attempt++) {
    const udp = DNS.createUDPServer(handler('udp') as never);
    await udp.listen(0, '127.0.0.1');
    const port = (udp.address() as { port: number }).port;
    const tcp = DNS.createTCPServer(handler('tcp') as never);
    const listening = await new Promise<boolean>((resolve, reject) => {
      tcp.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' && attempt < 20 ? resolve(false) : reject(err)));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    }).catch((err: unknown) => {
      udp.close();
      throw err;
    });
    if (!listening) {
      udp.close();
      continue;
    }
    state.port = port;
    state.close = async () => {
      udp.close();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    };
    break;
  }
  return state;
}
