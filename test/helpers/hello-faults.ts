import type net from 'node:net';
import { rawServer, type RawServer } from './raw-server.js';

/**
 * Raw `net` servers that speak SMTP up to STARTTLS and then answer a TLS ClientHello with
 * crafted bytes: weak choices on purpose (DEFLATE, no renegotiation_info, no EMS, SHA-1
 * signatures) and hostile ones (truncated, oversized, lengths past the end, an endless
 * stream, silence, an alert). Loopback, port 0.
 */

const u16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const u24 = (n: number) => Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
const vec8 = (b: Buffer) => Buffer.concat([Buffer.from([b.length]), b]);
const vec16 = (b: Buffer) => Buffer.concat([u16(b.length), b]);

export const record = (type: number, body: Buffer) => Buffer.concat([Buffer.from([type, 3, 3]), vec16(body)]);
export const handshake = (type: number, body: Buffer) => Buffer.concat([Buffer.from([type]), u24(body.length), body]);
export const alert = (description: number, level = 2) => record(21, Buffer.from([level, description]));

export interface HelloChoice {
  version?: number;
  suite?: number;
  compression?: number;
  renegotiationInfo?: boolean;
  ems?: boolean;
}

export function serverHello(c: HelloChoice = {}): Buffer {
  const ext = Buffer.concat([
    ...(c.renegotiationInfo === false ? [] : [Buffer.concat([u16(0xff01), vec16(Buffer.from([0]))])]),
    ...(c.ems === false ? [] : [Buffer.concat([u16(0x0017), vec16(Buffer.alloc(0))])]),
  ]);
  const body = Buffer.concat([
    u16(c.version ?? 0x0303),
    Buffer.alloc(32, 0x42),
    vec8(Buffer.alloc(0)),
    u16(c.suite ?? 0xc02f),
    Buffer.from([c.compression ?? 0]),
    vec16(ext),
  ]);
  return handshake(2, body);
}

/** An empty certificate list: the reader skips certificates, so none is needed. */
export const certificate = () => handshake(11, u24(0));
/** An ECDHE ServerKeyExchange on X25519 signed (with made-up bytes) by `scheme`. */
export const keyExchange = (scheme: number) =>
  handshake(
    12,
    Buffer.concat([Buffer.from([3]), u16(0x001d), vec8(Buffer.alloc(32, 7)), u16(scheme), vec16(Buffer.alloc(64, 9))]),
  );
export const helloDone = () => handshake(14, Buffer.alloc(0));

/** The signature schemes a ClientHello offers (extension 13), for servers that answer according to them. */
export function offeredSchemes(hello: Buffer): number[] {
  // record(5) handshake header(4) version(2) random(32)
  let at = 5 + 4 + 2 + 32;
  at += 1 + hello[at]!;
  at += 2 + hello.readUInt16BE(at);
  at += 1 + hello[at]!;
  const end = at + 2 + hello.readUInt16BE(at);
  at += 2;
  while (at < end) {
    const type = hello.readUInt16BE(at);
    const length = hello.readUInt16BE(at + 2);
    if (type === 13) {
      const list = hello.subarray(at + 6, at + 4 + length);
      return Array.from({ length: list.length / 2 }, (_, i) => list.readUInt16BE(i * 2));
    }
    at += 4 + length;
  }
  return [];
}
/** Whether the ClientHello offered DEFLATE compression. */
export function offersDeflate(hello: Buffer): boolean {
  let at = 5 + 4 + 2 + 32;
  at += 1 + hello[at]!;
  at += 2 + hello.readUInt16BE(at);
  return hello.subarray(at + 1, at + 1 + hello[at]!).includes(1);
}

/**
 * SMTP in plain text up to STARTTLS, then `onHello` gets the socket and the client's first
 * TLS record once it is complete. Anything that is not a ClientHello (Node's own client,
 * for the renegotiation attempt) gets the same treatment: these servers speak no real TLS.
 */
export function starttlsThen(onHello: (socket: net.Socket, hello: Buffer) => void) {
  return (socket: net.Socket) => {
    socket.write('220 fault.test ESMTP\r\n');
    let text = '';
    let tls: Buffer | undefined;
    socket.on('data', (d: Buffer) => {
      if (tls) {
        tls = Buffer.concat([tls, d]);
        if (tls.length >= 5 && tls.length >= 5 + tls.readUInt16BE(3)) {
          const hello = tls;
          tls = Buffer.alloc(0);
          // Only the first record: what follows (none, from us) is ignored.
          if (hello.length) onHello(socket, hello);
          socket.removeAllListeners('data');
        }
        return;
      }
      text += d.toString('latin1');
      let i: number;
      while ((i = text.indexOf('\r\n')) >= 0) {
        const line = text.slice(0, i);
        text = text.slice(i + 2);
        if (/^EHLO/i.test(line)) socket.write('250-fault.test\r\n250 STARTTLS\r\n');
        else if (/^STARTTLS/i.test(line)) {
          socket.write('220 2.0.0 Ready to start TLS\r\n');
          tls = Buffer.from(text, 'latin1');
          text = '';
          return;
        } else if (/^QUIT/i.test(line)) return void socket.end('221 bye\r\n');
        else socket.write('250 2.0.0 Ok\r\n');
      }
    });
  };
}

/** What each named fault answers to a ClientHello. */
export const helloFaults = {
  /** Everything weak a 2009 server did: DEFLATE when offered, no renegotiation_info, no EMS, SHA-1 signatures. */
  weak: (s: net.Socket, hello: Buffer) =>
    s.write(
      record(
        22,
        Buffer.concat([
          serverHello({ compression: offersDeflate(hello) ? 1 : 0, renegotiationInfo: false, ems: false }),
          certificate(),
          keyExchange(0x0201),
          helloDone(),
        ]),
      ),
    ),
  /** Sound, but signs with SHA-224 for a client that offers only that, and refuses one that offers only SHA-1. */
  sha224: (s: net.Socket, hello: Buffer) => {
    const offered = offeredSchemes(hello);
    if (offered.every((c) => (c & 0xff) !== 0 && c >> 8 === 2)) return void s.write(alert(40));
    const scheme = offered.includes(0x0804) ? 0x0804 : offered.includes(0x0301) ? 0x0301 : offered[0]!;
    s.write(record(22, Buffer.concat([serverHello(), certificate(), keyExchange(scheme), helloDone()])));
  },
  /** A record header promising 100 bytes, 10 of them, then the connection closes. */
  truncated: (s: net.Socket) => s.end(Buffer.concat([Buffer.from([22, 3, 3]), u16(100), Buffer.alloc(10, 2)])),
  /** A record of 20,000 bytes: over the 2^14 a plaintext record may carry. */
  oversized: (s: net.Socket) => s.write(Buffer.concat([Buffer.from([22, 3, 3]), u16(20000), Buffer.alloc(20000, 2)])),
  /** A ServerHello whose session id length (200) points past the end of the message. */
  pastEnd: (s: net.Socket) => {
    const body = Buffer.concat([u16(0x0303), Buffer.alloc(32, 1), Buffer.from([200]), Buffer.alloc(8)]);
    s.write(record(22, handshake(2, body)));
  },
  /** A fatal handshake_failure alert. */
  alert: (s: net.Socket) => s.write(alert(40)),
  /** protocol_version: what a TLS 1.3-only server answers a TLS 1.2 hello with. */
  tls13Only: (s: net.Socket) => s.write(alert(70)),
  /** Nothing at all after STARTTLS. */
  silent: () => {},
};

/** A valid ServerHello, then certificates for ever; `written` counts what the server got out before the client left. */
export async function endlessServer(): Promise<RawServer & { written: () => number }> {
  let written = 0;
  const server = await rawServer(
    starttlsThen((s) => {
      s.write(record(22, serverHello()));
      const chunk = record(22, handshake(11, Buffer.concat([u24(4093), Buffer.alloc(4093, 5)])));
      const pump = () => {
        while (!s.destroyed && s.writable) {
          written += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
      };
      s.on('error', () => {});
      pump();
    }),
  );
  return Object.assign(server, { written: () => written });
}

export const helloFaultServer = (fault: (s: net.Socket, hello: Buffer) => void) => rawServer(starttlsThen(fault));
