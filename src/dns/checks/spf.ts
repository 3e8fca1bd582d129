import { DnsFailure, type Resolver } from '../resolver.js';
import type { Finding } from './finding.js';

const LIMIT = 10;
const MECHANISM = /^([+\-~?]?)(all|include|a|mx|ptr|ip4|ip6|exists)(?:[:/](.*))?$/i;
const MODIFIER = /^(redirect|exp)=(.+)$/i;

/**
 * SPF (RFC 7208): exactly one v=spf1 record, terms that parse, and at most 10 terms that
 * cost DNS look-ups (include, a, mx, ptr, exists, redirect), counted through includes.
 */
export async function checkSpf(resolver: Resolver, domain: string): Promise<Finding> {
  const found = await spfRecords(resolver, domain);
  const base = { check: 'SPF' as const, records: found };
  if (!found.length) return { ...base, status: 'absent', summary: 'no SPF record: receivers cannot tell which servers may send for this domain', details: [] };
  if (found.length > 1) return { ...base, status: 'fail', summary: `${found.length} SPF records: RFC 7208 §4.5 makes that a permanent error (merge them into one)`, details: [] };
  const details: string[] = [];
  const counter = { lookups: 0, seen: new Set<string>([domain]) };
  const problems = await walk(resolver, found[0]!, domain, counter, details, 0);
  if (counter.lookups > LIMIT) problems.push(`${counter.lookups} DNS-querying terms, over the limit of ${LIMIT} (RFC 7208 §4.6.4): receivers will return permerror`);
  details.unshift(`${counter.lookups} of ${LIMIT} DNS look-ups used`);
  const failing = problems.filter((p) => p.startsWith('!'));
  const warnings = problems.filter((p) => !p.startsWith('!'));
  const status = failing.length || counter.lookups > LIMIT ? 'fail' : warnings.length ? 'warn' : 'pass';
  return { ...base, status, summary: status === 'pass' ? 'one valid SPF record' : [...failing.map((p) => p.slice(1)), ...warnings].join('; '), details };
}

async function spfRecords(resolver: Resolver, domain: string): Promise<string[]> {
  const txt = await resolver.txt(domain);
  return txt.records.filter((r) => /^v=spf1(\s|$)/i.test(r.trim()));
}

async function walk(resolver: Resolver, record: string, domain: string, counter: { lookups: number; seen: Set<string> }, details: string[], depth: number): Promise<string[]> {
  const problems: string[] = [];
  const terms = record.trim().split(/\s+/).slice(1);
  for (const term of terms) {
    const mech = MECHANISM.exec(term);
    const mod = MODIFIER.exec(term);
    if (!mech && !mod) {
      problems.push(`!"${term}" is not an SPF term (in ${domain})`);
      continue;
    }
    const name = (mech?.[2] ?? mod?.[1] ?? '').toLowerCase();
    if (['include', 'a', 'mx', 'ptr', 'exists', 'redirect'].includes(name)) counter.lookups++;
    if (name === 'ptr') problems.push(`"ptr" is slow and deprecated (RFC 7208 §5.5) in ${domain}`);
    if (name === 'all' && depth === 0) {
      const q = mech?.[1] || '+';
      if (q === '+') problems.push('!"+all" lets every server on the Internet send as this domain');
      if (q === '?') problems.push('"?all" is neutral: it protects nothing');
    }
    const target = name === 'include' || name === 'redirect' ? (mech?.[3] ?? mod?.[2]) : undefined;
    if (target && !counter.seen.has(target) && depth < 10 && counter.lookups <= 20) {
      counter.seen.add(target);
      let nested: string[];
      try {
        nested = await spfRecords(resolver, target);
      } catch (err) {
        // A failed look-up is not "no record": RFC 7208 §5.2 and §4.4 make it a temperror.
        if (!(err instanceof DnsFailure)) throw err;
        problems.push(`!${name}:${target}: the DNS look-up failed (${err.short}): that is a temperror (RFC 7208 §5.2), receivers defer the mail`);
        continue;
      }
      if (nested.length !== 1) {
        problems.push(`!${name}:${target} has ${nested.length ? `${nested.length} SPF records` : 'no SPF record'}: that is a permerror`);
        continue;
      }
      details.push(`${'  '.repeat(depth)}${name}:${target} → ${nested[0]}`);
      problems.push(...(await walk(resolver, nested[0]!, target, counter, details, depth + 1)));
    }
  }
  return problems;
}
