// Reads what a server answers to our ClientHello, up to the ServerKeyExchange or the
// ServerHelloDone, with every length checked and the total bytes bounded. Pure: bytes in,
// facts out; a malformed answer throws HelloError (said to the user, never a crash).

import { ByteQueue } from '../util/byte-queue.js';
import { HELLO_SUITES, SIGNATURE_SCHEMES } from './client-hello.js';

/** The most a server may send before its hello is complete: certificate chains are rarely over 16 KiB. */
export const MAX_HELLO_BYTES = 128 * 1024;
/** RFC 5246 §6.2.1: a plaintext record carries at most 2^14 bytes. */
const MAX_RECORD = 16384;

export class HelloError extends Error {}

export interface KexSignature {
  /** The signature scheme's code (TLS 1.2); null before 1.2, where the hash is fixed by the version. */
  scheme: number | null;
  name: string;
  hash: string;
}

export interface ServerHelloFacts {
  version: string;
  suite: string;
  /** 0 none, 1 DEFLATE. */
  compression: number;
  /** RFC 5746: the server sent renegotiation_info. */
  secureRenegotiation: boolean;
  /** RFC 7627: the server echoed extended_master_secret. */
  extendedMasterSecret: boolean;
  keyExchange: 'ECDHE' | 'DHE' | 'RSA';
  /** How the server signed its ephemeral key; null without one (RSA key exchange). */
  signature: KexSignature | null;
}

export type HelloAnswer = { kind: 'hello'; facts: ServerHelloFacts } | { kind: 'alert'; alert: string };

const VERSIONS: Record<number, string> = { 0x0300: 'SSLv3', 0x0301: 'TLSv1.0', 0x0302: 'TLSv1.1', 0x0303: 'TLSv1.2' };

/** RFC 8446 §6 alert descriptions, as OpenSSL words them. */
const ALERTS: Record<number, string> = {
  0: 'close notify',
  10: 'unexpected message',
  20: 'bad record mac',
  22: 'record overflow',
  40: 'handshake failure',
  42: 'bad certificate',
  47: 'illegal parameter',
  50: 'decode error',
  51: 'decrypt error',
  70: 'protocol version',
  71: 'insufficient security',
  80: 'internal error',
  86: 'inappropriate fallback',
  90: 'user canceled',
  100: 'no renegotiation',
  109: 'missing extension',
  110: 'unsupported extension',
  112: 'unrecognized name',
};
export const alertName = (d: number) => ALERTS[d] ?? `alert ${d}`;

const hex = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;

/** A read position in one message that never reads past its end. */
class Cursor {
  private at = 0;
  constructor(
    private readonly b: Buffer,
    private readonly what: string,
  ) {}
  private need(n: number) {
    if (this.at + n > this.b.length) throw new HelloError(`${this.what}: a length field points past its end`);
  }
  u8() {
    this.need(1);
    return this.b[this.at++]!;
  }
  u16() {
    this.need(2);
    const v = this.b.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }
  bytes(n: number) {
    this.need(n);
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  vec8() {
    return this.bytes(this.u8());
  }
  vec16() {
    return this.bytes(this.u16());
  }
  get left() {
    return this.b.length - this.at;
  }
  end() {
    if (this.left) throw new HelloError(`${this.what}: ${this.left} bytes after its end`);
  }
}

export interface Offered {
  suites: ReadonlySet<number>;
  compression: boolean;
}

/**
 * Fed the server's bytes as they come; returns the answer once it is known, undefined while
 * more is needed. Throws HelloError on anything malformed or over MAX_HELLO_BYTES.
 */
export class ServerHelloReader {
  private readonly pending = new ByteQueue();
  private readonly messages = new ByteQueue();
  private total = 0;
  private hello: ServerHelloFacts | undefined;
  private versionCode = 0;

  constructor(private readonly offered: Offered) {}

  /** Part of a record or message is held: a close now cuts the answer short. */
  get midway(): boolean {
    return this.pending.length > 0 || this.messages.length > 0;
  }

  push(chunk: Buffer): HelloAnswer | undefined {
    this.total += chunk.length;
    if (this.total > MAX_HELLO_BYTES)
      throw new HelloError(`the server sent over ${MAX_HELLO_BYTES / 1024} KiB without finishing its hello`);
    this.pending.append(chunk);
    while (this.pending.length >= 5) {
      const head = this.pending.peek(5);
      const type = head[0]!;
      const major = head[1]!;
      const length = head.readUInt16BE(3);
      if (major !== 3) throw new HelloError(`not a TLS record (content type ${type}, version byte ${major})`);
      if (length > MAX_RECORD) throw new HelloError(`a record of ${length} bytes (at most ${MAX_RECORD}: RFC 5246)`);
      if (this.pending.length < 5 + length) break;
      const fragment = this.pending.take(5 + length).subarray(5);
      const answer = this.record(type, fragment);
      if (answer) return answer;
    }
    return undefined;
  }

  private record(type: number, fragment: Buffer): HelloAnswer | undefined {
    if (type === 21) {
      // TLS 1.2 may coalesce several alerts in one record (RFC 5246 §6.2.1); each is 2 bytes.
      if (!fragment.length || fragment.length % 2)
        throw new HelloError(`an alert record of ${fragment.length} bytes (2 for each alert expected)`);
      for (let i = 0; i < fragment.length; i += 2) {
        const [level, description] = [fragment[i]!, fragment[i + 1]!];
        // A warning (unrecognized name ...) lets the handshake go on; anything else ends it.
        if (level === 1 && description !== 0) continue;
        if (this.hello) throw new HelloError(`alert "${alertName(description)}" after the ServerHello`);
        return { kind: 'alert', alert: alertName(description) };
      }
      return undefined;
    }
    if (type !== 22) throw new HelloError(`a record of content type ${type} before the handshake finished`);
    if (!fragment.length) throw new HelloError('an empty handshake record (RFC 5246 §6.2.1 forbids it)');
    this.messages.append(fragment);
    while (this.messages.length >= 4) {
      const head = this.messages.peek(4);
      const msgType = head[0]!;
      const length = head.readUIntBE(1, 3);
      if (length > MAX_HELLO_BYTES)
        throw new HelloError(`a handshake message of ${length} bytes (more than ${MAX_HELLO_BYTES / 1024} KiB)`);
      if (this.messages.length < 4 + length) break;
      const body = this.messages.take(4 + length).subarray(4);
      const done = this.message(msgType, body);
      if (done) return { kind: 'hello', facts: done };
    }
    return undefined;
  }

  private message(type: number, body: Buffer): ServerHelloFacts | undefined {
    if (!this.hello) {
      if (type !== 2) throw new HelloError(`handshake message type ${type} where the ServerHello belongs`);
      this.hello = this.serverHello(body);
      // RSA key exchange has no ServerKeyExchange: nothing is signed, nothing more to read.
      return this.hello.keyExchange === 'RSA' ? this.hello : undefined;
    }
    switch (type) {
      case 11: // Certificate
      case 13: // CertificateRequest
      case 22: // CertificateStatus
        return undefined;
      case 12:
        return { ...this.hello, signature: this.keyExchange(body) };
      case 14:
        throw new HelloError(`ServerHelloDone without a ServerKeyExchange for ${this.hello.suite}`);
      default:
        throw new HelloError(`unexpected handshake message type ${type} after the ServerHello`);
    }
  }

  private serverHello(body: Buffer): ServerHelloFacts {
    const c = new Cursor(body, 'ServerHello');
    const version = c.u16();
    c.bytes(32);
    if (c.vec8().length > 32) throw new HelloError('ServerHello: a session id over 32 bytes');
    const suite = c.u16();
    const compression = c.u8();
    const seen = new Set<number>();
    let secureRenegotiation = false;
    let extendedMasterSecret = false;
    if (c.left) {
      const ext = new Cursor(c.vec16(), 'ServerHello extensions');
      while (ext.left) {
        const type = ext.u16();
        const data = ext.vec16();
        if (seen.has(type)) throw new HelloError(`ServerHello: extension ${type} twice`);
        seen.add(type);
        if (type === 0xff01) {
          // On a first handshake the renegotiated_connection field is empty (RFC 5746 §3.4).
          if (data.length !== 1 || data[0] !== 0) throw new HelloError('ServerHello: renegotiation_info not empty');
          secureRenegotiation = true;
        } else if (type === 0x0017) {
          if (data.length) throw new HelloError('ServerHello: extended_master_secret not empty');
          extendedMasterSecret = true;
        } else if (type === 0x002b) {
          throw new HelloError('ServerHello: supported_versions, though we offered TLS 1.2 only');
        }
      }
    }
    c.end();
    const versionName = VERSIONS[version];
    if (!versionName) throw new HelloError(`ServerHello: version ${hex(version)}, which we did not offer`);
    const name = HELLO_SUITES.get(suite);
    if (!name || !this.offered.suites.has(suite))
      throw new HelloError(`ServerHello: suite ${hex(suite)}, which we did not offer`);
    if (compression !== 0 && !(compression === 1 && this.offered.compression))
      throw new HelloError(`ServerHello: compression method ${compression}, which we did not offer`);
    this.versionCode = version;
    return {
      version: versionName,
      suite: name,
      compression,
      secureRenegotiation,
      extendedMasterSecret,
      keyExchange: name.startsWith('TLS_ECDHE_') ? 'ECDHE' : name.startsWith('TLS_DHE_') ? 'DHE' : 'RSA',
      signature: null,
    };
  }

  private keyExchange(body: Buffer): KexSignature {
    const c = new Cursor(body, 'ServerKeyExchange');
    if (this.hello!.keyExchange === 'ECDHE') {
      const curveType = c.u8();
      if (curveType !== 3)
        throw new HelloError(`ServerKeyExchange: curve type ${curveType} (3, named_curve, expected)`);
      c.u16();
      c.vec8();
    } else {
      c.vec16();
      c.vec16();
      c.vec16();
    }
    let signature: KexSignature;
    if (this.versionCode === 0x0303) {
      const scheme = c.u16();
      const known = SIGNATURE_SCHEMES.get(scheme);
      signature = { scheme, name: known?.name ?? hex(scheme), hash: known?.hash ?? 'unknown' };
    } else {
      // Before TLS 1.2 the hash is fixed: SHA-1 for ECDSA, MD5 and SHA-1 together for RSA (RFC 4346 §7.4.3).
      signature = this.hello!.suite.includes('_ECDSA_')
        ? { scheme: null, name: 'ecdsa with SHA-1', hash: 'SHA-1' }
        : { scheme: null, name: 'rsa with MD5+SHA-1', hash: 'MD5+SHA-1' };
    }
    if (!c.vec16().length) throw new HelloError('ServerKeyExchange: an empty signature');
    c.end();
    return signature;
  }
}
