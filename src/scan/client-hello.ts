// A minimal TLS 1.2 ClientHello, written by us (as sslscan does) so that it can offer what
// Node's TLS will not: compression, and signature algorithms of our choosing. Pure: bytes only.

/** The suites we offer, by code (IANA names); those with ephemeral keys first, so the server signs. */
export const HELLO_SUITES: ReadonlyMap<number, string> = new Map([
  [0xc02c, 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384'],
  [0xc02b, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'],
  [0xcca9, 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256'],
  [0xc030, 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'],
  [0xc02f, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
  [0xcca8, 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256'],
  [0xc024, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384'],
  [0xc023, 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256'],
  [0xc028, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384'],
  [0xc027, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256'],
  [0xc00a, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA'],
  [0xc009, 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA'],
  [0xc014, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA'],
  [0xc013, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA'],
  [0x009f, 'TLS_DHE_RSA_WITH_AES_256_GCM_SHA384'],
  [0x009e, 'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256'],
  [0xccaa, 'TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256'],
  [0x006b, 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA256'],
  [0x0067, 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA256'],
  [0x0039, 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA'],
  [0x0033, 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA'],
  [0x009d, 'TLS_RSA_WITH_AES_256_GCM_SHA384'],
  [0x009c, 'TLS_RSA_WITH_AES_128_GCM_SHA256'],
  [0x003d, 'TLS_RSA_WITH_AES_256_CBC_SHA256'],
  [0x003c, 'TLS_RSA_WITH_AES_128_CBC_SHA256'],
  [0x0035, 'TLS_RSA_WITH_AES_256_CBC_SHA'],
  [0x002f, 'TLS_RSA_WITH_AES_128_CBC_SHA'],
  [0x000a, 'TLS_RSA_WITH_3DES_EDE_CBC_SHA'],
]);

/** RFC 5746 §3.3: the signalling suite a server answers with renegotiation_info when it supports it. */
const RENEGOTIATION_SCSV = 0x00ff;

/** Signature schemes (RFC 8446 §4.2.3 / RFC 5246 §7.4.1.4.1) and the hash each signs with. */
export const SIGNATURE_SCHEMES: ReadonlyMap<number, { name: string; hash: string }> = new Map([
  [0x0403, { name: 'ecdsa_secp256r1_sha256', hash: 'SHA-256' }],
  [0x0503, { name: 'ecdsa_secp384r1_sha384', hash: 'SHA-384' }],
  [0x0603, { name: 'ecdsa_secp521r1_sha512', hash: 'SHA-512' }],
  [0x0807, { name: 'ed25519', hash: 'SHA-512' }],
  [0x0808, { name: 'ed448', hash: 'SHAKE256' }],
  [0x0804, { name: 'rsa_pss_rsae_sha256', hash: 'SHA-256' }],
  [0x0805, { name: 'rsa_pss_rsae_sha384', hash: 'SHA-384' }],
  [0x0806, { name: 'rsa_pss_rsae_sha512', hash: 'SHA-512' }],
  [0x0809, { name: 'rsa_pss_pss_sha256', hash: 'SHA-256' }],
  [0x080a, { name: 'rsa_pss_pss_sha384', hash: 'SHA-384' }],
  [0x080b, { name: 'rsa_pss_pss_sha512', hash: 'SHA-512' }],
  [0x0401, { name: 'rsa_pkcs1_sha256', hash: 'SHA-256' }],
  [0x0501, { name: 'rsa_pkcs1_sha384', hash: 'SHA-384' }],
  [0x0601, { name: 'rsa_pkcs1_sha512', hash: 'SHA-512' }],
  [0x0402, { name: 'dsa_sha256', hash: 'SHA-256' }],
  [0x0303, { name: 'ecdsa_sha224', hash: 'SHA-224' }],
  [0x0301, { name: 'rsa_pkcs1_sha224', hash: 'SHA-224' }],
  [0x0302, { name: 'dsa_sha224', hash: 'SHA-224' }],
  [0x0203, { name: 'ecdsa_sha1', hash: 'SHA-1' }],
  [0x0201, { name: 'rsa_pkcs1_sha1', hash: 'SHA-1' }],
  [0x0202, { name: 'dsa_sha1', hash: 'SHA-1' }],
  [0x0103, { name: 'ecdsa_md5', hash: 'MD5' }],
  [0x0101, { name: 'rsa_pkcs1_md5', hash: 'MD5' }],
]);

/** The schemes whose hash is in `hashes`, in the table's order (strongest first). */
export const schemesWith = (...hashes: string[]) =>
  [...SIGNATURE_SCHEMES].filter(([, s]) => hashes.includes(s.hash)).map(([code]) => code);

/** X25519, P-256, P-384, P-521, X448, ffdhe2048..8192 (RFC 8422, RFC 7919). */
const GROUPS = [0x001d, 0x0017, 0x0018, 0x0019, 0x001e, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104];

export interface HelloOffer {
  /** Server name for SNI (A-labels), none for an address. */
  sni: string | undefined;
  /** Suite codes, in our order of preference. */
  suites: readonly number[];
  /** signature_algorithms, in our order of preference. */
  schemes: readonly number[];
  /** Offer DEFLATE (1) before null compression: a server choosing it has TLS compression on. */
  compression: boolean;
}

const u8 = (n: number) => Buffer.from([n & 0xff]);
const u16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const u24 = (n: number) => Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
const vec16 = (b: Buffer) => Buffer.concat([u16(b.length), b]);
const vec8 = (b: Buffer) => Buffer.concat([u8(b.length), b]);
const list16 = (codes: readonly number[]) => vec16(Buffer.concat(codes.map(u16)));
const extension = (type: number, body: Buffer) => Buffer.concat([u16(type), vec16(body)]);

/** The whole record: one handshake record holding one ClientHello (TLS 1.2, legacy record version 1.0). */
export function clientHello(offer: HelloOffer, random: Buffer): Buffer {
  const extensions = [
    ...(offer.sni ? [extension(0x0000, vec16(Buffer.concat([u8(0), vec16(Buffer.from(offer.sni, 'ascii'))])))] : []),
    extension(0x000a, list16(GROUPS)),
    // ec_point_formats: uncompressed only.
    extension(0x000b, vec8(u8(0))),
    extension(0x000d, list16(offer.schemes)),
    // extended_master_secret (RFC 7627): empty; a server that supports it echoes it.
    extension(0x0017, Buffer.alloc(0)),
  ];
  const body = Buffer.concat([
    u16(0x0303),
    random,
    // No session to resume: an empty session id.
    u8(0),
    list16([...offer.suites, RENEGOTIATION_SCSV]),
    vec8(Buffer.from(offer.compression ? [1, 0] : [0])),
    vec16(Buffer.concat(extensions)),
  ]);
  const handshake = Buffer.concat([u8(1), u24(body.length), body]);
  return Buffer.concat([u8(22), u16(0x0301), vec16(handshake)]);
}
