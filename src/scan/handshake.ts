import net from 'node:net';
import tls from 'node:tls';
import { SmtpkitError } from '../errors.js';
import { tlsFacts, type CertificateFacts } from '../session/tls-facts.js';
import { reachTls } from './starttls.js';
import type { ScanTarget } from './target.js';

export type { ScanTarget } from './target.js';

/** What one ClientHello offers. */
export interface Offer {
  version: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** An OpenSSL cipher string; the security level is lowered so old suites can be offered. */
  ciphers?: string;
  /** Key-exchange groups, colon-separated (Node's ecdhCurve). */
  groups?: string;
}

export type Handshake =
  | {
      ok: true;
      protocol: string;
      cipher: string;
      group: string | null;
      groupBits: number | null;
      certificate: CertificateFacts | undefined;
    }
  | { ok: false; reason: string };

const SECLEVEL = ':@SECLEVEL=0';

/**
 * One fresh connection and one handshake: nothing is reused between handshakes (no session
 * resumption, no connection). A refused handshake is an answer, not an error; only a failure
 * to reach the TLS layer at all (no greeting, STARTTLS refused) throws, since then no
 * handshake of the scan can tell anything.
 */
export function handshake(target: ScanTarget, offer: Offer, withCertificate = false): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let secure: tls.TLSSocket | undefined;
    const plain = net.connect({ host: target.address, port: target.port, localAddress: target.localAddress });
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      secure?.destroy();
      plain.destroy();
      fn();
    };
    // Timed out in the handshake: no answer to this offer. Before it (a greeting delay, a
    // tarpit, a slow reverse look-up on the server): nothing learnt about TLS, so worth
    // another try (busy), never a refusal of the offer.
    const timer = setTimeout(() => {
      if (secure) return finish(() => resolve({ ok: false, reason: 'timed out' }));
      const err = new SmtpkitError('protocol', `no answer within ${target.timeoutMs} ms before TLS`, 'tls-scan');
      finish(() => reject(Object.assign(err, { busy: true })));
    }, target.timeoutMs);
    plain.setNoDelay(true);
    // Once TLS runs on it, the TLS socket reports the connection's errors; before, reachTls does.
    plain.on('error', () => {});

    const startTls = () => {
      secure = tls.connect({
        socket: plain,
        servername: target.sni,
        secureContext: offerContext(offer),
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined,
      });
      secure.once('secureConnect', () => {
        const s = secure!;
        const c = s.getCipher();
        const key = s.getEphemeralKeyInfo() as { type?: string; name?: string; size?: number } | null;
        const result: Handshake = {
          ok: true,
          protocol: s.getProtocol() ?? 'unknown',
          cipher: c.name,
          group: key?.name ?? (key?.type === 'DH' ? 'DH' : null),
          groupBits: key?.size ?? null,
          certificate: withCertificate ? tlsFacts(s, target.sni ?? target.host, target.sni).chain[0] : undefined,
        };
        finish(() => resolve(result));
      });
      secure.once('error', (err: NodeJS.ErrnoException) =>
        finish(() => resolve({ ok: false, reason: tlsReason(err) })),
      );
    };

    // Until TLS starts, a failure to get there rejects: no handshake of the scan could tell anything.
    reachTls(plain, target).then(startTls, (err: unknown) => finish(() => reject(err)));
  });
}

/**
 * One TLS context per distinct offer, kept for the process: a scan makes ~175 handshakes of
 * ~170 distinct offers, and an audit scans every MX host with the same ones. Made anew for
 * each handshake, each context cost ~0.5 ms of CPU and 25-55 KB of OpenSSL memory that V8
 * does not see (freed only when a collection happens to run). The context holds no
 * per-connection state (SNI and sessions are the socket's). The server-order probes offer
 * lists that depend on the server: those few contexts make the map forget its oldest.
 */
const contexts = new Map<string, tls.SecureContext>();
const KEPT = 512;

function offerContext(offer: Offer): tls.SecureContext {
  const key = JSON.stringify([offer.version, offer.ciphers, offer.groups]);
  const known = contexts.get(key);
  if (known) return known;
  const ciphers = offer.ciphers ?? (offer.version === 'TLSv1.3' ? undefined : `ALL:COMPLEMENTOFALL${SECLEVEL}`);
  const context = tls.createSecureContext({
    minVersion: offer.version,
    maxVersion: offer.version,
    // TLS 1.3 suites go in the same option (Node splits them out); the 1.2 list must stay valid.
    ciphers: ciphers && offer.version === 'TLSv1.3' ? `${ciphers}:ALL${SECLEVEL}` : (ciphers ?? `DEFAULT${SECLEVEL}`),
    ...(offer.groups ? { ecdhCurve: offer.groups } : {}),
  });
  if (contexts.size >= KEPT) contexts.delete(contexts.keys().next().value!);
  contexts.set(key, context);
  return context;
}

/** The alert or local reason, short: "handshake failure", "protocol version", "no shared cipher". */
export function tlsReason(err: NodeJS.ErrnoException): string {
  const alert = /alert (.+?)(?::|$)/i.exec(err.message);
  if (alert) return alert[1]!.replace(/^sslv3 alert /i, '').toLowerCase();
  if (err.code === 'ECONNRESET' || /socket disconnected/i.test(err.message)) return 'connection closed';
  return (err.code ?? err.message).toLowerCase();
}

const offerable = new Map<string, boolean>();

/**
 * Whether this Node's OpenSSL can offer the suite at all (OpenSSL 3 builds often drop RC4,
 * 3DES ...): a fact of the process, found once per suite (each try builds a context).
 */
export function canOffer(name: string): boolean {
  let can = offerable.get(name);
  if (can === undefined) {
    try {
      tls.createSecureContext({ ciphers: name.startsWith('TLS_') ? `${name}:ALL${SECLEVEL}` : `${name}${SECLEVEL}` });
      can = name.startsWith('TLS_') ? tls.getCiphers().includes(name.toLowerCase()) : true;
    } catch {
      can = false;
    }
    offerable.set(name, can);
  }
  return can;
}

export const lowered = (cipherList: string) => `${cipherList}${SECLEVEL}`;
