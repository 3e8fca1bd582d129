import { alignment, treeWalk, type Discovery } from '../dns/checks/dmarc-discovery.js';
import { DnsFailure, type Resolver } from '../dns/resolver.js';

/** DMARC as a receiver applies it to one message (RFC 9989): alignment, the policy, and what it asks for. */

export type Disposition = 'none' | 'quarantine' | 'reject';

export interface AlignedIdentifier {
  domain: string;
  /** undefined: the organisational domains could not be found (a DNS failure). */
  aligned: boolean | undefined;
  how: string;
}

export interface DmarcVerdict {
  result: 'pass' | 'fail' | 'none' | 'temperror' | 'permerror';
  reason: string;
  fromDomain: string | undefined;
  /** Where the policy record was found by the tree walk, and the record. */
  policyDomain: string | undefined;
  record: string | undefined;
  orgDomain: string | undefined;
  /** Which tag applies to this From: domain, and its value (p for the domain itself, sp/np below it). */
  policyTag: 'p' | 'sp' | 'np' | undefined;
  policy: Disposition | undefined;
  /** t=y: the owner is testing; receivers apply the policy one step softer (RFC 9989 §4.7). */
  testing: boolean;
  /** What the policy asks the receiver to do with this message. */
  disposition: Disposition;
  adkim: 'r' | 's';
  aspf: 'r' | 's';
  spf: AlignedIdentifier | undefined;
  dkim: Array<AlignedIdentifier & { index: number }>;
  notes: string[];
}

export interface DmarcInput {
  fromDomain: string | undefined;
  /** Why there is no single From: domain, when there is none. */
  fromProblem: string | undefined;
  /** The SPF result and the domain it authenticated (MAIL FROM's, or HELO's for the null sender); undefined when not evaluated. */
  spf: { result: string; domain: string } | undefined;
  dkim: Array<{ index: number; result: string; domain: string | undefined }>;
}

const POLICIES: Disposition[] = ['none', 'quarantine', 'reject'];
const SOFTER: Record<Disposition, Disposition> = { reject: 'quarantine', quarantine: 'none', none: 'none' };

export async function evaluateDmarc(resolver: Resolver, input: DmarcInput): Promise<DmarcVerdict> {
  const v: DmarcVerdict = {
    result: 'none',
    reason: '',
    fromDomain: input.fromDomain,
    policyDomain: undefined,
    record: undefined,
    orgDomain: undefined,
    policyTag: undefined,
    policy: undefined,
    testing: false,
    disposition: 'none',
    adkim: 'r',
    aspf: 'r',
    spf: undefined,
    dkim: [],
    notes: [],
  };
  const end = (result: DmarcVerdict['result'], reason: string) => Object.assign(v, { result, reason });
  const from = input.fromDomain;
  if (!from)
    return end(
      'permerror',
      `${input.fromProblem ?? 'no From: domain'}: DMARC needs exactly one author domain (RFC 9989 §4.4)`,
    );
  let walk: Discovery;
  try {
    walk = await treeWalk(resolver, from);
  } catch (err) {
    if (err instanceof DnsFailure)
      return end('temperror', `the DMARC policy of ${from} could not be read: ${err.message}`);
    throw err;
  }
  v.orgDomain = walk.orgDomain;
  if (walk.stoppedAt && !walk.policy)
    return end(
      'temperror',
      `the tree walk stopped at _dmarc.${walk.stoppedAt.domain} before finding a policy: ${walk.stoppedAt.failure.message}`,
    );
  const rec = walk.policy;
  if (!rec)
    return end(
      'none',
      `no DMARC record at _dmarc.${from} or above it (RFC 9989 §4.10 tree walk asked _dmarc.${walk.queried.join(', _dmarc.')})`,
    );
  v.policyDomain = rec.domain;
  v.record = rec.record;
  const t = rec.tags;
  v.adkim = t.get('adkim')?.toLowerCase() === 's' ? 's' : 'r';
  v.aspf = t.get('aspf')?.toLowerCase() === 's' ? 's' : 'r';
  v.testing = t.get('t')?.toLowerCase() === 'y';
  if (t.has('pct'))
    v.notes.push(
      `pct=${t.get('pct')} is ignored: RFC 9989 removed it (t=y is its replacement); receivers still on RFC 7489 apply the policy to that share of failing mail`,
    );
  // The tag for this name: the domain's own record uses p=; below the record, sp= (np= for a name that does not exist).
  if (rec.domain === from) v.policyTag = 'p';
  else if (t.has('np') && (await nonExistent(resolver, from))) v.policyTag = 'np';
  else v.policyTag = t.has('sp') ? 'sp' : 'p';
  const raw = t.get(v.policyTag)?.toLowerCase();
  v.policy = POLICIES.includes(raw as Disposition) ? (raw as Disposition) : 'none';
  if (raw === undefined) v.notes.push('the record has no p=: receivers act as if p=none');
  else if (v.policy !== raw)
    v.notes.push(`${v.policyTag}=${t.get(v.policyTag)} is not none, quarantine or reject: receivers act as if p=none`);

  // Identifier alignment (RFC 9989 §4.4): strict is the same name, relaxed the same organisational domain.
  const align = async (domain: string, mode: 'r' | 's', tag: 'adkim' | 'aspf'): Promise<AlignedIdentifier> => {
    try {
      const a = await alignment(resolver, from, domain);
      if (a.strict) return { domain, aligned: true, how: 'the same domain' };
      if (mode === 's')
        return {
          domain,
          aligned: false,
          how: `${a.relaxed ? 'the same organisational domain, but ' : ''}${tag}=s (strict) needs the same domain`,
        };
      return a.relaxed
        ? { domain, aligned: true, how: `the same organisational domain ${a.fromOrg}` }
        : { domain, aligned: false, how: `organisational domain ${a.authOrg}, not ${a.fromOrg}` };
    } catch (err) {
      if (!(err instanceof DnsFailure)) throw err;
      return { domain, aligned: undefined, how: `unknown: ${err.message}` };
    }
  };
  if (input.spf) {
    const s = await align(input.spf.domain, v.aspf, 'aspf');
    v.spf =
      input.spf.result === 'pass' ? s : { ...s, aligned: false, how: `SPF ${input.spf.result}, so it cannot align` };
  }
  for (const d of input.dkim) {
    if (!d.domain || d.result !== 'pass') continue;
    v.dkim.push({ index: d.index, ...(await align(d.domain, v.adkim, 'adkim')) });
  }
  const passedBy = [
    ...(v.spf?.aligned ? [`SPF (${v.spf.domain})`] : []),
    ...v.dkim.filter((d) => d.aligned).map((d) => `DKIM d=${d.domain}`),
  ];
  const label = `${v.policyTag}=${v.policy}${v.testing ? ' t=y' : ''} at _dmarc.${rec.domain}`;
  if (passedBy.length) return end('pass', `aligned ${passedBy.join(' and ')} with From: ${from} (${label})`);
  if (
    v.dkim.some((d) => d.aligned === undefined) ||
    (v.spf?.aligned === undefined && input.spf?.result === 'pass') ||
    input.spf?.result === 'temperror' ||
    input.dkim.some((d) => d.result === 'temperror')
  ) {
    return end('temperror', `nothing aligned passed, and a DNS failure left part of it unknown (${label})`);
  }
  v.disposition = v.testing ? SOFTER[v.policy] : v.policy;
  const why =
    !input.spf && !v.dkim.length
      ? 'no DKIM signature passed and SPF was not evaluated'
      : 'neither a passing SPF nor a passing DKIM identifier is aligned';
  return end('fail', `${why} with From: ${from} (${label})`);
}

/** RFC 9989 §4.7 np=: a name with no A, AAAA and MX records (NXDOMAIN). A failed look-up does not count as absent. */
async function nonExistent(resolver: Resolver, domain: string): Promise<boolean> {
  try {
    const [a, aaaa, mx] = await Promise.all([
      resolver.query(domain, 'A'),
      resolver.query(domain, 'AAAA'),
      resolver.query(domain, 'MX'),
    ]);
    return [a, aaaa, mx].every((x) => x.absent === 'NXDOMAIN');
  } catch {
    return false;
  }
}
