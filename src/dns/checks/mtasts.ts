import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { aLabels } from '../domain.js';
import type { Resolver } from '../resolver.js';
import { tags, type Finding } from './finding.js';

export interface MtaStsPolicy {
  version: string | undefined;
  mode: string | undefined;
  mx: string[];
  maxAge: number | undefined;
}

export interface HttpsOptions {
  ca: string | undefined;
  timeoutMs: number;
  /** 443 unless a test bed says otherwise. */
  port: number;
}

/**
 * MTA-STS (RFC 8461): the _mta-sts TXT record, the policy from
 * https://mta-sts.<domain>/.well-known/mta-sts.txt (certificate checked, redirects
 * refused), and every MX host matched against the policy's mx patterns.
 */
export async function checkMtaSts(resolver: Resolver, domain: string, mxHosts: string[], http: HttpsOptions): Promise<Finding> {
  const records = (await resolver.txt(`_mta-sts.${domain}`)).records.filter((r) => /^v=STSv1\s*(;|$)/i.test(r.trim()));
  const base = { check: 'MTA-STS' as const, records };
  if (!records.length) return { ...base, status: 'absent', summary: 'no MTA-STS record: senders may deliver without TLS or with any certificate', details: [] };
  if (records.length > 1) return { ...base, status: 'fail', summary: `${records.length} _mta-sts records: RFC 8461 §3.1 says senders then assume no policy`, details: [] };
  const id = tags(records[0]!).get('id');
  if (!id || !/^[A-Za-z0-9]{1,32}$/.test(id)) return { ...base, status: 'fail', summary: `the id= is ${id ? `"${id}", not 1 to 32 letters and digits` : 'missing'}`, details: [] };
  // The A-label form: it is the name on the certificate, in SNI and in Host (bücher.test's is mta-sts.xn--bcher-kva.test).
  const host = aLabels(`mta-sts.${domain}`) ?? `mta-sts.${domain}`;
  let text: string;
  try {
    text = await fetchPolicy(resolver, host, http);
  } catch (err) {
    return { ...base, status: 'fail', summary: `the policy could not be fetched from https://${host}/.well-known/mta-sts.txt: ${(err as Error).message}`, details: [] };
  }
  const policy = parsePolicy(text);
  const details = [`policy: mode ${policy.mode}, max_age ${policy.maxAge}, mx ${policy.mx.join(', ') || '(none)'}`];
  const problems: string[] = [];
  if (policy.version !== 'STSv1') problems.push(`version is ${policy.version ?? 'missing'}, not STSv1`);
  if (!['enforce', 'testing', 'none'].includes(policy.mode ?? '')) problems.push(`mode is ${policy.mode ?? 'missing'}, not enforce, testing or none`);
  if (policy.maxAge === undefined || policy.maxAge > 31_557_600) problems.push(`max_age is ${policy.maxAge ?? 'missing'} (at most 31557600)`);
  if (policy.mode !== 'none' && !policy.mx.length) problems.push('no mx: line');
  const unmatched = mxHosts.filter((h) => !policy.mx.some((p) => mxMatches(p, h)));
  if (unmatched.length && policy.mode !== 'none') problems.push(`MX host${unmatched.length > 1 ? 's' : ''} ${unmatched.join(', ')} not covered by the policy: senders that enforce it will not deliver there`);
  if (problems.length) return { ...base, status: 'fail', summary: problems.join('; '), details };
  const warn = policy.mode === 'testing' ? 'mode testing: failures are only reported' : policy.mode === 'none' ? 'mode none: the policy is withdrawn' : '';
  return { ...base, status: warn ? 'warn' : 'pass', summary: warn || `enforced for ${mxHosts.length} MX host(s)`, details };
}

export function parsePolicy(text: string): MtaStsPolicy {
  const policy: MtaStsPolicy = { version: undefined, mode: undefined, mx: [], maxAge: undefined };
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === 'version') policy.version = value;
    else if (key === 'mode') policy.mode = value;
    else if (key === 'mx') policy.mx.push(value.toLowerCase());
    else if (key === 'max_age') policy.maxAge = /^\d{1,10}$/.test(value) ? Number(value) : undefined;
  }
  return policy;
}

/** RFC 8461 §4.1: a leading "*." matches exactly one label. */
export function mxMatches(pattern: string, host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  const p = pattern.toLowerCase().replace(/\.$/, '');
  if (p.startsWith('*.')) {
    const rest = h.slice(h.indexOf('.') + 1);
    return h.includes('.') && rest === p.slice(2);
  }
  return h === p;
}

/** The policy file, fetched from an address our resolver found, the name checked on the certificate. */
async function fetchPolicy(resolver: Resolver, host: string, http: HttpsOptions): Promise<string> {
  const addresses = await resolver.addresses(host);
  if (!addresses.length) throw new Error(`${host} has no address`);
  const address = addresses[0]!.address;
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: address,
        port: http.port,
        path: '/.well-known/mta-sts.txt',
        servername: host,
        headers: { host },
        ca: http.ca ? [...rootCertificates, http.ca] : undefined,
        timeout: http.timeoutMs,
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`HTTP ${res.statusCode}${res.statusCode && res.statusCode >= 300 && res.statusCode < 400 ? ' (a redirect: RFC 8461 §3.3 forbids following it)' : ''}`));
          return;
        }
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
          if (body.length > 65_536) req.destroy(new Error('the policy is over 64 KB'));
        });
        res.on('end', () => resolve(body));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${http.timeoutMs} ms`)));
    req.on('error', (err) => reject(new Error((err as NodeJS.ErrnoException).code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? `the certificate is not valid for ${host}` : err.message)));
    req.end();
  });
}
