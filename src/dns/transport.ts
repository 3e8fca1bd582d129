import dgram from 'node:dgram';
import https from 'node:https';
import net from 'node:net';
import { rootCertificates } from 'node:tls';
import DNS from 'dns2';
import { SmtpkitError } from '../errors.js';
import { describeTimeout } from '../util/duration.js';

const { Packet } = DNS;
export type DnsPacket = InstanceType<typeof Packet>;
export type DnsRecord = DnsPacket['answers'][number] & Record<string, unknown>;

// dns2 has no TLSA in its table (notes: asking for 'TLSA' sends type 0); we use numbers.
export const TYPE = { A: 1, CNAME: 5, PTR: 12, MX: 15, TXT: 16, AAAA: 28, TLSA: 52 } as const;
export type RecordType = keyof typeof TYPE;

export interface NameServer {
  address: string;
  port: number;
}

export interface TransportOptions {
  servers: NameServer[];
  tcp: boolean;
  /** DNS over HTTPS (RFC 8484) endpoint; replaces the servers when set. */
  doh: string | undefined;
  timeoutMs: number;
  /** Extra CA (PEM) for a DoH endpoint with a private certificate. */
  ca: string | undefined;
}

export interface DnsResponse {
  rcode: number;
  /** The resolver says it validated the answer with DNSSEC (AD bit). */
  authenticated: boolean;
  answers: DnsRecord[];
  server: string;
}

const dnsError = (message: string) => new SmtpkitError('dns', message, 'dns');

/**
 * One question, asked of each name server in turn until one answers: UDP first, TCP when
 * the answer is truncated (or with `tcp`), or DoH. Every wait has the timeout; dns2's own
 * clients lack one on TCP and DoH, so the transports are ours and dns2 only encodes.
 */
export async function ask(name: string, type: RecordType, opts: TransportOptions): Promise<DnsResponse> {
  const query = new Packet();
  query.header.id = Packet.uuid();
  query.header.rd = 1;
  // RFC 6840 §5.7: AD in a query asks the resolver to say whether it validated.
  (query.header as unknown as { ad: number }).ad = 1;
  query.questions.push({ name, type: TYPE[type], class: Packet.CLASS.IN } as DnsPacket['questions'][number]);
  const wire = query.toBuffer();

  if (opts.doh) return parse(await viaDoh(wire, opts), opts.doh, query);
  if (!opts.servers.length) throw dnsError('no DNS resolver is configured (use --resolver)');
  const failures: string[] = [];
  for (const server of opts.servers) {
    const label = net.isIPv6(server.address) ? `[${server.address}]:${server.port}` : `${server.address}:${server.port}`;
    try {
      let response = parse(opts.tcp ? await viaTcp(wire, server, opts.timeoutMs) : await viaUdp(wire, server, opts.timeoutMs), label, query);
      if (response.truncated) response = parse(await viaTcp(wire, server, opts.timeoutMs), label, query);
      if (response.rcode === 2 && server !== opts.servers.at(-1)) {
        failures.push(`${label}: SERVFAIL`);
        continue;
      }
      return response;
    } catch (err) {
      failures.push(`${label}: ${(err as Error).message}`);
    }
  }
  throw dnsError(`no DNS server answered ${type} ${name}: ${failures.join('; ')}`);
}

function parse(buffer: Buffer, server: string, query: DnsPacket): DnsResponse & { truncated: boolean } {
  let packet: DnsPacket;
  try {
    packet = Packet.parse(buffer);
  } catch {
    throw new Error('malformed DNS answer');
  }
  const header = packet.header as unknown as { id: number; rcode: number; tc: number; ad: number; qr: number };
  if (header.id !== query.header.id) throw new Error('answer with the wrong id');
  return {
    rcode: header.rcode,
    authenticated: header.ad === 1,
    truncated: header.tc === 1,
    answers: packet.answers.filter(Boolean) as DnsRecord[],
    server,
  };
}

function viaUdp(wire: Buffer, server: NameServer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(server.address) ? 'udp6' : 'udp4');
    const done = (err: Error | undefined, data?: Buffer) => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(data!);
    };
    const timer = setTimeout(() => done(new Error(`no answer within ${describeTimeout(timeoutMs)}`)), timeoutMs);
    socket.on('error', (err) => done(err));
    socket.on('message', (data) => {
      // Only the answer to our question ends the wait; stray datagrams are ignored.
      if (data.length >= 2 && data.readUInt16BE(0) === wire.readUInt16BE(0)) done(undefined, data);
    });
    socket.send(wire, server.port, server.address, (err) => err && done(err));
  });
}

function viaTcp(wire: Buffer, server: NameServer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: server.address, port: server.port });
    let received = Buffer.alloc(0);
    const done = (err: Error | undefined, data?: Buffer) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(data!);
    };
    const timer = setTimeout(() => done(new Error(`no answer over TCP within ${describeTimeout(timeoutMs)}`)), timeoutMs);
    socket.on('error', (err) => done(err));
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(wire.length);
      socket.write(Buffer.concat([length, wire]));
    });
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) done(undefined, received.subarray(2, 2 + received.readUInt16BE(0)));
    });
    socket.on('end', () => done(new Error('the server closed the TCP connection before answering')));
  });
}

function viaDoh(wire: Buffer, opts: TransportOptions): Promise<Buffer> {
  const url = new URL(opts.doh!);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/dns-message', accept: 'application/dns-message', 'content-length': wire.length },
        ca: opts.ca ? [...rootCertificates, opts.ca] : undefined,
        timeout: opts.timeoutMs,
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(dnsError(`the DoH server answered HTTP ${res.statusCode}`));
          return;
        }
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve(Buffer.concat(parts)));
      },
    );
    const timer = setTimeout(() => req.destroy(dnsError(`the DoH server did not answer within ${describeTimeout(opts.timeoutMs)}`)), opts.timeoutMs);
    req.on('error', (err) => reject(err instanceof SmtpkitError ? err : dnsError(`DoH request failed: ${err.message}`)));
    req.on('close', () => clearTimeout(timer));
    req.end(wire);
  });
}
