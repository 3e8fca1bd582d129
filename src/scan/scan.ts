import { SmtpkitError } from '../errors.js';
import { performance } from 'node:perf_hooks';
import type { CertificateFacts } from '../session/tls-facts.js';
import { keyExchangeName, suitesFor, weaknesses, type Suite, type Version } from './ciphers.js';
import { judge } from './findings.js';
import type { ScannedCipher, ScannedProtocol, ScanResult } from './result.js';
import { retryWhenBusy } from './starttls.js';
import { canOffer, handshake as once, lowered, type Handshake, type Offer, type ScanTarget } from './handshake.js';

// What a scan returns is declared in result.ts (findings.ts judges it); named here too for callers.
export type { ScanResult, ScannedCipher, ScannedProtocol } from './result.js';

/** Version names as sslscan and testssl.sh print them (Node says "TLSv1" for 1.0). */
export const DISPLAY: Record<Version, string> = {
  TLSv1: 'TLSv1.0',
  'TLSv1.1': 'TLSv1.1',
  'TLSv1.2': 'TLSv1.2',
  'TLSv1.3': 'TLSv1.3',
};
const VERSIONS: Version[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
const TLS13_GROUPS = [
  'X25519',
  'P-256',
  'P-384',
  'P-521',
  'X448',
  'ffdhe2048',
  'ffdhe3072',
  'ffdhe4096',
  'ffdhe6144',
  'ffdhe8192',
];
const EC_GROUPS = ['X25519', 'P-256', 'P-384', 'P-521', 'X448'];

export interface ScanOptions {
  concurrency: number;
  /** Called after each handshake with how many are done and how many are planned so far. */
  onProgress?: (done: number, planned: number) => void;
  /** Once aborted, no further handshake starts (the caller's time is up: an audit's deadline). */
  signal?: AbortSignal;
}

/**
 * Every protocol version, then every suite of each accepted version (one fresh handshake
 * each, at most `concurrency` at a time), the key-exchange groups, and the server's order.
 */
export async function scanTls(target: ScanTarget, o: ScanOptions): Promise<ScanResult> {
  const started = performance.now();
  let done = 0;
  let planned = 0;
  // One bound for the whole scan, however many of its pools run at once (the order probes).
  let free = o.concurrency;
  const queued: (() => void)[] = [];
  const limited = async <T>(job: () => Promise<T>): Promise<T> => {
    if (free > 0) free--;
    else await new Promise<void>((r) => queued.push(r));
    try {
      return await job();
    } finally {
      const next = queued.shift();
      if (next) next();
      else free++;
    }
  };
  const run = async <T>(jobs: (() => Promise<T>)[]): Promise<T[]> => {
    planned += jobs.length;
    const out: T[] = new Array(jobs.length);
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        if (o.signal?.aborted)
          throw new SmtpkitError('protocol', 'the TLS scan was stopped: its time ran out', 'tls-scan', {
            kind: 'interrupted',
          });
        const i = next++;
        out[i] = await limited(jobs[i]!);
        done++;
        o.onProgress?.(done, planned);
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.concurrency, jobs.length) }, worker));
    return out;
  };

  const versionResults = await run(VERSIONS.map((version) => () => handshake(target, { version }, true)));
  const accepted = VERSIONS.filter((v, i) => isAccepted(versionResults[i]!, v));
  const certificate = versionResults
    .map((r) => (r.ok ? r.certificate : undefined))
    .reverse()
    .find((c): c is CertificateFacts => !!c);

  // Every suite of every accepted version, and the groups, in one pool.
  const untested = new Set<string>();
  const suiteJobs: { version: Version; suite: Suite }[] = [];
  for (const version of accepted) {
    for (const suite of suitesFor(version)) {
      if (canOffer(suite.name)) suiteJobs.push({ version, suite });
      else untested.add(suite.name);
    }
  }
  const groupJobs: { version: Version; group: string }[] = [
    ...(accepted.includes('TLSv1.3') ? TLS13_GROUPS.map((group) => ({ version: 'TLSv1.3' as Version, group })) : []),
    ...(accepted.includes('TLSv1.2') ? EC_GROUPS.map((group) => ({ version: 'TLSv1.2' as Version, group })) : []),
  ];
  const results = await run<Handshake>([
    ...suiteJobs.map(
      ({ version, suite }) =>
        () =>
          handshake(target, { version, ciphers: suite.since === 'TLSv1.3' ? suite.name : lowered(suite.name) }),
    ),
    ...groupJobs.map(
      ({ version, group }) =>
        () =>
          handshake(target, {
            version,
            groups: group,
            ...(version === 'TLSv1.2' ? { ciphers: lowered('ECDHE') } : {}),
          }),
    ),
  ]);
  const suiteResults = results.slice(0, suiteJobs.length);
  const groupResults = results.slice(suiteJobs.length);

  const protocols: ScannedProtocol[] = [
    {
      version: 'SSLv3',
      accepted: null,
      note: 'not testable: Node’s OpenSSL cannot offer SSLv3',
      ciphers: [],
      serverOrder: null,
      preferred: [],
    },
  ];
  for (const [i, version] of VERSIONS.entries()) {
    const ciphers: ScannedCipher[] = [];
    suiteJobs.forEach((job, j) => {
      const r = suiteResults[j]!;
      if (job.version !== version || !r.ok || r.cipher !== job.suite.name) return;
      const w = weaknesses(job.suite);
      ciphers.push({
        name: job.suite.name,
        iana: job.suite.iana,
        bits: job.suite.bits,
        keyExchange: keyExchangeName(job.suite),
        group: r.group ? `${r.group}${r.groupBits ? ` ${r.groupBits}` : ''}` : null,
        weak: w.length > 0,
        weaknesses: w.map((x) => x.reason),
      });
    });
    const r = versionResults[i]!;
    protocols.push({
      version: DISPLAY[version],
      accepted: accepted.includes(version),
      ...(r.ok ? {} : { note: r.reason }),
      ciphers,
      serverOrder: null,
      preferred: [],
    });
  }

  // The server's order: offer the accepted suites forwards and backwards; if it picks the
  // same one both times it has an order of its own, found by taking the winner away in turn.
  // Each version's chain of picks is sequential; the versions' chains run side by side (a
  // handful of handshakes, each waiting on the one before: one round per step, not per version).
  const ordering = async (p: ScannedProtocol) => {
    const version = VERSIONS.find((v) => DISPLAY[v] === p.version);
    if (!version || p.ciphers.length < 2) {
      p.preferred = p.ciphers.map((c) => c.name);
      return;
    }
    const names = p.ciphers.map((c) => c.name);
    const [fwd, back] = await run([
      () => pick(target, version, names),
      () => pick(target, version, [...names].reverse()),
    ]);
    if (!fwd || !back) return;
    if (fwd !== back) {
      p.serverOrder = false;
      p.preferred = names;
      return;
    }
    p.serverOrder = true;
    const order = [fwd];
    let rest = names.filter((n) => n !== fwd);
    while (rest.length > 1) {
      const [winner] = await run([() => pick(target, version, rest)]);
      if (!winner || !rest.includes(winner)) break;
      order.push(winner);
      rest = rest.filter((n) => n !== winner);
    }
    p.preferred = [...order, ...rest];
  };
  await Promise.all(protocols.map(ordering));

  const groups: ScanResult['groups'] = [];
  groupJobs.forEach((g, i) => {
    const r = groupResults[i]!;
    if (r.ok && r.protocol === g.version)
      groups.push({ version: DISPLAY[g.version], name: g.group, bits: r.groupBits });
  });
  const result: ScanResult = {
    protocols,
    groups,
    certificate: certificate ? { key: certificate.key, subject: certificate.subject } : null,
    untested: [...untested],
    findings: [],
    handshakes: done,
    durationMs: Math.round(performance.now() - started),
  };
  result.findings = judge(result);
  return result;
}

/** A handshake that tries again when the server is busy (421, connection limits). */
const handshake = (target: ScanTarget, offer: Offer, withCertificate = false): Promise<Handshake> =>
  retryWhenBusy(() => once(target, offer, withCertificate));

function isAccepted(r: Handshake, version: Version): boolean {
  return r.ok && r.protocol === version;
}

async function pick(target: ScanTarget, version: Version, names: string[]): Promise<string | undefined> {
  const offer: Offer = { version, ciphers: version === 'TLSv1.3' ? names.join(':') : lowered(names.join(':')) };
  const r = await handshake(target, offer);
  return r.ok ? r.cipher : undefined;
}
