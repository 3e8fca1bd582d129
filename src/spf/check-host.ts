import { dnsNameProblem } from '../dns/domain.js';
import {
  expandMacros,
  fitDomain,
  parseMacroString,
  type MacroPart,
  type MacroValues,
} from '../dns/checks/spf-macro.js';
import { parseSpf, type Qualifier, type SpfTerm } from '../dns/checks/spf-syntax.js';
import { addressBytes, clientAddress, inNetwork, macroAddress, type ClientAddress } from './address.js';
import { SpfLookupError, type SpfDns } from './dns-port.js';

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror';

/** One step of the evaluation, as a person follows it. */
export interface SpfStep {
  /** 0 for the domain asked about; 1 and more inside include: and redirect=. */
  depth: number;
  /** The domain whose record holds the term. */
  domain: string;
  /** The term as written, or "record" for the look-up of the record itself. */
  term: string;
  /** What was asked of DNS and what came back. */
  lookups: string[];
  /** Whether the term matched the client; undefined for steps that match nothing (record, exp=). */
  match: boolean | undefined;
  /** The result this step decided, if it decided one. */
  result?: SpfResult;
  /** For a "record" step: the SPF record found. */
  record?: string;
  note?: string;
}

export interface SpfQuery {
  /** The SMTP client's address; an IPv4-mapped IPv6 address is evaluated as IPv4. */
  ip: string;
  /** The domain to check: the MAIL FROM domain, or the HELO name. */
  domain: string;
  /** MAIL FROM (local@domain); with no local part "postmaster" stands in (§4.3). */
  sender: string;
  /** The HELO/EHLO name (%{h}). */
  helo?: string;
  /** The receiving host's name (%{r} in explanations). */
  receiver?: string;
  /** For %{t}. */
  now?: Date;
  /** The whole evaluation's time limit (§4.6.4: at least 20 s; then temperror). Default 20 s. */
  limitMs?: number;
}

export interface SpfVerdict {
  result: SpfResult;
  /** Why, in one sentence. */
  reason: string;
  /** The exp= text when the result is fail and the record gives one (§6.2). */
  explanation: string | undefined;
  trace: SpfStep[];
  /** DNS-querying terms used, of the 10 allowed (§4.6.4). */
  lookups: number;
  /** Look-ups that found nothing, of the 2 allowed (§4.6.4). */
  voidLookups: number;
  /** A look-up got no answer from any DNS server: the result says nothing about the domain. */
  dnsUnreachable: boolean;
}

const LOOKUP_LIMIT = 10;
const VOID_LIMIT = 2;
/** §4.6.4: at most 10 names from one mx or ptr (and %{p}) are looked up. */
const NAME_LIMIT = 10;

/** §4.6.4: receivers SHOULD bound the whole evaluation, allowing at least 20 seconds. */
const EVALUATION_LIMIT_MS = 20_000;

/** The port, refusing to ask once the evaluation's time is up: each such look-up fails as a temperror. */
function withDeadline(dns: SpfDns, deadline: number): SpfDns {
  const guard =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
    (...a: A): Promise<R> =>
      Date.now() > deadline
        ? Promise.reject(new SpfLookupError('the evaluation ran over its time limit (RFC 7208 §4.6.4)', false))
        : f(...a);
  return {
    txt: guard(dns.txt.bind(dns)),
    addresses: guard(dns.addresses.bind(dns)),
    mx: guard(dns.mx.bind(dns)),
    ptr: guard(dns.ptr.bind(dns)),
  };
}

const QUALIFIED: Record<Qualifier, SpfResult> = { '+': 'pass', '-': 'fail', '~': 'softfail', '?': 'neutral' };

interface Outcome {
  result: SpfResult;
  reason: string;
  explanation?: string;
}

/** Ends the whole evaluation: a limit was passed (permerror) wherever it happened. */
class LimitExceeded {
  constructor(readonly reason: string) {}
}

/**
 * The sender and domain to check for a MAIL FROM and HELO, as RFC 7208 §2.3/§2.4 say: with
 * the null sender (or none), the HELO identity, postmaster@helo.
 */
export function spfIdentity(
  mailFrom: string,
  helo: string | undefined,
): { identity: 'mfrom' | 'helo'; domain: string; sender: string } {
  const from = mailFrom === '<>' ? '' : mailFrom.replace(/^<(.*)>$/, '$1');
  if (!from) return { identity: 'helo', domain: helo ?? '', sender: `postmaster@${helo ?? ''}` };
  const at = from.lastIndexOf('@');
  return { identity: 'mfrom', domain: at < 0 ? from : from.slice(at + 1), sender: from };
}

/** RFC 7208 §4 check_host(): the SPF result for a client address, domain and sender. */
export async function checkHost(dns: SpfDns, q: SpfQuery): Promise<SpfVerdict> {
  const ip = clientAddress(q.ip);
  if (!ip) throw new TypeError(`${JSON.stringify(q.ip)} is not an IP address`);
  const run = new Evaluation(dns, ip, q);
  let outcome: Outcome;
  const domain = q.domain.replace(/\.$/, '');
  const bad = domainProblem(domain);
  if (bad) {
    outcome = {
      result: 'none',
      reason: `${JSON.stringify(q.domain)} is not a domain SPF can be checked for: ${bad} (§4.3)`,
    };
    run.trace.push({
      depth: 0,
      domain,
      term: 'record',
      lookups: [],
      match: undefined,
      result: 'none',
      note: outcome.reason,
    });
  } else {
    try {
      outcome = await run.evaluate(domain, 0);
    } catch (err) {
      if (!(err instanceof LimitExceeded)) throw err;
      outcome = { result: 'permerror', reason: err.reason };
    }
  }
  return {
    result: outcome.result,
    reason: outcome.reason,
    explanation: outcome.explanation,
    trace: run.trace,
    lookups: run.lookups,
    voidLookups: run.voids,
    dnsUnreachable: run.unreachable,
  };
}

/** §4.3: a name that is no domain (a literal, one label, an empty or too long label) gives none. */
function domainProblem(domain: string): string | undefined {
  if (!domain) return 'it is empty';
  if (domain.startsWith('[')) return 'it is an address literal';
  if (!domain.includes('.')) return 'it is a single label, not a fully qualified domain';
  return dnsNameProblem(domain);
}

class Evaluation {
  lookups = 0;
  voids = 0;
  unreachable = false;
  readonly trace: SpfStep[] = [];
  private readonly local: string;
  private readonly senderDomain: string;

  private readonly dns: SpfDns;

  constructor(
    dns: SpfDns,
    private readonly ip: ClientAddress,
    private readonly q: SpfQuery,
  ) {
    this.dns = withDeadline(dns, Date.now() + (q.limitMs ?? EVALUATION_LIMIT_MS));
    const at = q.sender.lastIndexOf('@');
    this.local = (at < 0 ? '' : q.sender.slice(0, at)) || 'postmaster';
    this.senderDomain = at < 0 ? q.sender : q.sender.slice(at + 1);
  }

  async evaluate(domain: string, depth: number): Promise<Outcome> {
    const step: SpfStep = { depth, domain, term: 'record', lookups: [], match: undefined };
    this.trace.push(step);
    // The note is left out when the look-up line already says it all.
    const decide = (result: SpfResult, reason: string, note: string | null = reason): Outcome => {
      step.result = result;
      step.note = note ?? undefined;
      return { result, reason };
    };
    let txt: string[];
    try {
      txt = await this.dns.txt(domain);
    } catch (err) {
      const why = this.failure(err);
      step.lookups.push(`TXT ${domain}: failed (${why})`);
      return decide('temperror', `the TXT look-up for ${domain} failed: ${why}`, null);
    }
    // §4.5: "v=spf1" then a space or the end; anything else (v=spf10, "v=spf1mx") is not SPF.
    const records = txt.filter((r) => /^v=spf1( |$)/i.test(r));
    step.lookups.push(
      `TXT ${domain}: ${txt.length ? `${txt.length} record${txt.length === 1 ? '' : 's'}, ${records.length} SPF` : 'nothing'}`,
    );
    if (!records.length) return decide('none', `${domain} publishes no SPF record`);
    if (records.length > 1)
      return decide('permerror', `${domain} publishes ${records.length} SPF records; one is allowed (§4.5)`);
    const record = records[0]!;
    step.record = record;
    const parsed = parseSpf(record, domain);
    const error = parsed.issues.find((i) => i.severity === 'error');
    // §4.6: a syntax error anywhere voids the whole record, before any term is evaluated.
    if (error) return decide('permerror', `the record is invalid: ${error.text} (${error.ref})`);

    const mechanisms = parsed.terms.filter((t) => t.kind === 'mechanism');
    for (const term of mechanisms) {
      const s: SpfStep = { depth, domain, term: term.raw, lookups: [], match: false };
      this.trace.push(s);
      const matched = await this.mechanism(term, domain, depth, s);
      if (matched !== true && matched !== false) {
        s.result = matched.result;
        s.match = undefined;
        s.note ??= matched.reason;
        return matched;
      }
      s.match = matched;
      if (!matched) continue;
      const result = QUALIFIED[term.qualifier];
      s.result = result;
      const outcome: Outcome = { result, reason: `${term.raw} in ${domain} matched` };
      if (result === 'fail') outcome.explanation = await this.explanation(parsed.terms, domain, depth);
      return outcome;
    }
    const redirect = parsed.terms.find((t) => t.kind === 'modifier' && t.name === 'redirect');
    if (!redirect) {
      const s: SpfStep = {
        depth,
        domain,
        term: '(default)',
        lookups: [],
        match: undefined,
        result: 'neutral',
        note: 'no term matched and there is no redirect=: the result is neutral (§4.7)',
      };
      this.trace.push(s);
      return { result: 'neutral', reason: `no term of ${domain}'s record matched` };
    }
    const s: SpfStep = { depth, domain, term: redirect.raw, lookups: [], match: undefined };
    this.trace.push(s);
    this.count(s);
    const target = await this.target(redirect.domainSpec!, domain);
    s.note = `no term matched: the result is ${target}'s`;
    if (domainProblem(target)) {
      s.result = 'permerror';
      return { result: 'permerror', reason: `redirect= names ${JSON.stringify(target)}, which is no domain` };
    }
    const nested = await this.evaluate(target, depth + 1);
    // §6.1: a redirect to a domain with no SPF record is a permerror.
    if (nested.result === 'none') {
      s.result = 'permerror';
      return { result: 'permerror', reason: `redirect=${target}: ${target} has no SPF record (§6.1)` };
    }
    s.result = nested.result;
    return nested;
  }

  /** true/false: matched or not; an outcome: the evaluation stops with it (temperror, permerror). */
  private async mechanism(term: SpfTerm, domain: string, depth: number, s: SpfStep): Promise<boolean | Outcome> {
    const ip = this.ip;
    switch (term.name) {
      case 'all':
        return true;
      case 'ip4':
      case 'ip6': {
        const net = term.network!;
        if ((term.name === 'ip4') !== (ip.family === 4)) {
          s.note = `the client is IPv${ip.family}: ${term.name} cannot match`;
          return false;
        }
        return inNetwork(ip.bytes, addressBytes(net.address)!, net.prefix);
      }
    }
    this.count(s);
    const target = term.domainSpec ? await this.target(term.domainSpec, domain) : domain;
    try {
      switch (term.name) {
        case 'include': {
          if (domainProblem(target))
            return { result: 'permerror', reason: `${term.raw} names ${JSON.stringify(target)}, which is no domain` };
          const nested = await this.evaluate(target, depth + 1);
          // §5.2: what an included record's result means for the including record.
          if (nested.result === 'pass') return true;
          // The nested record's own lines below say why; this line says what it means here.
          if (nested.result === 'temperror' || nested.result === 'permerror' || nested.result === 'none')
            s.note = `${target} gives ${nested.result}, so this record's result is ${nested.result === 'temperror' ? 'temperror' : 'permerror'}${nested.result === 'none' ? ' (§5.2: an include of a domain without SPF)' : ''}`;
          if (nested.result === 'temperror') return { result: 'temperror', reason: `${term.raw}: ${nested.reason}` };
          if (nested.result === 'permerror' || nested.result === 'none')
            return {
              result: 'permerror',
              reason: `${term.raw}: ${nested.result === 'none' ? `${target} has no SPF record (§5.2)` : nested.reason}`,
            };
          s.note = `${target} gives ${nested.result}, which is no match`;
          return false;
        }
        case 'a': {
          const addresses = await this.addresses(target, ip.family, s);
          if (!addresses.length) this.void(s);
          return this.anyIn(addresses, term);
        }
        case 'mx': {
          const names = await this.dns.mx(target);
          s.lookups.push(`MX ${target}: ${names.length ? names.join(', ') : 'nothing'}`);
          if (!names.length) this.void(s);
          if (names.length > NAME_LIMIT)
            return {
              result: 'permerror',
              reason: `${term.raw}: ${target} has ${names.length} MX records, over the ${NAME_LIMIT} one mx may look up (§4.6.4)`,
            };
          for (const name of names) if (this.anyIn(await this.addresses(name, ip.family, s), term)) return true;
          return false;
        }
        case 'ptr':
          return await this.ptrMatch(target, s);
        case 'exists': {
          // §5.7: always an A query, whatever the client's address family.
          const addresses = await this.addresses(target, 4, s);
          if (!addresses.length) this.void(s);
          return addresses.length > 0;
        }
      }
    } catch (err) {
      if (!(err instanceof SpfLookupError)) throw err;
      s.lookups.push(`failed (${this.failure(err)})`);
      return { result: 'temperror', reason: `${term.raw} in ${domain}: a DNS look-up failed (${err.message})` };
    }
    return false;
  }

  private anyIn(addresses: string[], term: SpfTerm): boolean {
    const prefix = this.ip.family === 4 ? (term.cidr4 ?? 32) : (term.cidr6 ?? 128);
    return addresses.some((a) => {
      const bytes = addressBytes(a);
      return !!bytes && inNetwork(this.ip.bytes, bytes, prefix);
    });
  }

  private async addresses(name: string, family: 4 | 6, s: SpfStep): Promise<string[]> {
    const type = family === 4 ? 'A' : 'AAAA';
    if (dnsNameProblem(name)) {
      s.lookups.push(`${type} ${name}: not a DNS name, nothing asked`);
      return [];
    }
    const found = await this.dns.addresses(name, family);
    s.lookups.push(`${type} ${name}: ${found.length ? found.join(', ') : 'nothing'}`);
    return found;
  }

  /** §5.5: a PTR name matches when it resolves back to the client and is the target or below it. */
  private async ptrMatch(target: string, s: SpfStep): Promise<boolean> {
    const names = await this.validatedNames(s);
    const t = target.toLowerCase();
    return names.some((n) => n === t || n.endsWith(`.${t}`));
  }

  /** The PTR names of the client that resolve back to it (at most 10 tried); DNS errors only drop names (§5.5). */
  private async validatedNames(s: SpfStep): Promise<string[]> {
    let names: string[];
    try {
      names = await this.dns.ptr(this.ip);
    } catch (err) {
      s.lookups.push(`PTR ${this.ip.text}: failed (${this.failure(err)}), so no name`);
      return [];
    }
    s.lookups.push(`PTR ${this.ip.text}: ${names.length ? names.join(', ') : 'nothing'}`);
    if (!names.length) this.void(s);
    const validated: string[] = [];
    for (const name of names.slice(0, NAME_LIMIT)) {
      try {
        if (this.anyIn(await this.addresses(name, this.ip.family, s), { cidr4: 32, cidr6: 128 } as SpfTerm))
          validated.push(name.toLowerCase().replace(/\.$/, ''));
      } catch (err) {
        if (!(err instanceof SpfLookupError)) throw err;
        s.lookups.push(`${name}: failed (${this.failure(err)}), skipped`);
      }
    }
    return validated;
  }

  /** §6.2: exp= is looked up only for a fail; any trouble just means no explanation. */
  private async explanation(terms: SpfTerm[], domain: string, depth: number): Promise<string | undefined> {
    const exp = terms.find((t) => t.kind === 'modifier' && t.name === 'exp');
    if (!exp?.domainSpec) return undefined;
    const s: SpfStep = { depth, domain, term: exp.raw, lookups: [], match: undefined };
    this.trace.push(s);
    try {
      const target = await this.target(exp.domainSpec, domain);
      if (domainProblem(target)) {
        s.note = `${JSON.stringify(target)} is no domain: no explanation`;
        return undefined;
      }
      const txt = await this.dns.txt(target);
      s.lookups.push(`TXT ${target}: ${txt.length ? txt.map((t) => JSON.stringify(t)).join(', ') : 'nothing'}`);
      if (txt.length !== 1) {
        s.note = `${txt.length ? 'more than one' : 'no'} TXT record: no explanation (§6.2)`;
        return undefined;
      }
      const parsed = parseMacroString(txt[0]!, 'explanation');
      if (!parsed.parts) {
        s.note = `the explanation is not a valid macro-string (${parsed.error}): none given (§6.2)`;
        return undefined;
      }
      const text = await expandMacros(parsed.parts, this.values(domain));
      s.note = `explanation: ${text}`;
      return text;
    } catch (err) {
      if (!(err instanceof SpfLookupError)) throw err;
      s.lookups.push(`failed (${this.failure(err)})`);
      s.note = 'the explanation could not be fetched: none given';
      return undefined;
    }
  }

  private async target(spec: MacroPart[], domain: string): Promise<string> {
    return fitDomain(await expandMacros(spec, this.values(domain)));
  }

  private values(domain: string): MacroValues {
    const ip = this.ip;
    return {
      s: `${this.local}@${this.senderDomain}`,
      l: this.local,
      o: this.senderDomain,
      d: domain,
      i: macroAddress(ip),
      p: () => this.validatedName(domain),
      v: ip.family === 4 ? 'in-addr' : 'ip6',
      h: this.q.helo ?? 'unknown',
      c: ip.text,
      r: this.q.receiver ?? 'unknown',
      t: String(Math.floor((this.q.now ?? new Date()).getTime() / 1000)),
    };
  }

  /** %{p} (§7.3): a validated name of the client, the domain itself or one below it if there is one; else "unknown". */
  private async validatedName(domain: string): Promise<string> {
    const s: SpfStep = { depth: 0, domain, term: '%{p}', lookups: [], match: undefined };
    const names = await this.validatedNames(s);
    this.trace.push(s);
    const d = domain.toLowerCase();
    const name = names.find((n) => n === d) ?? names.find((n) => n.endsWith(`.${d}`)) ?? names[0] ?? 'unknown';
    s.note = `%{p} is ${name}`;
    return name;
  }

  private count(s: SpfStep): void {
    this.lookups++;
    if (this.lookups > LOOKUP_LIMIT) {
      s.result = 'permerror';
      s.note = `this is DNS-querying term number ${this.lookups}: over the limit of ${LOOKUP_LIMIT}`;
      throw new LimitExceeded(
        `more than ${LOOKUP_LIMIT} DNS-querying terms (include, a, mx, ptr, exists, redirect) (§4.6.4)`,
      );
    }
  }

  private void(s: SpfStep): void {
    this.voids++;
    if (this.voids > VOID_LIMIT) {
      s.result = 'permerror';
      s.note = `void look-up number ${this.voids}: over the limit of ${VOID_LIMIT}`;
      throw new LimitExceeded(`more than ${VOID_LIMIT} look-ups found nothing (void look-ups) (§4.6.4)`);
    }
  }

  private failure(err: unknown): string {
    if (!(err instanceof SpfLookupError)) throw err;
    if (err.unreachable) this.unreachable = true;
    return err.message;
  }
}
