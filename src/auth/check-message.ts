import { isIP } from 'node:net';
import { SmtpkitError } from '../errors.js';
import { arcChain, type ArcResult } from '../dkim/arc.js';
import type { HeaderField } from '../dkim/fields.js';
import { dkimSignatures, fromDomainOf, readMessage, type SignatureResult } from '../dkim/verify.js';
import type { Resolver } from '../dns/resolver.js';
import { spfIdentity, type SpfResult, type SpfStep } from '../spf/check-host.js';
import { authenticationResults, type ResultInfo } from './authentication-results.js';
import { evaluateDmarc, type DmarcVerdict } from './dmarc.js';
import { receivedClient, returnPath } from './received.js';

/** What a receiver computes for a received message: SPF, DKIM, DMARC and ARC, and the Authentication-Results it adds. */

/** The SPF check_host() port (RFC 7208 §4): the engine does not care whose evaluator it is. */
export type SpfEvaluator = (
  ip: string,
  domain: string,
  sender: string,
  helo: string | undefined,
) => Promise<{ result: SpfResult; reason?: string; explanation?: string; trace?: SpfStep[] }>;

/** Where a value came from: the options, or the header (what the receiving side wrote). */
export type Source = 'option' | 'received' | 'return-path';

export interface SpfOutcome {
  /** `not-evaluated` when something needed was missing: `reason` says what. */
  result: SpfResult | 'not-evaluated';
  reason: string;
  explanation: string | undefined;
  /** Which identity was checked (RFC 7208 §2.3, §2.4): MAIL FROM's domain, or HELO's for the null sender. */
  identity: 'mailfrom' | 'helo' | undefined;
  domain: string | undefined;
  ip: string | undefined;
  ipSource: Source | undefined;
  helo: string | undefined;
  heloSource: Source | undefined;
  mailFrom: string | undefined;
  mailFromSource: Source | undefined;
  /** The evaluator's steps (each term, what it looked up, whether it matched), when it gave them. */
  trace: SpfStep[] | undefined;
}

export interface CheckMessageOptions {
  resolver: Resolver;
  /** undefined: no evaluator is available, SPF is reported as not evaluated. */
  spf: SpfEvaluator | undefined;
  ip?: string;
  helo?: string;
  /** The envelope sender; '' is the null sender. */
  mailFrom?: string;
  authservId: string;
  now?: Date;
}

export interface CheckMessageResult {
  fromDomain: string | undefined;
  /** The topmost Received: field when the client address or HELO was read from it. */
  received: string | undefined;
  spf: SpfOutcome;
  dkim: SignatureResult[];
  dmarc: DmarcVerdict;
  arc: ArcResult;
  authenticationResults: string;
}

export async function checkMessage(input: AsyncIterable<Buffer>, o: CheckMessageOptions): Promise<CheckMessageResult> {
  const now = o.now ?? new Date();
  let dkim: ReturnType<typeof dkimSignatures> | undefined;
  let arc: ReturnType<typeof arcChain> | undefined;
  // One pass over the message: the body goes to every DKIM signature and every ARC-Message-Signature.
  const fields = await readMessage(input, (f) => {
    dkim = dkimSignatures(f, now);
    arc = arcChain(f, now);
    return { update: (chunk) => (dkim!.update(chunk), arc!.update(chunk)) };
  });
  if (!fields.some((f) => f.raw.includes(':')))
    throw new SmtpkitError('usage', 'the input has no header fields: is this a message (RFC 5322)?');
  const signatures = await dkim!.finish(o.resolver);
  const chain = await arc!.finish(o.resolver);
  const { spf, received } = await evaluateSpf(fields, o);
  const fromDomain = fromDomainOf(fields);
  const fromCount = fields.filter((f) => f.name.toLowerCase() === 'from').length;
  const dmarc = await evaluateDmarc(o.resolver, {
    fromDomain,
    fromProblem:
      fromCount === 1
        ? 'the From: address has no domain'
        : `the message has ${fromCount || 'no'} From: field${fromCount === 1 ? '' : 's'}`,
    spf: spf.result !== 'not-evaluated' && spf.domain ? { result: spf.result, domain: spf.domain } : undefined,
    dkim: signatures.map((s) => ({ index: s.index, result: s.result, domain: s.domain })),
  });
  // A DMARC failure that a trusted sealer saw pass is the receiver's call: a local-policy override (RFC 8617 §7.2.1).
  const vouched =
    chain.result === 'pass' ? chain.sets.filter((s) => /(?:^|;)\s*dmarc=pass\b/i.test(s.authResults ?? '')) : [];
  if (dmarc.result === 'fail' && vouched.length)
    dmarc.notes.push(
      `the ARC chain passes and ${vouched.map((s) => `i=${s.instance} (${s.authservId ?? s.seal.domain})`).join(', ')} recorded dmarc=pass: a receiver that trusts that sealer may deliver despite the policy (RFC 8617 §7.2.1)`,
    );
  return {
    fromDomain,
    received,
    spf,
    dkim: signatures,
    dmarc,
    arc: chain,
    authenticationResults: authenticationResults(
      o.authservId,
      resultInfos(spf, signatures, dmarc, chain, signatureValues(fields)),
    ),
  };
}

/** Each DKIM signature's b= (its first 8 characters tell signatures apart, RFC 6008). */
function signatureValues(fields: HeaderField[]): string[] {
  return fields
    .filter((f) => f.name.toLowerCase() === 'dkim-signature')
    .map((f) => /(?:^|;)\s*b\s*=\s*([^;]*)/.exec(f.raw.slice(f.raw.indexOf(':') + 1))?.[1]?.replace(/\s+/g, '') ?? '');
}

async function evaluateSpf(
  fields: HeaderField[],
  o: CheckMessageOptions,
): Promise<{ spf: SpfOutcome; received: string | undefined }> {
  const rc = receivedClient(fields);
  const ip = o.ip ?? rc?.ip;
  const helo = o.helo ?? rc?.helo;
  const rp = returnPath(fields);
  const mailFrom = o.mailFrom ?? rp;
  const spf: SpfOutcome = {
    result: 'not-evaluated',
    reason: '',
    explanation: undefined,
    identity: undefined,
    domain: undefined,
    ip,
    ipSource: o.ip !== undefined ? 'option' : ip ? 'received' : undefined,
    helo,
    heloSource: o.helo !== undefined ? 'option' : helo ? 'received' : undefined,
    mailFrom,
    mailFromSource: o.mailFrom !== undefined ? 'option' : mailFrom !== undefined ? 'return-path' : undefined,
    trace: undefined,
  };
  const received = (spf.ipSource === 'received' || spf.heloSource === 'received') && rc ? rc.field : undefined;
  const skip = (reason: string) => ({ spf: { ...spf, reason }, received });
  if (!ip || !isIP(ip))
    return skip(
      rc
        ? 'no client address: the topmost Received: field names none; give --ip'
        : 'no client address: the message has no Received: field; give --ip',
    );
  if (mailFrom === undefined)
    return skip('no envelope sender: the message has no Return-Path: field; give --mail-from (<> for the null sender)');
  // RFC 7208 §2.3, §2.4: the null sender is checked as postmaster@ the HELO name.
  const id = spfIdentity(mailFrom, helo);
  const domain = id.domain.toLowerCase().replace(/\.$/, '');
  if (!domain)
    return skip('the null sender <> is checked by its HELO name (RFC 7208 §2.4), and none is known: give --helo');
  spf.identity = id.identity === 'helo' ? 'helo' : 'mailfrom';
  spf.domain = domain;
  if (!o.spf) return skip('not evaluated (evaluator missing)');
  try {
    const r = await o.spf(ip, domain, id.sender, helo);
    return {
      spf: { ...spf, result: r.result, reason: r.reason ?? '', explanation: r.explanation, trace: r.trace },
      received,
    };
  } catch (err) {
    return { spf: { ...spf, result: 'temperror', reason: (err as Error).message }, received };
  }
}

function resultInfos(
  spf: SpfOutcome,
  dkim: SignatureResult[],
  dmarc: DmarcVerdict,
  arc: ArcResult,
  bValues: string[],
): ResultInfo[] {
  const out: ResultInfo[] = [];
  // Not evaluated is left out: "spf=none" would say the domain publishes no SPF record.
  if (spf.result !== 'not-evaluated')
    out.push({
      method: 'spf',
      result: spf.result,
      props: [[spf.identity === 'helo' ? 'smtp.helo' : 'smtp.mailfrom', spf.domain!]],
    });
  if (!dkim.length) out.push({ method: 'dkim', result: 'none', props: [] });
  for (const s of dkim) {
    const props: Array<[string, string]> = [];
    if (s.domain) props.push(['header.d', s.domain]);
    if (s.selector) props.push(['header.s', s.selector]);
    if (s.algorithm) props.push(['header.a', s.algorithm.toLowerCase()]);
    const b = bValues[s.index - 1];
    if (b) props.push(['header.b', b.slice(0, 8)]);
    out.push({ method: 'dkim', result: s.result, ...(s.result === 'pass' ? {} : { comment: s.reason }), props });
  }
  const dmarcComment = dmarc.policy
    ? `p=${dmarc.policy}${dmarc.policyTag !== 'p' ? ` via ${dmarc.policyTag}=` : ''}${dmarc.testing ? ' t=y' : ''} dis=${dmarc.disposition}`
    : undefined;
  out.push({
    method: 'dmarc',
    result: dmarc.result,
    ...(dmarcComment ? { comment: dmarcComment } : {}),
    props: dmarc.fromDomain ? [['header.from', dmarc.fromDomain]] : [],
  });
  const arcProps: Array<[string, string]> = [];
  if (arc.result !== 'none' && arc.oldestPass !== undefined)
    arcProps.push(['header.oldest-pass', String(arc.oldestPass)]);
  if (spf.ip) arcProps.push(['smtp.remote-ip', spf.ip]);
  out.push({
    method: 'arc',
    result: arc.result,
    ...(arc.sets.length ? { comment: `i=${Math.max(...arc.sets.map((s) => s.instance))}` } : {}),
    props: arcProps,
  });
  return out;
}
