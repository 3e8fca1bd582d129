import { lookupMx, NoMailHost, type MxHost, type MxReport } from '../dns/mx.js';
import { DnsFailure } from '../dns/resolver.js';
import { NotTested } from './not-tested.js';
import type { AuditOptions } from './options.js';
import { probeMx, type MxAddress, type SmtpFacts } from './smtp-probe.js';
import { helloTarget } from './hello-target.js';
import { probeHello, type HelloProbe } from '../scan/hello-probe.js';

export type { MxAddress };

/**
 * What the checks share, asked once: the MX look-up, and one probe per MX address whatever
 * number of checks read it (few connections: relay, enumeration and TLS facts come from it).
 */
export class AuditContext {
  private mxMemo: Promise<MxReport> | undefined;
  private readonly probes = new Map<string, Promise<SmtpFacts>>();
  private readonly hellos = new Map<string, Promise<HelloProbe>>();
  private readonly stopper = new AbortController();

  constructor(
    readonly options: AuditOptions,
    /** When the whole audit ends (ms since the epoch). */
    readonly deadline: number,
    private readonly now: () => number = Date.now,
  ) {}

  get domain() {
    return this.options.domain;
  }

  /** Aborted when the audit's deadline passes (or its report is made): checks still running stop sending. */
  get signal(): AbortSignal {
    return this.stopper.signal;
  }

  /** The audit is over: whatever still runs must not go on talking to the servers. */
  stop(): void {
    this.stopper.abort();
  }

  remainingMs(): number {
    return Math.max(1, this.deadline - this.now());
  }

  /** The MX report, PTR and FCrDNS included; a failed look-up rejects (checks that need it say so). */
  mx(): Promise<MxReport> {
    if (!this.mxMemo) {
      this.mxMemo = lookupMx(this.options.resolver, this.domain, { ptr: true, max: this.options.maxMx });
      this.mxMemo.catch((err: unknown) => {
        if (err instanceof DnsFailure || (err instanceof NoMailHost && err.absence === 'NXDOMAIN'))
          this.unresolved = err.message;
      });
    }
    return this.mxMemo;
  }

  /** Set when the domain itself could not be resolved (NXDOMAIN, SERVFAIL, no answer): a DNS error, exit 3. */
  unresolved: string | null = null;

  /** The MX hosts to probe (at most maxMx), or NotTested saying why there are none. */
  async mailHosts(): Promise<MxHost[]> {
    let report: MxReport;
    try {
      report = await this.mx();
    } catch (err) {
      if (err instanceof NoMailHost || err instanceof DnsFailure)
        throw new NotTested(`no mail host known: ${err.message}`);
      throw err;
    }
    if (report.kind === 'null') throw new NotTested('the domain publishes a null MX (RFC 7505): it accepts no mail');
    return report.hosts.slice(0, this.options.maxMx);
  }

  async mxAddresses(): Promise<MxAddress[]> {
    const hosts = await this.mailHosts();
    const out = hosts.flatMap((h) =>
      h.addresses.map((a, i) => ({ host: h.exchange, address: a.address, family: a.family, scan: i === 0 })),
    );
    if (!out.length) throw new NotTested('no MX host has an address');
    return out;
  }

  /** One probe per address, shared by every check that reads it. */
  smtp(a: MxAddress): Promise<SmtpFacts> {
    const key = `${a.host} ${a.address}`;
    let p = this.probes.get(key);
    if (!p) {
      p = probeMx(a, this.options, this.remainingMs(), this.signal);
      this.probes.set(key, p);
    }
    return p;
  }

  /** Our own TLS hellos and a renegotiation attempt, once per address, alongside its probe and cipher scan. */
  hello(a: MxAddress): Promise<HelloProbe> {
    const key = `${a.host} ${a.address}`;
    let p = this.hellos.get(key);
    if (!p) {
      p = probeHello(helloTarget(a, this.options, this.remainingMs()), this.signal);
      this.hellos.set(key, p);
    }
    return p;
  }
}

/** "host (address)": how findings name an MX address. */
export const subjectOf = (a: Pick<MxAddress, 'host' | 'address'>) => `${a.host} (${a.address})`;
