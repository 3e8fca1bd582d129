import dgram from 'node:dgram';
import https from 'node:https';
import net from 'node:net';
import { rootCertificates } from 'node:tls';
import DNS from 'dns2';
import { SmtpkitError } from '../errors.js';
import { checkAnswer, typeName, type Asked } from './message-check.js';
import { ByteQueue } from '../util/byte-queue.js';
import { describeTimeout } from '../util/duration.js';

const { Packet } = DNS;
export type DnsPacket = InstanceType<typeof Packet>;
export type DnsRecord = DnsPacket['answers'][number] & Record<string, unknown>;

// dns2 has no TLSA in its table (notes: asking for 'TLSA' sends type 0); we use numbers.
export const TYPE = { A: 1, NS: 2, CNAME: 5, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, TLSA: 52, CAA: 257 } as const;
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

/** An Extended DNS Error (RFC 8914): why a resolver failed, when it says. */
export interface Ede {
  code: number;
  /** The registered name ("DNSSEC Bogus"), or "EDE <code>". */
  text: string;
  /** The resolver's own words, if any (bounded). */
  extra: string;
}

export interface DnsResponse {
  rcode: number;
  /** The resolver says it validated the answer with DNSSEC (AD bit). */
  authenticated: boolean;
  answers: DnsRecord[];
  server: string;
  /** The resolver is on this host (loopback), so its AD bit did not cross a network. */
  local: boolean;
  ede: Ede[];
}

const dnsError = (message: string) => new SmtpkitError('dns', message, 'dns');

/** RFC 8914 §4 and the IANA registry. */
const EDE_NAMES = [
  'Other Error',
  'Unsupported DNSKEY Algorithm',
  'Unsupported DS Digest Type',
  'Stale Answer',
  'Forged Answer',
  'DNSSEC Indeterminate',
  'DNSSEC Bogus',
  'Signature Expired',
  'Signature Not Yet Valid',
  'DNSKEY Missing',
  'RRSIGs Missing',
  'No Zone Key Bit Set',
  'NSEC Missing',
  'Cached Error',
  'Not Ready',
  'Blocked',
  'Censored',
  'Filtered',
  'Prohibited',
  'Stale NXDOMAIN Answer',
  'Not Authoritative',
  'Not Supported',
  'No Reachable Authority',
  'Network Error',
  'Invalid Data',
  'Signature Expired before Valid',
  'Too Early',
  'Unsupported NSEC3 Iterations Value',
  'Unable to conform to policy',
  'Synthesized',
  'Invalid Query Type',
];
const EDE_OPTION = 15;
const EDE_EXTRA_LIMIT = 300;
// dns2 skips EDNS options it has no decoder for; teach it EDE (option 15) once.
{
  const edns = Packet.Resource.EDNS as unknown as Record<string, unknown>;
  (Packet.EDNS_OPTION_CODE as Record<string, number>).EDE = EDE_OPTION;
  edns.EDE = {
    decode(reader: { read(bits: number): number }, length: number) {
      const code = length >= 2 ? reader.read(16) : -1;
      const bytes: number[] = [];
      for (let i = 2; i < length; i++) bytes.push(reader.read(8));
      return { ednsCode: EDE_OPTION, code, extra: Buffer.from(bytes.slice(0, EDE_EXTRA_LIMIT)).toString('utf8') };
    },
  };
}

/** The EDNS payload we offer (the 2020 DNS flag day's value: fits unfragmented). */
export const EDNS_PAYLOAD = 1232;

export interface AskOptions {
  /** Set the DO bit: the DNSSEC status of the answer matters (TLSA). */
  dnssec?: boolean;
}

/**
 * One question, asked of the name servers in turn: UDP first, TCP when the answer is
 * truncated (or with `tcp`), or DoH. Every wait has the timeout; dns2's own clients
 * lack one on TCP and DoH, so the transports are ours and dns2 only encodes and decodes
 * what checkAnswer has walked first.
 *
 * Any answer is final, SERVFAIL included: a validating resolver's SERVFAIL is often its
 * verdict that the data is forged, and asking a second, perhaps non-validating, server
 * would take the forgery. A malformed answer is final too, and a failure (never "no
 * records"). Only silence, an unreachable server or REFUSED moves on.
 */
export async function ask(
  name: string,
  type: RecordType,
  opts: TransportOptions,
  want: AskOptions = {},
): Promise<DnsResponse> {
  const query = new Packet();
  query.header.id = Packet.uuid();
  query.header.rd = 1;
  // RFC 6840 §5.7: AD in a query asks the resolver to say whether it validated.
  (query.header as unknown as { ad: number }).ad = 1;
  query.questions.push({ name, type: TYPE[type], class: Packet.CLASS.IN } as DnsPacket['questions'][number]);
  // EDNS (RFC 6891): larger UDP answers, and room for Extended DNS Errors (RFC 8914).
  const opt = Packet.Resource.EDNS as unknown as (
    rdata: object[],
    o: { udpPayloadSize: number; doFlag: boolean },
  ) => DnsPacket['additionals'][number];
  query.additionals.push(opt([], { udpPayloadSize: EDNS_PAYLOAD, doFlag: !!want.dnssec }));
  const wire = query.toBuffer();
  const asked: Asked = { id: query.header.id, name, type: TYPE[type], class: Packet.CLASS.IN };
  const what = `${type} ${name}`;

  if (opts.doh)
    return response(judgeOrThrow(await viaDoh(wire, opts, what), asked, false, what, opts.doh), opts.doh, false);
  if (!opts.servers.length) throw dnsError('no DNS resolver is configured (use --resolver)');
  const failures: string[] = [];
  let malformedSeen = false;
  for (const server of opts.servers) {
    const label = net.isIPv6(server.address)
      ? `[${server.address}]:${server.port}`
      : `${server.address}:${server.port}`;
    const local = isLoopback(server.address);
    let answer: Judged;
    try {
      answer = opts.tcp
        ? judgeOrThrow(await viaTcp(wire, server, opts.timeoutMs), asked, false, what, label)
        : await viaUdp(wire, asked, server, opts.timeoutMs, what, label);
      if (answer.truncated)
        answer = judgeOrThrow(await viaTcp(wire, server, opts.timeoutMs), asked, false, what, label);
    } catch (err) {
      if (err instanceof MalformedAnswer && !(err instanceof IgnoredAnswers)) throw err;
      if (err instanceof IgnoredAnswers) malformedSeen = true;
      failures.push(`${label}: ${(err as Error).message}`);
      continue;
    }
    if (answer.packet.header.rcode === 5 && server !== opts.servers.at(-1)) {
      failures.push(`${label}: REFUSED`);
      continue;
    }
    return response(answer, label, local);
  }
  const message = `no DNS server answered ${what}: ${failures.join('; ')}`;
  throw malformedSeen ? new MalformedAnswer(message, undefined) : dnsError(message);
}

export function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || /^::ffff:127\./i.test(address);
}

function response({ packet }: Judged, server: string, local: boolean): DnsResponse {
  const header = packet.header as unknown as { rcode: number; ad: number };
  const opt = packet.additionals.find((r) => r.type === TYPE_OPT) as
    { rdata?: Array<{ ednsCode?: number; code?: number; extra?: string }> } | undefined;
  const ede = (opt?.rdata ?? [])
    .filter((o) => o.ednsCode === EDE_OPTION)
    .map((o) => ({ code: o.code ?? -1, text: EDE_NAMES[o.code ?? -1] ?? `EDE ${o.code}`, extra: o.extra ?? '' }));
  return {
    rcode: header.rcode,
    authenticated: header.ad === 1,
    answers: packet.answers as DnsRecord[],
    server,
    local,
    ede,
  };
}

const TYPE_OPT = 41;

interface Judged {
  packet: DnsPacket;
  truncated: boolean;
}

/** A checked answer decoded, or why it cannot be believed (foreign: it answers another question). */
function judge(
  buffer: Buffer,
  asked: Asked,
  truncationAllowed: boolean,
): Judged | { foreign: boolean; problem: string } {
  const verdict = checkAnswer(buffer, asked, truncationAllowed);
  if (!verdict.ok) return verdict;
  const packet = new Packet();
  packet.header = Packet.Header.parse(buffer);
  packet.questions = [Packet.Question.parse(new Packet.Reader(buffer, HEADER_BITS))];
  if (verdict.truncated) return { packet, truncated: true };
  const sections = { answer: packet.answers, authority: packet.authorities, additional: packet.additionals };
  for (const span of verdict.records) {
    // Each record decoded where the walk found it, and it must use exactly its bytes:
    // dns2 reads some types without looking at the data length.
    const reader = new Packet.Reader(buffer, span.start * 8);
    const where = `${span.section} record ${span.index} (${typeName(span.type)})`;
    try {
      sections[span.section].push(Packet.Resource.parse(reader));
    } catch (err) {
      return { foreign: false, problem: `${where} could not be decoded: ${(err as Error).message}` };
    }
    if (reader.offset !== span.end * 8)
      return { foreign: false, problem: `${where} could not be decoded: its data is not what its type holds` };
  }
  // RFC 6891 §6.1.3: with OPT the RCODE has 12 bits, the high 8 in the OPT record's TTL.
  const optRecord = packet.additionals.find((r) => r.type === TYPE_OPT) as { extendedRcode?: number } | undefined;
  if (optRecord?.extendedRcode) packet.header.rcode = (optRecord.extendedRcode << 4) | (packet.header.rcode & 0xf);
  return { packet, truncated: false };
}

const HEADER_BITS = 96;

/** Over TCP and HTTPS the answer is the server's only word: anything wrong with it is malformed. */
function judgeOrThrow(buffer: Buffer, asked: Asked, truncationAllowed: boolean, what: string, server: string): Judged {
  const j = judge(buffer, asked, truncationAllowed);
  if ('problem' in j) throw malformed(what, server, j.problem);
  return j;
}

/** An answer that cannot be believed: a DNS failure (exit 3), never "no records". */
export class MalformedAnswer extends SmtpkitError {
  constructor(
    message: string,
    readonly server: string | undefined,
  ) {
    super('dns', message, 'dns', { kind: 'malformed' });
  }
}

const malformed = (what: string, server: string, problem: string) =>
  new MalformedAnswer(`${what}: the answer from ${server} is malformed: ${problem}`, server);

/** Only datagrams answering another question came, and the wait ran out: like silence, the next server is asked. */
class IgnoredAnswers extends MalformedAnswer {}

function viaUdp(
  wire: Buffer,
  asked: Asked,
  server: NameServer,
  timeoutMs: number,
  what: string,
  label: string,
): Promise<Judged> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(server.address) ? 'udp6' : 'udp4');
    let ignored: string | undefined;
    const done = (err: Error | undefined, answer?: Judged) => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(answer!);
    };
    const timer = setTimeout(() => {
      const wait = `no answer within ${describeTimeout(timeoutMs)}`;
      done(
        ignored
          ? new IgnoredAnswers(`${wait}; the only answer was not to our question, so it was ignored: ${ignored}`, label)
          : new Error(wait),
      );
    }, timeoutMs);
    socket.on('error', (err) => done(err));
    socket.on('message', (data, from) => {
      // Only the answer to our question, from the server we asked, ends the wait;
      // stray or spoofed datagrams (another ID, another question) are ignored.
      if (from.port !== server.port || from.address !== server.address) return;
      const j = judge(data, asked, true);
      if (!('problem' in j)) done(undefined, j);
      else if (!j.foreign) done(malformed(what, label, j.problem));
      else if (!/wrong ID/.test(j.problem)) ignored = j.problem;
    });
    socket.send(wire, server.port, server.address, (err) => err && done(err));
  });
}

function viaTcp(wire: Buffer, server: NameServer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: server.address, port: server.port });
    // Joined only when the whole message is in: a server dripping 64 KiB a byte at a time
    // otherwise made every byte a copy of all before it (about 2 GB).
    const received = new ByteQueue();
    const done = (err: Error | undefined, data?: Buffer) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(data!);
    };
    const timer = setTimeout(
      () => done(new Error(`no answer over TCP within ${describeTimeout(timeoutMs)}`)),
      timeoutMs,
    );
    socket.on('error', (err) => done(err));
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(wire.length);
      socket.write(Buffer.concat([length, wire]));
    });
    let expected = Infinity;
    socket.on('data', (chunk) => {
      received.append(chunk);
      if (expected === Infinity && received.length >= 2) expected = 2 + received.peek(2).readUInt16BE(0);
      if (received.length >= expected) done(undefined, received.take(expected).subarray(2));
    });
    socket.on('end', () => done(new Error('the server closed the TCP connection before answering')));
  });
}

/** No DNS message is longer (RFC 1035 §4.2.2's 16-bit length; RFC 8484 §6): more is no answer. */
const DNS_MESSAGE_MAX = 65_535;

function viaDoh(wire: Buffer, opts: TransportOptions, what: string): Promise<Buffer> {
  const url = new URL(opts.doh!);
  const tooLong = (size: string) =>
    malformed(what, opts.doh!, `${size}, longer than any DNS message can be (${DNS_MESSAGE_MAX} bytes)`);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/dns-message',
          accept: 'application/dns-message',
          'content-length': wire.length,
        },
        ca: opts.ca ? [...rootCertificates, opts.ca] : undefined,
        timeout: opts.timeoutMs,
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(dnsError(`the DoH server answered HTTP ${res.statusCode}`));
          return;
        }
        // A server that streams without end must not fill our memory: read at most one message's worth.
        const declared = Number(res.headers['content-length']);
        if (declared > DNS_MESSAGE_MAX) return void req.destroy(tooLong(`the body is declared as ${declared} bytes`));
        const parts: Buffer[] = [];
        let size = 0;
        res.on('data', (d: Buffer) => {
          size += d.length;
          if (size > DNS_MESSAGE_MAX)
            return void req.destroy(tooLong(`the body goes on past ${DNS_MESSAGE_MAX} bytes`));
          parts.push(d);
        });
        res.on('end', () => resolve(Buffer.concat(parts)));
      },
    );
    const timer = setTimeout(
      () => req.destroy(dnsError(`the DoH server did not answer within ${describeTimeout(opts.timeoutMs)}`)),
      opts.timeoutMs,
    );
    req.on('error', (err) =>
      reject(err instanceof SmtpkitError ? err : dnsError(`DoH request failed: ${err.message}`)),
    );
    req.on('close', () => clearTimeout(timer));
    req.end(wire);
  });
}
