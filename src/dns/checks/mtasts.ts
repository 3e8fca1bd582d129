import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { aLabels } from '../domain.js';
import type { Resolver } from '../resolver.js';
import { namesThisHost, thisHostReason } from '../../util/this-host.js';
import { firstTag, tags, type Finding } from './finding.js';

export interface MtaStsPolicy {
  version: string | undefined;
  mode: string | undefined;
  mx: string[];
  maxAge: number | undefined;
  /** Field names that are a known one in another case (Mode:): unknown fields to a sender, ignored. */
  miscased: string[];
}

export interface HttpsOptions {
  ca: string | undefined;
  timeoutMs: number;
  /** 443 unless a test bed says otherwise. */
  port: number;
}

const TXT_REF = 'RFC 8461 §3.1';
/** The version is case-sensitive (%s"v=STSv1" in the ABNF): v=stsv1 is discarded by senders. */
const isStsRecord = (r: string) => /^v=STSv1\s*(;|$)/.test(r.trim());
const looksLikeSts = (r: string) => /^v\s*=\s*stsv/i.test(r.trim());

/**
 * MTA-STS (RFC 8461): the _mta-sts TXT record, the policy from
 * https://mta-sts.<domain>/.well-known/mta-sts.txt (certificate checked, redirects
 * refused), and every MX host matched against the policy's mx patterns. `mxHosts`
 * undefined: the MX hosts are unknown (none, or their look-up failed), so none is matched.
 */
export async function checkMtaSts(
  resolver: Resolver,
  domain: string,
  mxHosts: string[] | undefined,
  http: HttpsOptions,
): Promise<Finding> {
  const found = (await resolver.txt(`_mta-sts.${domain}`)).records;
  const records = found.filter(isStsRecord);
  const ignored = found.filter((r) => !isStsRecord(r) && looksLikeSts(r));
  const base = { check: 'MTA-STS' as const, records };
  if (!records.length && ignored.length) {
    const text = `the _mta-sts record begins "${firstTag(ignored[0]!)}", not exactly "v=STSv1" (case-sensitive, no spaces): senders discard the record and see no MTA-STS policy`;
    return {
      ...base,
      records: ignored,
      status: 'fail',
      summary: `${text} (${TXT_REF})`,
      details: [],
      issues: [{ severity: 'error', text, ref: TXT_REF }],
    };
  }
  if (!records.length)
    return {
      ...base,
      status: 'absent',
      summary: 'no MTA-STS record: senders may deliver without TLS or with any certificate',
      details: [],
    };
  if (records.length > 1)
    return {
      ...base,
      status: 'fail',
      summary: `${records.length} _mta-sts records: RFC 8461 §3.1 says senders then assume no policy`,
      details: [],
    };
  const fields = tags(records[0]!, { caseSensitive: true });
  const id = fields.get('id');
  if (!id) {
    const miscased = [...fields.keys()].find((k) => k.toLowerCase() === 'id');
    const text = miscased
      ? `"${miscased}=" is not "id=": field names are case-sensitive, so the record has no id`
      : 'the id= is missing';
    return {
      ...base,
      status: 'fail',
      summary: `${text} (${TXT_REF})`,
      details: [],
      issues: [{ severity: 'error', text, ref: TXT_REF }],
    };
  }
  if (!/^[A-Za-z0-9]{1,32}$/.test(id))
    return { ...base, status: 'fail', summary: `the id= is "${id}", not 1 to 32 letters and digits`, details: [] };
  // The A-label form: it is the name on the certificate, in SNI and in Host (bücher.test's is mta-sts.xn--bcher-kva.test).
  const host = aLabels(`mta-sts.${domain}`) ?? `mta-sts.${domain}`;
  let fetched: { body: string; mediaType: string | undefined };
  try {
    fetched = await fetchPolicy(resolver, host, http);
  } catch (err) {
    return {
      ...base,
      status: 'fail',
      summary: `the policy could not be fetched from https://${host}/.well-known/mta-sts.txt: ${(err as Error).message}`,
      details: [],
    };
  }
  const policy = parsePolicy(fetched.body);
  const details = [`policy: mode ${policy.mode}, max_age ${policy.maxAge}, mx ${policy.mx.join(', ') || '(none)'}`];
  const problems: string[] = [];
  for (const k of policy.miscased)
    problems.push(
      `the policy field "${k}:" is not "${k.toLowerCase()}:": field names are case-sensitive (RFC 8461 §3.2), so senders ignore it`,
    );
  if (policy.version !== 'STSv1') problems.push(`version is ${policy.version ?? 'missing'}, not STSv1`);
  if (!['enforce', 'testing', 'none'].includes(policy.mode ?? ''))
    problems.push(`mode is ${policy.mode ?? 'missing'}, not enforce, testing or none`);
  if (policy.maxAge === undefined || policy.maxAge > 31_557_600)
    problems.push(`max_age is ${policy.maxAge ?? 'missing'} (at most 31557600)`);
  if (policy.mode !== 'none' && !policy.mx.length) problems.push('no mx: line');
  const unmatched = (mxHosts ?? []).filter((h) => !policy.mx.some((p) => mxMatches(p, h)));
  if (unmatched.length && policy.mode !== 'none')
    problems.push(
      `MX host${unmatched.length > 1 ? 's' : ''} ${unmatched.join(', ')} not covered by the policy: senders that enforce it will not deliver there`,
    );
  if (problems.length) return { ...base, status: 'fail', summary: problems.join('; '), details };
  const warnings: string[] = [];
  // §3.2: senders SHOULD check it, against hosting that lets users put HTML or images at any path.
  const media = fetched.mediaType;
  if (media !== 'text/plain')
    warnings.push(
      `the policy is served as ${media ? `"${media}"` : 'no media type'}, not text/plain: senders that check it (RFC 8461 §3.2) ignore the policy`,
    );
  if (policy.mode === 'testing') warnings.push('mode testing: failures are only reported');
  if (policy.mode === 'none') warnings.push('mode none: the policy is withdrawn');
  if (ignored.length)
    details.push(
      `also at _mta-sts.${domain}, discarded by senders (the version is case-sensitive): ${ignored.join(' | ')}`,
    );
  if (mxHosts === undefined) details.push('no MX host known to match against the policy');
  const covered =
    mxHosts === undefined
      ? `policy mode ${policy.mode}; no MX host to match it against`
      : `enforced for ${mxHosts.length} MX host(s)`;
  return { ...base, status: warnings.length ? 'warn' : 'pass', summary: warnings.join('; ') || covered, details };
}

const POLICY_FIELDS = ['version', 'mode', 'mx', 'max_age'];

/**
 * The policy's key: value lines (RFC 8461 §3.2). Field names are case-sensitive (%s"mode" in
 * the ABNF): "Mode:" is an unknown field, ignored. Of a repeated field other than mx the first counts.
 */
export function parsePolicy(text: string): MtaStsPolicy {
  const policy: MtaStsPolicy = { version: undefined, mode: undefined, mx: [], maxAge: undefined, miscased: [] };
  const seen = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (!POLICY_FIELDS.includes(key)) {
      if (POLICY_FIELDS.includes(key.toLowerCase()) && !policy.miscased.includes(key)) policy.miscased.push(key);
      continue;
    }
    if (key === 'mx') policy.mx.push(value.toLowerCase());
    else if (seen.has(key)) continue;
    else if (key === 'version') policy.version = value;
    else if (key === 'mode') policy.mode = value;
    else if (key === 'max_age') policy.maxAge = /^\d{1,10}$/.test(value) ? Number(value) : undefined;
    seen.add(key);
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
async function fetchPolicy(
  resolver: Resolver,
  host: string,
  http: HttpsOptions,
): Promise<{ body: string; mediaType: string | undefined }> {
  const addresses = (await resolver.addresses(host)).map((a) => a.address);
  if (!addresses.length) throw new Error(`${host} has no address`);
  // "This host" from DNS would fetch the policy from the machine smtpkit runs on.
  const address = addresses.find((a) => !namesThisHost(a));
  if (!address) throw new Error(`${host}: ${thisHostReason(addresses)}, so the policy is not fetched`);
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
          reject(
            new Error(
              `HTTP ${res.statusCode}${res.statusCode && res.statusCode >= 300 && res.statusCode < 400 ? ' (a redirect: RFC 8461 §3.3 forbids following it)' : ''}`,
            ),
          );
          return;
        }
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
          if (body.length > 65_536) req.destroy(new Error('the policy is over 64 KB'));
        });
        // Media types are case-insensitive (RFC 2045 §5.1); parameters such as charset do not matter here.
        const mediaType = res.headers['content-type']?.split(';')[0]!.trim().toLowerCase() || undefined;
        res.on('end', () => resolve({ body, mediaType }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${http.timeoutMs} ms`)));
    req.on('error', (err) =>
      reject(
        new Error(
          (err as NodeJS.ErrnoException).code === 'ERR_TLS_CERT_ALTNAME_INVALID'
            ? `the certificate is not valid for ${host}`
            : err.message,
        ),
      ),
    );
    req.end();
  });
}
