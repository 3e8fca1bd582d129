import { aLabels } from '../domain.js';
import { DnsFailure, type Resolver } from '../resolver.js';
import { tags } from './finding.js';

/** A DMARC record found by the walk, where it was found. */
export interface FoundRecord {
  domain: string;
  record: string;
  tags: Map<string, string>;
}

export interface Discovery {
  /** The record that applies to the domain: its own, or the first one found walking up. */
  policy: FoundRecord | undefined;
  /** RFC 9989 §4.10.2; the domain itself when the walk found no record. */
  orgDomain: string;
  /** Every name asked, in order. */
  queried: string[];
  /** Names with more than one DMARC record (all of them ignored). */
  ambiguous: string[];
  /** Records that try to be DMARC but do not begin with v=DMARC1 exactly (v=dmarc1): receivers discard them. */
  ignored: Array<{ domain: string; record: string }>;
  /** The walk stopped early: a look-up above the domain itself failed (the domain's own failure throws). */
  stoppedAt: { domain: string; failure: DnsFailure } | undefined;
}

/** v=DMARC1 exactly, first (RFC 9989 §4.7: the version is case-sensitive). */
export const isDmarcRecord = (r: string) => /^v\s*=\s*DMARC1\s*(;|$)/.test(r.trim());

/** A record meant as DMARC that receivers discard: another case (v=dmarc1), another version, v= not first. */
const isIgnoredDmarc = (r: string) => !isDmarcRecord(r) && /(^|;)\s*v\s*=\s*dmarc/i.test(r);

/** The next name up (RFC 9989 §4.10.1 step 5): one label fewer, but a long name jumps straight to its last four labels. */
export function nextTarget(domain: string): string | undefined {
  const labels = domain.split('.');
  if (labels.length <= 1) return undefined;
  return (labels.length >= 5 ? labels.slice(-4) : labels.slice(1)).join('.');
}

/**
 * The DNS Tree Walk (RFC 9989 §4.10): from the domain towards the root, reading
 * _dmarc.<name> and stopping at a record with psd=n, or psd=y above the domain itself. It
 * finds both the policy and the organisational domain, with no Public Suffix List and no
 * "last two labels".
 */
export async function treeWalk(resolver: Resolver, domain: string): Promise<Discovery> {
  const d = domain.toLowerCase().replace(/\.$/, '');
  const found: FoundRecord[] = [];
  const queried: string[] = [];
  const ambiguous: string[] = [];
  const ignored: Discovery['ignored'] = [];
  let stoppedAt: Discovery['stoppedAt'];
  const dmarcRecords = async (name: string) => {
    const all = (await resolver.txt(`_dmarc.${name}`)).records;
    for (const record of all.filter(isIgnoredDmarc)) ignored.push({ domain: name, record });
    return all.filter(isDmarcRecord);
  };
  for (let target: string | undefined = d; target; target = nextTarget(target)) {
    queried.push(target);
    let records: string[];
    try {
      records = await dmarcRecords(target);
    } catch (err) {
      // The domain's own record decides the policy: its failure is a temperror. Higher up
      // (a TLD that refuses, say) the walk ends with what it has found.
      if (target === d || !(err instanceof DnsFailure)) throw err;
      stoppedAt = { domain: target, failure: err };
      break;
    }
    if (records.length > 1) {
      ambiguous.push(target);
      continue;
    }
    if (!records.length) continue;
    const rec = { domain: target, record: records[0]!, tags: tags(records[0]!) };
    found.push(rec);
    // §4.10.1 steps 2 and 7: the domain's own record stops the walk only with psd=n.
    const psd = rec.tags.get('psd')?.toLowerCase();
    if (psd === 'n' || (psd === 'y' && target !== d)) break;
  }
  const orgDomain = orgDomainOf(d, found);
  // psd=y makes the name one label below it the organisational domain; a walk that jumped
  // from 5+ labels to 4 never asked it (x.y.school.pvt.k12.ma.us: pvt.k12.ma.us is the PSD,
  // school.pvt.k12.ma.us was skipped). Its record is the policy before the PSD's (§4.10.2).
  if (orgDomain !== d && !queried.includes(orgDomain)) {
    queried.push(orgDomain);
    try {
      const records = await dmarcRecords(orgDomain);
      if (records.length > 1) ambiguous.push(orgDomain);
      else if (records.length) found.push({ domain: orgDomain, record: records[0]!, tags: tags(records[0]!) });
    } catch (err) {
      if (!(err instanceof DnsFailure)) throw err;
      stoppedAt ??= { domain: orgDomain, failure: err };
    }
  }
  // §4.10.2: the policy is the record of the domain itself, of its organisational domain, or of
  // its public suffix domain; a record in between (dept.example.com for a.dept.example.com
  // when example.com is the organisational domain) is none of those.
  const policy =
    found.find((r) => r.domain === d) ??
    found.find((r) => r.domain === orgDomain) ??
    found.find((r) => r.domain !== d && r.tags.get('psd')?.toLowerCase() === 'y');
  return { policy, orgDomain, queried, ambiguous, ignored, stoppedAt };
}

/** RFC 9989 §4.10.2: psd=n marks it, psd=y marks the name one label below, else the shortest name with a record. */
function orgDomainOf(start: string, found: FoundRecord[]): string {
  for (const r of found) {
    const psd = r.tags.get('psd')?.toLowerCase();
    if (psd === 'n') return r.domain;
    if (psd === 'y' && r.domain !== start) {
      const labels = start.split('.');
      return labels.slice(labels.length - r.domain.split('.').length - 1).join('.');
    }
  }
  if (!found.length) return start;
  return found.reduce((a, b) => (b.domain.split('.').length < a.domain.split('.').length ? b : a)).domain;
}

/** DMARC identifier alignment (RFC 9989 §3.2.x): strict = the same name, relaxed = the same organisational domain. */
export async function alignment(
  resolver: Resolver,
  fromDomain: string,
  authDomain: string,
): Promise<{ strict: boolean; relaxed: boolean; fromOrg: string; authOrg: string }> {
  // RFC 8616: an internationalized From: domain (jörg@bücher.test) is compared in its A-label
  // form, the form d= carries (xn--bcher-kva.test); as typed they never look aligned.
  const a = comparable(fromDomain);
  const b = comparable(authDomain);
  if (a === b) return { strict: true, relaxed: true, fromOrg: a, authOrg: b };
  const walks = await Promise.all([treeWalk(resolver, a), treeWalk(resolver, b)]);
  // A walk that failed before finding any record cannot name the organisational domain: the
  // record that would have named it may be the one it could not read. Unknown, not "not aligned".
  for (const w of walks) if (w.stoppedAt && !w.policy) throw w.stoppedAt.failure;
  const [fromOrg, authOrg] = walks.map((x) => x.orgDomain);
  return { strict: false, relaxed: fromOrg === authOrg, fromOrg: fromOrg!, authOrg: authOrg! };
}

const comparable = (name: string) => {
  const d = name.toLowerCase().replace(/\.$/, '');
  return aLabels(d) ?? d;
};
