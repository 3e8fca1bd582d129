import { DnsFailure } from '../../dns/resolver.js';
import type { AuditCheck, Verdict } from '../check.js';
import type { AuditContext } from '../context.js';
import { NotTested } from '../not-tested.js';
import type { RpkiOptions } from '../options.js';
import type { AuditStatus } from '../result.js';
import { lookupOrigins, type Origin } from './asn-origin.js';
import { closest } from './caa-ns.js';
import { RpkiValidator, type RouteValidity, type Vrp } from './rpki-validator.js';

/** An address to judge: whose it is (MX or NS host) and the address. */
interface Target {
  role: 'MX' | 'NS';
  host: string;
  address: string;
}

/** The MX addresses and the addresses of the domain's name servers; a name server whose addresses fail is a verdict. */
type Targets = { targets: Target[]; unresolved: Verdict[] };

/** VRPs shown as evidence per origin: the validator is untrusted, and a real answer lists one or two. */
const MAX_VRP_LINES = 10;
const vrpLines = (list: Vrp[]) => [
  ...list.slice(0, MAX_VRP_LINES).map((v) => `VRP ${v.asn} ${v.prefix} max length ${v.maxLength}`),
  ...(list.length > MAX_VRP_LINES ? [`… and ${list.length - MAX_VRP_LINES} more VRPs`] : []),
];
const WORST: AuditStatus[] = ['fail', 'warn', 'not-tested', 'pass'];
/** Distinct values for a summary line, the first 5 named and the rest counted: the validator's lists are untrusted. */
function few(values: string[]): string {
  const distinct = [...new Set(values)];
  const named = distinct.slice(0, 5).join(', ');
  return distinct.length > 5 ? `${named} and ${distinct.length - 5} more` : named;
}

/** Name servers judged, and addresses of each: the zone is untrusted, and real ones have 2-8 of 1-2. */
const MAX_NS = 10;
const MAX_NS_ADDRESSES = 4;
/** Origins judged per address: real prefixes have one, a few when multi-origin. */
const MAX_ORIGINS = 8;

/** One origin's verdict: status, a phrase, the VRPs as evidence and what to change. */
function judge(o: Origin, v: RouteValidity): { status: AuditStatus; text: string; evidence: string[]; fix?: string } {
  const route = `AS${o.asn} ${o.prefix}`;
  switch (v.state) {
    case 'valid':
      return { status: 'pass', text: `${route} valid`, evidence: vrpLines(v.matched) };
    case 'not-found':
      return {
        status: 'warn',
        text: `${route} not found: no ROA covers it`,
        evidence: [],
        fix: `publish a ROA for ${o.prefix} with origin AS${o.asn} (max length ${o.prefix.split('/')[1]}) in the RPKI of whoever holds the prefix (the RIR portal, or ask the hosting provider)`,
      };
    case 'invalid': {
      const covering = [...v.unmatchedAs, ...v.unmatchedLength];
      return v.reason === 'as'
        ? {
            status: 'fail',
            text: `${route} invalid: the covering ROAs authorise ${few(v.unmatchedAs.map((u) => u.asn)) || 'another AS'}, not AS${o.asn}`,
            evidence: vrpLines(covering),
            fix: `the route is dropped by networks that validate: add a ROA for ${o.prefix} with origin AS${o.asn}, or announce it from an authorised AS`,
          }
        : {
            status: 'fail',
            text: `${route} invalid: the prefix is longer than the covering ROAs' max length (${few(v.unmatchedLength.map((u) => u.maxLength))})`,
            evidence: vrpLines(covering),
            fix: `the route is dropped by networks that validate: raise the ROA's max length to /${o.prefix.split('/')[1]}, add a ROA for ${o.prefix} itself, or announce the covering prefix`,
          };
    }
    case 'unknown':
      return { status: 'not-tested', text: `${route}: ${v.why}`, evidence: [] };
  }
}

async function verdict(
  ctx: AuditContext,
  zones: RpkiOptions['asnZones'],
  validator: RpkiValidator,
  t: Target,
): Promise<Verdict> {
  const subject = `${t.role} ${t.host} (${t.address})`;
  let answer;
  try {
    answer = await lookupOrigins(ctx.options.resolver, t.address, zones);
  } catch (err) {
    if (!(err instanceof DnsFailure)) throw err;
    return { subject, status: 'not-tested', summary: `no origin AS known: ${err.message}` };
  }
  if ('none' in answer) return { subject, status: 'not-tested', summary: `no origin AS known: ${answer.none}` };
  // Several origins may announce the prefix (multi-origin, anycast): each is judged, the worst counts.
  // The zone is untrusted: a flood of origins is not a flood of validator requests.
  const asked = answer.origins.slice(0, MAX_ORIGINS);
  const judged = await Promise.all(asked.map(async (o) => judge(o, await validator.validity(o.asn, o.prefix))));
  const unasked = answer.origins.length - asked.length;
  const worst = WORST.find((s) => judged.some((j) => j.status === s))!;
  const status = unasked && worst === 'pass' ? 'not-tested' : worst;
  const fixes = judged.filter((j) => j.status === status && j.fix).map((j) => j.fix!);
  return {
    subject,
    status,
    summary: judged.map((j) => j.text).join('; ') + (unasked ? `; ${unasked} more origins not asked` : ''),
    evidence: [
      `${answer.name} TXT ${answer.records.map((r) => JSON.stringify(r)).join(' ')}`,
      ...judged.flatMap((j) => j.evidence),
    ],
    ...(fixes.length ? { fix: [...new Set(fixes)].join('; ') } : {}),
  };
}

async function targets(ctx: AuditContext): Promise<Targets> {
  const out: Targets = { targets: [], unresolved: [] };
  const why: string[] = [];
  try {
    for (const a of await ctx.mxAddresses()) out.targets.push({ role: 'MX', host: a.host, address: a.address });
  } catch (err) {
    if (!(err instanceof NotTested)) throw err;
    why.push(err.message);
  }
  let ns;
  try {
    ns = await closest(ctx.options.resolver, ctx.domain, 'NS');
    if (!ns) why.push(`no NS records for ${ctx.domain} or above it`);
  } catch (err) {
    if (!(err instanceof DnsFailure)) throw err;
    why.push(`NS of ${ctx.domain}: ${err.message}`);
  }
  const hosts = ns?.records.map((r) => String(r.ns)) ?? [];
  let moreAddresses = 0;
  for (const host of hosts.slice(0, MAX_NS))
    try {
      const addresses = await ctx.options.resolver.addresses(host);
      moreAddresses += Math.max(0, addresses.length - MAX_NS_ADDRESSES);
      for (const a of addresses.slice(0, MAX_NS_ADDRESSES)) out.targets.push({ role: 'NS', host, address: a.address });
    } catch (err) {
      if (!(err instanceof DnsFailure)) throw err;
      out.unresolved.push({ subject: `NS ${host}`, status: 'not-tested', summary: `its addresses: ${err.message}` });
    }
  if (hosts.length > MAX_NS || moreAddresses)
    out.unresolved.push({
      status: 'not-tested',
      summary: [
        ...(hosts.length > MAX_NS ? [`${hosts.length - MAX_NS} more name servers not judged`] : []),
        ...(moreAddresses ? [`${moreAddresses} more name server addresses not judged`] : []),
      ]
        .join('; ')
        .concat(` (at most ${MAX_NS}, each on its first ${MAX_NS_ADDRESSES} addresses)`),
    });
  if (!out.targets.length && !out.unresolved.length) throw new NotTested(`no address to judge: ${why.join('; ')}`);
  return out;
}

export const rpkiCheck: AuditCheck = {
  group: 'dns',
  name: 'rpki',
  title: 'RPKI route-origin validity of MX and NS addresses',
  reference: 'RFC 6811 (origin validation), RFC 6482 (ROAs); internet.nl: RPKI for mail and name servers',
  fix: 'publish ROAs for the prefixes announcing the mail and name servers, with the right origin AS and max length',
  async run(ctx) {
    const rpki = ctx.options.rpki;
    if (!rpki) return { status: 'not-tested', summary: 'needs a validator: --rpki-validator URL' };
    const validator = new RpkiValidator({
      url: rpki.validator,
      ca: ctx.options.ca,
      timeoutMs: () => Math.min(ctx.options.waitMs, ctx.remainingMs()),
      signal: ctx.signal,
    });
    const { targets: list, unresolved } = await targets(ctx);
    return [...(await Promise.all(list.map((t) => verdict(ctx, rpki.asnZones, validator, t)))), ...unresolved];
  },
};
