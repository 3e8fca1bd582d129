// What a TLS scan finds, as data: scan.ts fills it, findings.ts judges it, render.ts shows it.

export interface Finding {
  severity: 'fail' | 'warn' | 'info';
  /** Stable name for scripts: deprecated-protocol, weak-cipher, no-forward-secrecy, weak-key ... */
  code: string;
  /** Which probe check it belongs to. */
  check: 'tls-protocols' | 'tls-ciphers';
  message: string;
}

export interface ScannedCipher {
  name: string;
  iana: string;
  bits: number;
  keyExchange: string;
  /** The group or DH size the server used with it: "X25519 253", "DH 2048". */
  group: string | null;
  weak: boolean;
  weaknesses: string[];
}

export interface ScannedProtocol {
  version: string;
  /** null: could not be tested from here (see note). */
  accepted: boolean | null;
  note?: string;
  ciphers: ScannedCipher[];
  /** Whether the server picks by its own order (true) or the client's (false); null when not known. */
  serverOrder: boolean | null;
  /** Accepted suites, most preferred first (server order), or as offered (client order). */
  preferred: string[];
}

export interface ScanResult {
  protocols: ScannedProtocol[];
  groups: { version: string; name: string; bits: number | null }[];
  certificate: { key: string; subject: string } | null;
  /** Suites in the catalogue this OpenSSL cannot offer (often RC4, 3DES, EXPORT): not tested. */
  untested: string[];
  findings: Finding[];
  handshakes: number;
  durationMs: number;
}
