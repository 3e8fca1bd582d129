import { DnsFailure, type Resolver } from '../resolver.js';
import { sayIssue, type Finding } from './finding.js';
import { parseSpf, type SpfIssue } from './spf-syntax.js';

const LIMIT = 10;
const VOID_LIMIT = 2;

interface Walk {
  lookups: number;
  voids: number;
  issues: SpfIssue[];
  details: string[];
}

/**
 * SPF (RFC 7208): exactly one v=spf1 record, every term checked for syntax (spf-syntax.ts),
 * then walked as a receiver would for an address that matches nothing: includes and
 * redirect followed (loops caught), at most 10 terms that cost DNS look-ups (§4.6.4) and at
 * most 2 look-ups that find nothing (void look-ups, §4.6.4). Terms with macros depend on
 * the mail and are not followed.
 */
export async function checkSpf(resolver: Resolver, domain: string): Promise<Finding> {
  const found = await spfRecords(resolver, domain);
  const base = { check: 'SPF' as const, records: found };
  if (!found.length)
    return {
      ...base,
      status: 'absent',
      summary: 'no SPF record: receivers cannot tell which servers may send for this domain',
      details: [],
    };
  if (found.length > 1)
    return {
      ...base,
      status: 'fail',
      summary: `${found.length} SPF records: RFC 7208 §4.5 makes that a permanent error (merge them into one)`,
      details: [],
      issues: [{ severity: 'error', text: `${found.length} SPF records`, ref: 'RFC 7208 §4.5' }],
    };
  const w: Walk = { lookups: 0, voids: 0, issues: [], details: [] };
  await walk(resolver, found[0]!, domain, w, [domain]);
  if (w.lookups > LIMIT)
    w.issues.push({
      severity: 'error',
      text: `${w.lookups} DNS-querying terms, over the limit of ${LIMIT}: receivers return permerror`,
      ref: 'RFC 7208 §4.6.4',
    });
  if (w.voids > VOID_LIMIT)
    w.issues.push({
      severity: 'error',
      text: `${w.voids} look-ups found nothing (void look-ups), over the limit of ${VOID_LIMIT}: receivers return permerror`,
      ref: 'RFC 7208 §4.6.4',
    });
  const top = parseSpf(found[0]!, domain).terms;
  const all = top.find((t) => t.kind === 'mechanism' && t.name === 'all');
  if (all?.qualifier === '+')
    w.issues.push({
      severity: 'error',
      text: '"+all" lets every server on the Internet send as this domain',
      ref: 'RFC 7208 §5.1',
    });
  if (all?.qualifier === '?')
    w.issues.push({ severity: 'warning', text: '"?all" is neutral: it protects nothing', ref: 'RFC 7208 §8.2' });
  if (!all && !top.some((t) => t.kind === 'modifier' && t.name === 'redirect'))
    w.issues.push({
      severity: 'warning',
      text: 'no "all" and no redirect=: mail from any other server gets "neutral"',
      ref: 'RFC 7208 §4.7',
    });
  const details = [
    `${w.lookups} of ${LIMIT} DNS look-ups used, ${w.voids} of ${VOID_LIMIT} void look-ups`,
    ...w.details,
  ];
  const errors = w.issues.filter((i) => i.severity === 'error');
  const warnings = w.issues.filter((i) => i.severity === 'warning');
  const status = errors.length ? 'fail' : warnings.length ? 'warn' : 'pass';
  return {
    ...base,
    status,
    summary: status === 'pass' ? 'one valid SPF record' : [...errors, ...warnings].map(sayIssue).join('; '),
    details,
    issues: w.issues,
  };
}

async function spfRecords(resolver: Resolver, domain: string): Promise<string[]> {
  const txt = await resolver.txt(domain);
  return txt.records.filter(isSpfRecord);
}

/** RFC 7208 §4.5: the record begins with "v=spf1" followed by a space or its end; leading space makes it not SPF. */
const isSpfRecord = (r: string) => /^v=spf1( |$)/i.test(r);

/** A failed look-up is not "no record": RFC 7208 §5.2 and §4.4 make it a temperror (undefined: go on with the next term). */
async function temp<T>(w: Walk, term: string, domain: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof DnsFailure)) throw err;
    w.issues.push({
      severity: 'error',
      text: `${term}: the DNS look-up failed (${err.short}): that is a temperror (in ${domain}), receivers defer the mail`,
      ref: 'RFC 7208 §4.4, §5.2',
    });
    return undefined;
  }
}

/** Absent (NXDOMAIN or no records) counts as a void look-up. */
async function isVoid(lookup: Promise<{ records: unknown[] }>): Promise<boolean> {
  return !(await lookup).records.length;
}

async function walk(resolver: Resolver, record: string, domain: string, w: Walk, path: string[]): Promise<void> {
  const parsed = parseSpf(record, domain);
  w.issues.push(...parsed.issues);
  // A record with a syntax error is a permerror as a whole: receivers evaluate none of it.
  if (parsed.issues.some((i) => i.severity === 'error')) return;
  const indent = '  '.repeat(path.length - 1);
  const hasAll = parsed.terms.some((t) => t.kind === 'mechanism' && t.name === 'all');
  for (const t of parsed.terms) {
    if (w.lookups > LIMIT) return;
    if (t.kind === 'mechanism' && t.name === 'all') return;
    const isRedirect = t.kind === 'modifier' && t.name === 'redirect';
    if (isRedirect && hasAll) continue;
    if (!(t.kind === 'mechanism' && ['include', 'a', 'mx', 'ptr', 'exists'].includes(t.name)) && !isRedirect) continue;
    w.lookups++;
    if (t.macro) {
      w.details.push(`${indent}${t.raw}: has macros, depends on each message (not followed)`);
      continue;
    }
    const target = (t.value ?? domain).toLowerCase().replace(/\.$/, '');
    if (t.name === 'include' || isRedirect) {
      if (path.includes(target)) {
        w.issues.push({
          severity: 'error',
          text: `${t.raw} in ${domain} loops back to ${target} (${[...path, target].join(' → ')})`,
          ref: `RFC 7208 §${isRedirect ? '6.1' : '5.2'}`,
        });
        return;
      }
      const txt = await temp(w, t.raw, domain, () => resolver.txt(target));
      if (!txt) continue;
      if (!txt.records.length) w.voids++;
      const nested = txt.records.filter(isSpfRecord);
      if (nested.length !== 1) {
        w.issues.push({
          severity: 'error',
          text: `${t.raw} in ${domain}: ${target} has ${nested.length ? `${nested.length} SPF records` : 'no SPF record'}, which is a permerror`,
          ref: `RFC 7208 §${isRedirect ? '6.1' : '5.2'}`,
        });
        continue;
      }
      w.details.push(`${indent}${t.raw} → ${nested[0]}`);
      await walk(resolver, nested[0]!, target, w, [...path, target]);
      continue;
    }
    if (
      t.name === 'a' &&
      (await temp(w, t.raw, domain, () => isVoid(resolver.addresses(target).then((records) => ({ records })))))
    ) {
      w.voids++;
      w.issues.push({
        severity: 'warning',
        text: `${t.raw} in ${domain}: ${target} has no A or AAAA record (a void look-up; it matches nothing)`,
        ref: 'RFC 7208 §4.6.4, §5.3',
      });
    }
    if (t.name === 'mx') {
      const mx = await temp(w, t.raw, domain, () => resolver.mx(target));
      if (!mx) continue;
      if (!mx.records.length) {
        w.voids++;
        w.issues.push({
          severity: 'warning',
          text: `${t.raw} in ${domain}: ${target} has no MX record (a void look-up; it matches nothing)`,
          ref: 'RFC 7208 §4.6.4, §5.4',
        });
      } else if (mx.records.length > 10) {
        w.issues.push({
          severity: 'error',
          text: `${t.raw} in ${domain}: ${target} has ${mx.records.length} MX records, over the 10 an mx mechanism may look up`,
          ref: 'RFC 7208 §4.6.4',
        });
      }
    }
    if (t.name === 'exists' && (await temp(w, t.raw, domain, () => isVoid(resolver.query(target, 'A'))))) {
      w.voids++;
      w.details.push(`${indent}${t.raw}: ${target} has no A record (void look-up)`);
    }
  }
}
