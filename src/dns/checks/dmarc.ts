import type { Resolver } from '../resolver.js';
import { treeWalk, type Discovery } from './dmarc-discovery.js';
import { judgeDmarcRecord } from './dmarc-record.js';
import { firstTag, lookupFailed, sayIssue, type Finding } from './finding.js';

/**
 * DMARC (RFC 9989, which obsoletes RFC 7489): the policy and the organisational domain
 * found by the DNS Tree Walk (§4.10), not by the last two labels nor a Public Suffix
 * List, then every tag judged (§4.7).
 */
export async function checkDmarc(resolver: Resolver, domain: string): Promise<Finding> {
  const walk = await treeWalk(resolver, domain);
  const found = judgeWalk(walk, domain);
  if (!walk.ignored.length) return found;
  // A record meant as DMARC that receivers discard is present, and wrong: never "no DMARC record".
  const ignored = walk.ignored.map((i) => ({
    severity: 'error' as const,
    text: `_dmarc.${i.domain} holds a record beginning "${firstTag(i.record)}", which receivers ignore: a DMARC record must begin with v=DMARC1, exactly (case-sensitive)`,
    ref: 'RFC 9989 §4.7',
  }));
  const rest = found.status === 'absent' ? 'so receivers find no DMARC policy for this domain' : found.summary;
  return {
    ...found,
    status: 'fail',
    summary: [...ignored.map(sayIssue), rest].join('; '),
    records: [...found.records, ...walk.ignored.map((i) => i.record)],
    issues: [...ignored, ...(found.issues ?? [])],
  };
}

/** The finding from what the walk found, with the records receivers use. */
function judgeWalk(walk: Discovery, domain: string): Finding {
  const details = [
    `tree walk (RFC 9989 §4.10) asked _dmarc.${walk.queried.join(', _dmarc.')}`,
    `organisational domain: ${walk.orgDomain}`,
  ];
  const stop = walk.stoppedAt;
  if (stop)
    details.push(
      `the walk stopped at _dmarc.${stop.domain}: ${stop.failure.message}${walk.policy ? '; the records below it decide' : ''}`,
    );
  if (walk.ambiguous.includes(domain)) {
    return {
      check: 'DMARC',
      status: 'fail',
      summary: `several DMARC records at _dmarc.${domain}: receivers ignore them all (RFC 9989 §4.10.1)`,
      details,
      records: [],
      issues: [{ severity: 'error', text: `several records at _dmarc.${domain}`, ref: 'RFC 9989 §4.10.1' }],
    };
  }
  // Nothing found before a look-up failed: the record that applies may be the one that could
  // not be read, so the policy is unknown (a temperror), not absent.
  if (stop && !walk.policy) {
    return {
      ...lookupFailed(
        'DMARC',
        stop.failure,
        `the policy could not be determined: the tree walk stopped at _dmarc.${stop.domain}`,
      ),
      details,
    };
  }
  const policy = walk.policy;
  if (!policy)
    return {
      check: 'DMARC',
      status: 'absent',
      summary: `no DMARC record at _dmarc.${domain} or above it: receivers get no policy for mail that fails SPF and DKIM`,
      details,
      records: [],
    };
  const records = [policy.record];
  if (policy.domain !== domain) {
    const sub = policy.tags.get('sp') ?? policy.tags.get('p');
    details.push(
      `no record at _dmarc.${domain}: the policy of ${policy.domain} applies${sub ? ` (to a subdomain: sp=${sub}${policy.tags.has('np') ? `, np=${policy.tags.get('np')} for names that do not exist` : ''})` : ''}`,
    );
  }
  for (const [k, label] of [
    ['sp', 'subdomain policy'],
    ['np', 'non-existent subdomain policy'],
    ['rua', 'aggregate reports to'],
    ['ruf', 'failure reports to'],
    ['adkim', 'DKIM alignment'],
    ['aspf', 'SPF alignment'],
    ['psd', 'public suffix domain'],
    ['t', 'testing'],
  ] as const) {
    if (policy.tags.has(k)) details.push(`${label}: ${policy.tags.get(k)}`);
  }
  const issues = judgeDmarcRecord(policy);
  const errors = issues.filter((i) => i.severity === 'error');
  const warnings = issues.filter((i) => i.severity === 'warning');
  const p = policy.tags.get('p')?.toLowerCase() ?? 'none';
  const status = errors.length ? 'fail' : warnings.length ? 'warn' : 'pass';
  return {
    check: 'DMARC',
    status,
    summary: errors.length
      ? errors.map(sayIssue).join('; ')
      : `policy ${p}${warnings.length ? `; ${warnings.map(sayIssue).join('; ')}` : ''}`,
    details,
    records,
    issues,
  };
}
