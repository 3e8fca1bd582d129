import { HELLO_SUITES, SIGNATURE_SCHEMES, schemesWith, type HelloOffer } from './client-hello.js';
import type { ScanTarget } from './target.js';
import { rawHello, type RawHelloOutcome } from './raw-hello.js';
import { tryRenegotiation, type RenegotiationOutcome } from './renegotiation.js';
import { retryWhenBusy } from './starttls.js';

/** internet.nl's count: NCSC calls a limit of at most 10 client renegotiations sufficient, so 11 are tried. */
export const RENEGOTIATION_ATTEMPTS = 11;

/** What the TLS questions Node's client cannot ask came back with, for one server. */
export interface HelloProbe {
  /** Everything offered (SHA-2 schemes first, DEFLATE): compression, renegotiation_info, EMS, the hash used. */
  main: RawHelloOutcome;
  /** Only SHA-1 signature schemes: does the server still sign its key exchange with SHA-1? */
  sha1: RawHelloOutcome;
  /** Only SHA-224 schemes (NCSC: to be phased out). */
  sha224: RawHelloOutcome;
  renegotiation: RenegotiationOutcome;
}

const ALL_SUITES = [...HELLO_SUITES.keys()];
// Ephemeral suites only where the signature is the question: an RSA key exchange signs nothing.
const EPHEMERAL = ALL_SUITES.filter((c) => !HELLO_SUITES.get(c)!.startsWith('TLS_RSA_'));
const ALL_SCHEMES = [...SIGNATURE_SCHEMES.keys()].filter((c) => SIGNATURE_SCHEMES.get(c)!.hash !== 'MD5');

/**
 * Four connections at once, each on its own (a server that refuses one still answers the
 * others): three raw hellos and one Node TLS 1.2 session for the renegotiation attempts.
 */
export async function probeHello(target: ScanTarget, signal?: AbortSignal): Promise<HelloProbe> {
  const offer = (suites: number[], schemes: number[], compression: boolean): HelloOffer => ({
    sni: target.sni,
    suites,
    schemes,
    compression,
  });
  const hello = (o: HelloOffer) => retryWhenBusy(() => rawHello(target, o, signal).then(busyAsError));
  const [main, sha1, sha224, renegotiation] = await Promise.all([
    hello(offer(ALL_SUITES, ALL_SCHEMES, true)).catch(failed),
    hello(offer(EPHEMERAL, schemesWith('SHA-1'), false)).catch(failed),
    hello(offer(EPHEMERAL, schemesWith('SHA-224'), false)).catch(failed),
    tryRenegotiation(target, RENEGOTIATION_ATTEMPTS, signal),
  ]);
  return { main, sha1, sha224, renegotiation };
}

// rawHello never rejects; a busy server (421 before TLS) is turned into a rejection so retryWhenBusy tries again.
function busyAsError(o: RawHelloOutcome): RawHelloOutcome {
  if (o.kind === 'failed' && o.busy) throw Object.assign(new Error(o.reason), { busy: true });
  return o;
}
const failed = (err: Error): RawHelloOutcome => ({ kind: 'failed', reason: err.message });
