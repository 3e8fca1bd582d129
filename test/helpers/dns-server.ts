import DNS from 'dns2';

const { Packet } = DNS;

/**
 * A record in the test zone: the type name and its fields as dns2 encodes them. A TXT
 * record's data may be its character-strings, each a string or raw bytes (a Buffer).
 * TIMEOUT is no record: a question for a type the name has no records of gets SERVFAIL,
 * as from a resolver whose upstream timed out (the OpenSPF suite's TIMEOUT entries).
 */
export type ZoneRecord =
  | { type: 'A'; address: string }
  | { type: 'AAAA'; address: string }
  | { type: 'MX'; exchange: string; priority: number }
  | { type: 'TXT'; data: string | Buffer | Array<string | Buffer> }
  | { type: 'CNAME'; domain: string }
  | { type: 'PTR'; domain: string }
  | { type: 'TLSA'; data: Buffer }
  | { type: 'SRV'; priority: number; weight: number; port: number; target: string }
  | { type: 'NS'; ns: string }
  | { type: 'CAA'; flags: number; tag: string; value: string }
  | { type: 'TIMEOUT' }
  | FailRecord;

/** Not a record: questions for this name and type get this error, the name's other types answer as usual. */
export interface FailRecord {
  type: 'FAIL';
  of: 'A' | 'AAAA' | 'MX' | 'TXT' | 'PTR' | 'TLSA';
  rcode: 'SERVFAIL' | 'REFUSED';
  /** An Extended DNS Error (RFC 8914) in the answer's OPT record, as a validating resolver gives one (6: DNSSEC Bogus). */
  ede?: { code: number; text?: string };
}

/**
 * Named faults: the zone's true answer, spoiled on its way out, over UDP and TCP alike.
 * pointerLoop: the first answer's name is a label and a compression pointer back to itself;
 * cutMidRecord: the message ends in the middle of the first answer's data;
 * tcAlways: no records and the TC bit, over UDP and over TCP;
 * countMismatch: the header counts one answer fewer than the message holds;
 * wrongQuestion: the question echoed is not the one asked (one letter changed);
 * badRdata: the first answer's data loses its last byte (and its length says so);
 * rdlengthOverrun: the first answer's data length claims 100 bytes more than the message has.
 */
export type DnsFault =
  'pointerLoop' | 'cutMidRecord' | 'tcAlways' | 'countMismatch' | 'wrongQuestion' | 'badRdata' | 'rdlengthOverrun';

export interface Zone {
  /** `fault` spoils the answers to questions of type `only` (every type when absent). */
  [name: string]:
    | ZoneRecord[]
    | 'SERVFAIL'
    | 'REFUSED'
    | 'SILENT'
    | { fault: DnsFault; only?: ZoneRecord['type']; records: ZoneRecord[] };
}

const TYPES: Record<string, number> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  TLSA: 52,
  CAA: 257,
};

export interface DnsServer {
  port: number;
  /** How many questions came over each transport. */
  asked: { udp: number; tcp: number };
  /** The answer's AD bit: set to pretend the records were DNSSEC-validated. */
  authenticated: boolean;
  /** Each answer waits this long before it is sent: a slow but working DNS. */
  delayMs: number;
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
  const state: DnsServer = {
    port: 0,
    asked: { udp: 0, tcp: 0 },
    authenticated: false,
    delayMs: 0,
    edns: [],
    close: async () => {},
  };
  const handler =
    (transport: 'udp' | 'tcp') =>
    (request: InstanceType<typeof Packet>, sendNow: (p: InstanceType<typeof Packet>) => void) => {
      const send = (p: InstanceType<typeof Packet>) =>
        state.delayMs ? void setTimeout(() => sendNow(p), state.delayMs) : sendNow(p);
      state.asked[transport]++;
      const response = Packet.createResponseFromRequest(request);
      const [q] = request.questions;
      const name = String(q?.name ?? '').toLowerCase();
      const listed = zone[name];
      const faulty = listed && typeof listed === 'object' && !Array.isArray(listed) ? listed : undefined;
      const entry = faulty ? faulty.records : (listed as Exclude<typeof listed, { fault: DnsFault }>);
      const fault = faulty && (!faulty.only || TYPES[faulty.only] === q?.type) ? faulty.fault : undefined;
      const opt = (request.additionals ?? []).find((r) => r && r.type === 41) as unknown as
        { class: number; doFlag: boolean } | undefined;
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
        if (fail.ede) return (send as unknown as (b: Buffer) => void)(withEde(response.toBuffer(), fail.ede));
        return send(response);
      }
      // CNAME chains are followed; a loop ends the chain (the records so far are the answer).
      const seen = new Set<string>();
      const add = (owner: string, records: ZoneRecord[]) => {
        seen.add(owner.toLowerCase().replace(/\.$/, ''));
        for (const r of records) {
          if (r.type === 'TIMEOUT' || (TYPES[r.type] !== q?.type && r.type !== 'CNAME')) continue;
          const { type, ...fields } = r;
          // A TXT string holds at most 255 bytes: longer data (DKIM keys) goes as several strings, as real zones do.
          if (r.type === 'TXT' && typeof r.data === 'string' && r.data.length > 255)
            Object.assign(fields, { data: r.data.match(/[^]{1,255}/g) });
          response.answers.push({
            name: owner,
            type: TYPES[type]!,
            class: Packet.CLASS.IN,
            ttl: 300,
            ...fields,
          } as never);
          if (r.type === 'CNAME' && q?.type !== 5) {
            const next = r.domain.toLowerCase().replace(/\.$/, '');
            const target = zone[next];
            if (Array.isArray(target) && !seen.has(next)) add(next, target);
          }
        }
      };
      add(name, entry);
      if (!response.answers.length && entry.some((r) => r.type === 'TIMEOUT')) {
        header.rcode = 2;
        return send(response);
      }
      header.ad = state.authenticated ? 1 : 0;
      if (fault) return (send as unknown as (b: Buffer) => void)(spoil(fault, response.toBuffer()));
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
      tcp.once('error', (err: NodeJS.ErrnoException) =>
        err.code === 'EADDRINUSE' && attempt < 20 ? resolve(false) : reject(err),
      );
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

/** Where a name in `buf` starting at `p` ends (labels, then a zero or a pointer). */
function skipName(buf: Buffer, p: number): number {
  while (buf[p] !== 0) {
    if ((buf[p]! & 0xc0) === 0xc0) return p + 2;
    p += 1 + buf[p]!;
  }
  return p + 1;
}

/** The answer with an OPT record (RFC 6891) holding one Extended DNS Error option (RFC 8914, code 15). */
export function withEde(wire: Buffer, ede: { code: number; text?: string }): Buffer {
  const text = Buffer.from(ede.text ?? '', 'utf8');
  const option = Buffer.alloc(6 + text.length);
  option.writeUInt16BE(15, 0);
  option.writeUInt16BE(2 + text.length, 2);
  option.writeUInt16BE(ede.code, 4);
  text.copy(option, 6);
  const opt = Buffer.alloc(11);
  opt.writeUInt16BE(41, 1); // type OPT, owner the root (the leading zero)
  opt.writeUInt16BE(1232, 3); // UDP payload size
  opt.writeUInt16BE(option.length, 9);
  const out = Buffer.concat([wire, opt, option]);
  out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
  return out;
}

/** A well-formed answer (one question) turned into the named fault. */
export function spoil(fault: DnsFault, wire: Buffer): Buffer {
  const buf = Buffer.from(wire);
  const questionEnd = skipName(buf, 12) + 4;
  if (fault === 'tcAlways') {
    const head = buf.subarray(0, questionEnd);
    head.writeUInt16BE(head.readUInt16BE(2) | 0x0200, 2);
    head.fill(0, 6, 12);
    return head;
  }
  if (fault === 'wrongQuestion') {
    buf[13] = buf[13] === 0x78 ? 0x79 : 0x78;
    return buf;
  }
  const answers = buf.readUInt16BE(6);
  if (!answers) throw new Error(`dns-server: the fault ${fault} needs at least one answer record`);
  const ownerEnd = skipName(buf, questionEnd);
  const rdlength = buf.readUInt16BE(ownerEnd + 8);
  const rdata = ownerEnd + 10;
  switch (fault) {
    case 'pointerLoop':
      return Buffer.concat([
        buf.subarray(0, questionEnd),
        Buffer.from([1, 0x78, 0xc0 | (questionEnd >> 8), questionEnd & 0xff]),
        buf.subarray(ownerEnd),
      ]);
    case 'cutMidRecord':
      return buf.subarray(0, rdata + Math.floor(rdlength / 2));
    case 'countMismatch':
      buf.writeUInt16BE(answers - 1, 6);
      return buf;
    case 'badRdata':
      buf.writeUInt16BE(rdlength - 1, ownerEnd + 8);
      return Buffer.concat([buf.subarray(0, rdata + rdlength - 1), buf.subarray(rdata + rdlength)]);
    case 'rdlengthOverrun':
      buf.writeUInt16BE(rdlength + 100, ownerEnd + 8);
      return buf;
  }
}

/**
 * Named faults of a DNS-over-HTTPS endpoint (RFC 8484), beside the answers it spoils:
 * endlessBody: 200 application/dns-message, then a body that never ends (1 MiB writes for as
 * long as the client reads: memory is what it attacks);
 * hugeDeclared: a Content-Length of 100 MB, and then the start of the body, never the rest.
 */
export type DohFault = 'endlessBody' | 'hugeDeclared';

/** An HTTPS endpoint on 127.0.0.1 (the test certificate) that answers every question with `fault`. */
export async function dohServer(
  fault: DohFault,
  tls: { key: string | Buffer; cert: string | Buffer },
): Promise<{ url: string; close(): Promise<void> }> {
  const https = await import('node:https');
  const server = https.createServer(tls, (req, res) => {
    req.resume();
    req.on('end', () => {
      if (fault === 'hugeDeclared') {
        res.writeHead(200, { 'content-type': 'application/dns-message', 'content-length': 100_000_000 });
        res.write(Buffer.alloc(1024));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/dns-message' });
      const chunk = Buffer.alloc(1024 * 1024);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}/dns-query`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
