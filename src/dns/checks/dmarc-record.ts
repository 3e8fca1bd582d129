import type { FoundRecord } from './dmarc-discovery.js';
import { mailtoProblem, parseReportUri } from './report-uri.js';

export interface DmarcIssue {
  severity: 'error' | 'warning';
  text: string;
  ref: string;
}

const TAGS = 'RFC 9989 §4.7';
const POLICIES = ['none', 'quarantine', 'reject'];
const KNOWN = ['v', 'p', 'sp', 'np', 'adkim', 'aspf', 'fo', 'psd', 'rua', 'ruf', 't'];
/** In RFC 7489, gone from RFC 9989: receivers ignore them. */
const REMOVED: Record<string, string> = {
  pct: 'pct= (partial enforcement) was replaced by t=',
  rf: 'rf= (failure report format) was removed',
  ri: 'ri= (report interval) was removed',
};

/** Each tag of a DMARC record judged against RFC 9989 §4.7; the record is known to start with v=DMARC1. */
export function judgeDmarcRecord(r: FoundRecord): DmarcIssue[] {
  const issues: DmarcIssue[] = [];
  const err = (text: string, ref = TAGS) => issues.push({ severity: 'error', text, ref });
  const warn = (text: string, ref = TAGS) => issues.push({ severity: 'warning', text, ref });
  const seen = new Set<string>();
  for (const part of r.record.split(';')) {
    if (!part.trim()) continue;
    const eq = part.indexOf('=');
    if (eq < 1) {
      err(`"${part.trim()}" is not tag=value`);
      continue;
    }
    const name = part.slice(0, eq).trim().toLowerCase();
    if (seen.has(name)) warn(`the tag ${name}= appears twice`);
    seen.add(name);
    if (REMOVED[name]) warn(`${name}=${part.slice(eq + 1).trim()}: ${REMOVED[name]} in RFC 9989; receivers ignore it`);
    else if (!KNOWN.includes(name)) warn(`unknown tag ${name}= is ignored`);
  }
  const t = r.tags;
  const p = t.get('p')?.toLowerCase();
  if (p === undefined)
    warn(
      t.has('rua')
        ? 'no p= tag: receivers act as if p=none'
        : 'no p= tag and no rua=: receivers treat the record as no policy at all',
    );
  else if (!POLICIES.includes(p)) err(`the p= tag is "${t.get('p')}", not none, quarantine or reject`);
  for (const k of ['sp', 'np']) {
    const v = t.get(k)?.toLowerCase();
    if (v !== undefined && !POLICIES.includes(v)) err(`${k}=${t.get(k)} is not none, quarantine or reject`);
  }
  for (const k of ['adkim', 'aspf']) {
    const v = t.get(k)?.toLowerCase();
    if (v !== undefined && v !== 'r' && v !== 's') err(`${k}=${t.get(k)} is not r (relaxed) or s (strict)`);
  }
  const psd = t.get('psd')?.toLowerCase();
  if (psd !== undefined && !['y', 'n', 'u'].includes(psd)) err(`psd=${t.get('psd')} is not y, n or u`);
  const testing = t.get('t')?.toLowerCase();
  if (testing !== undefined && testing !== 'y' && testing !== 'n') err(`t=${t.get('t')} is not y or n`);
  if (testing === 'y')
    warn('t=y: testing mode, receivers apply the policy one step softer (reject as quarantine, quarantine as none)');
  const fo = t.get('fo');
  if (fo !== undefined && !fo.split(':').every((o) => ['0', '1', 'd', 's'].includes(o.trim().toLowerCase())))
    err(`fo=${fo} is not a list of 0, 1, d and s`);
  for (const k of ['rua', 'ruf']) {
    const v = t.get(k);
    if (v !== undefined) issues.push(...judgeUris(k, v));
  }
  if (p === 'none') warn('p=none only monitors: failing mail is still delivered');
  if (!t.has('rua')) warn('no rua=: no aggregate reports will tell you who sends as this domain');
  return issues;
}

/** rua=/ruf=: comma-separated URIs, each with an optional !size (RFC 9989 §4.7); mail receivers send only to mailto:. */
function judgeUris(tag: string, value: string): DmarcIssue[] {
  const out: DmarcIssue[] = [];
  for (const raw of value.split(',')) {
    const uri = raw.trim().replace(/!\d+[kmgt]?$/i, '');
    const parsed = parseReportUri(tag, uri);
    if ('problem' in parsed) {
      out.push({ severity: 'error', text: parsed.problem, ref: TAGS });
      continue;
    }
    if (parsed.scheme !== 'mailto') {
      out.push({
        severity: 'warning',
        text: `${tag}=${uri}: receivers send reports only to mailto: addresses`,
        ref: TAGS,
      });
      continue;
    }
    const problem = mailtoProblem(tag, uri, parsed.rest);
    if (problem) out.push({ severity: 'error', text: problem, ref: TAGS });
  }
  return out;
}
