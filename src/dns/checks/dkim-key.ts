import { parseKeyRecord } from '../../dkim/key.js';
import type { Resolver } from '../resolver.js';
import { sayIssue, type Finding } from './finding.js';

/** Selectors seen often enough to be worth a guess; real ones can be any name. */
export const COMMON_SELECTORS = ['default', 'selector1', 'selector2', 'google', 'k1', 's1', 's2', 'dkim', 'mail'];

type Issue = NonNullable<Finding['issues']>[number];

/**
 * Published DKIM keys (RFC 6376 §3.6.1, RFC 8301, RFC 8463) at SELECTOR._domainkey.DOMAIN:
 * given selectors are judged (and missing ones fail); without any, a short list of
 * common selectors is tried, and finding none proves nothing.
 */
export async function checkDkimKeys(
  resolver: Resolver,
  domain: string,
  selectors: string[] | undefined,
): Promise<Finding> {
  const guessing = !selectors?.length;
  const list = guessing ? COMMON_SELECTORS : selectors!;
  const issues: Issue[] = [];
  const details: string[] = [];
  const records: string[] = [];
  let found = 0;
  for (const selector of list) {
    const name = `${selector}._domainkey.${domain}`;
    const answer = await resolver.txt(name);
    const keys = answer.records.filter((r) => /(^|;)\s*(v\s*=\s*DKIM1|p\s*=)/i.test(r));
    if (!keys.length) {
      if (!guessing)
        issues.push({
          severity: 'error',
          text: `no key at ${name}${answer.records.length ? ' (TXT records there, but none is a DKIM key)' : ''}: mail signed with s=${selector} fails as "key not found"`,
          ref: 'RFC 6376 §6.1.2',
        });
      continue;
    }
    found++;
    records.push(...keys.map((k) => `${name}: ${k}`));
    if (answer.cname)
      details.push(`${name} is a CNAME to ${answer.cname}: the key is hosted by that provider, which rotates it`);
    if (keys.length > 1)
      issues.push({
        severity: 'warning',
        text: `${keys.length} key records at ${name}: verifiers pick one, results differ`,
        ref: 'RFC 6376 §3.6.2.2',
      });
    const k = parseKeyRecord(keys[0]!);
    for (const e of k.errors) issues.push({ severity: 'error', text: `${name}: ${e}`, ref: 'RFC 6376 §3.6.1' });
    if (k.revoked) {
      issues.push({
        severity: 'warning',
        text: `${name} is revoked (empty p=): signatures with s=${selector} fail`,
        ref: 'RFC 6376 §3.6.1',
      });
      continue;
    }
    if (k.keyType === 'rsa' && k.bits !== undefined) {
      if (k.bits < 1024)
        issues.push({
          severity: 'error',
          text: `${name}: a ${k.bits}-bit RSA key; verifiers must reject keys under 1024 bits`,
          ref: 'RFC 8301 §3.2',
        });
      else if (k.bits < 2048)
        issues.push({
          severity: 'warning',
          text: `${name}: a ${k.bits}-bit RSA key; use 2048 bits`,
          ref: 'RFC 8301 §3.2',
        });
      details.push(`${name}: RSA ${k.bits} bits${k.testing ? ', testing' : ''}`);
    }
    if (k.keyType === 'ed25519' && k.key)
      details.push(
        `${name}: Ed25519 (RFC 8463); receivers that do not know it ignore the signature, so sign with RSA too`,
      );
    if (k.testing)
      issues.push({
        severity: 'warning',
        text: `${name} has t=y (testing): receivers treat its signatures as unsigned mail`,
        ref: 'RFC 6376 §3.6.1',
      });
    for (const n of k.notes) details.push(`${name}: ${n}`);
  }
  const base = { check: 'DKIM' as const, records, details, issues };
  if (guessing && !found)
    return {
      ...base,
      status: 'absent',
      summary: `no key under the common selectors (${COMMON_SELECTORS.join(', ')}); that proves nothing: a selector can be any name (give --dkim-selector, s= in a signed message's DKIM-Signature)`,
    };
  const errors = issues.filter((i) => i.severity === 'error');
  const warnings = issues.filter((i) => i.severity === 'warning');
  const status = errors.length ? 'fail' : warnings.length ? 'warn' : 'pass';
  return {
    ...base,
    status,
    summary:
      status === 'pass'
        ? `${found} key${found === 1 ? '' : 's'} published and usable${guessing ? ' (found by guessing common selectors)' : ''}`
        : [...errors, ...warnings].map(sayIssue).join('; '),
  };
}
