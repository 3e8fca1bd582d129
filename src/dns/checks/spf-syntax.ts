import { isIP } from 'node:net';
import { parseMacroString, type MacroContext, type MacroPart } from './spf-macro.js';

/** One problem in an SPF record, with the part of RFC 7208 that makes it one. */
export interface SpfIssue {
  /** error: receivers return permerror (the whole record is void); warning: works, but not as meant. */
  severity: 'error' | 'warning';
  text: string;
  ref: string;
}

export type Qualifier = '+' | '-' | '~' | '?';

export interface SpfTerm {
  raw: string;
  kind: 'mechanism' | 'modifier';
  /** Lower case: all, include, a, mx, ptr, ip4, ip6, exists; or the modifier's name. */
  name: string;
  qualifier: Qualifier;
  /** The domain-spec / address / modifier value, as written. */
  value: string | undefined;
  /** The value holds macros: its domain is known only when mail arrives. */
  macro: boolean;
  /** The domain-spec, parsed (a, mx, ptr, include, exists, redirect=, exp=), when it is valid. */
  domainSpec?: MacroPart[];
  /** a and mx: the prefix lengths to compare with (ip4 32 and ip6 128 when not written). */
  cidr4?: number;
  cidr6?: number;
  /** ip4 and ip6: the network written. */
  network?: { address: string; prefix: number };
}

export interface ParsedSpf {
  terms: SpfTerm[];
  issues: SpfIssue[];
}

const MECHANISMS = ['all', 'include', 'a', 'mx', 'ptr', 'ip4', 'ip6', 'exists'];

/** Parses a record term by term (RFC 7208 §4.6.1, §5, §6, §7); every syntax error is an issue, none throws. */
export function parseSpf(record: string, domain: string): ParsedSpf {
  const issues: SpfIssue[] = [];
  const terms: SpfTerm[] = [];
  const err = (text: string, ref: string) => issues.push({ severity: 'error', text: `${text} (in ${domain})`, ref });
  const warn = (text: string, ref: string) => issues.push({ severity: 'warning', text: `${text} (in ${domain})`, ref });
  const body = record.trim();
  if (!/^v=spf1( |$)/i.test(body)) err(`the record does not start with "v=spf1 "`, 'RFC 7208 §4.5');
  if (/\t/.test(body)) err('a tab separates terms: only spaces may', 'RFC 7208 §4.6.1');
  let allAt = -1;
  const seenModifiers = new Set<string>();
  for (const raw of body.split(/[ \t]+/).slice(1)) {
    if (!raw) continue;
    const modifier = /^([A-Za-z][A-Za-z0-9\-_.]*)=(.*)$/.exec(raw);
    if (modifier) {
      const name = modifier[1]!.toLowerCase();
      const value = modifier[2]!;
      if (seenModifiers.has(name) && (name === 'redirect' || name === 'exp'))
        err(`${name}= appears twice`, 'RFC 7208 §6');
      seenModifiers.add(name);
      if (MECHANISMS.includes(name))
        warn(`"${raw}" is read as an unknown modifier and ignored: did you mean ${name}:${value}?`, 'RFC 7208 §6');
      else if (name !== 'redirect' && name !== 'exp') warn(`unknown modifier "${name}=" is ignored`, 'RFC 7208 §6');
      const term: SpfTerm = { raw, kind: 'modifier', name, qualifier: '+', value, macro: value.includes('%') };
      // exp= names a domain like any other: c, r and t belong to the text it points at (§6.2, §7.2).
      if (name === 'redirect' || name === 'exp') {
        if (!value) err(`${name}= has no domain`, 'RFC 7208 §6');
        else term.domainSpec = checkDomainSpec(value, `${name}=`, err);
      } else checkMacroString(value, `${name}=`, 'explanation', err);
      terms.push(term);
      continue;
    }
    const m = /^([+\-~?]?)([A-Za-z0-9]+)(.*)$/.exec(raw);
    const name = m?.[2]?.toLowerCase() ?? '';
    if (!m || !MECHANISMS.includes(name)) {
      err(`"${raw}" is not an SPF mechanism or modifier`, 'RFC 7208 §4.6.1, §12');
      continue;
    }
    const qualifier = (m[1] || '+') as Qualifier;
    const rest = m[3]!;
    const term: SpfTerm = { raw, kind: 'mechanism', name, qualifier, value: undefined, macro: false };
    terms.push(term);
    switch (name) {
      case 'all': {
        if (rest) err(`"${raw}": all takes no argument`, 'RFC 7208 §5.1');
        if (allAt < 0) allAt = terms.length - 1;
        break;
      }
      case 'include':
      case 'exists': {
        if (!rest.startsWith(':') || rest.length === 1) {
          err(`"${raw}": ${name} needs a domain (${name}:example.com)`, `RFC 7208 §5.${name === 'include' ? 2 : 7}`);
          break;
        }
        term.value = rest.slice(1);
        term.macro = term.value.includes('%');
        term.domainSpec = checkDomainSpec(term.value, raw, err);
        break;
      }
      case 'a':
      case 'mx': {
        // §7.1: a domain-spec may hold ":" and "/" itself; only a trailing /n, //n or /n//n is the CIDR.
        const parts = /^(?::(.*?))?((?:\/\d*)?(?:\/\/\d*)?)$/.exec(rest);
        if (!parts || (rest.startsWith(':') && !parts[1])) {
          err(`"${raw}" is not ${name}[:domain][/cidr][//cidr6]`, `RFC 7208 §5.${name === 'a' ? 3 : 4}`);
          break;
        }
        if (parts[1] !== undefined) {
          term.value = parts[1];
          term.macro = term.value.includes('%');
          term.domainSpec = checkDomainSpec(term.value, raw, err);
        }
        Object.assign(term, checkDualCidr(parts[2] ?? '', raw, err));
        break;
      }
      case 'ptr': {
        if (rest && !rest.startsWith(':')) err(`"${raw}" is not ptr[:domain]`, 'RFC 7208 §5.5');
        else if (rest === ':') err(`"${raw}": ptr: with nothing after it`, 'RFC 7208 §5.5');
        else if (rest) {
          term.value = rest.slice(1);
          term.macro = term.value.includes('%');
          term.domainSpec = checkDomainSpec(term.value, raw, err);
        }
        warn(`"${raw}": ptr is slow and unreliable, and RFC 7208 says not to use it`, 'RFC 7208 §5.5');
        break;
      }
      case 'ip4':
      case 'ip6': {
        if (!rest.startsWith(':') || rest.length === 1) {
          err(
            `"${raw}": ${name} needs an address (${name}:${name === 'ip4' ? '192.0.2.0/24' : '2001:db8::/32'})`,
            'RFC 7208 §5.6',
          );
          break;
        }
        term.value = rest.slice(1);
        term.network = checkNetwork(name, term.value, raw, err);
        break;
      }
    }
  }
  if (allAt >= 0) {
    const after = terms.slice(allAt + 1);
    const mechanismsAfter = after.filter((t) => t.kind === 'mechanism');
    if (mechanismsAfter.length)
      warn(
        `${mechanismsAfter.map((t) => `"${t.raw}"`).join(', ')} after "all" ${mechanismsAfter.length === 1 ? 'is' : 'are'} never evaluated`,
        'RFC 7208 §5.1',
      );
    if (terms.some((t) => t.name === 'redirect' && t.kind === 'modifier'))
      warn('redirect= is ignored because the record has "all"', 'RFC 7208 §6.1');
  }
  return { terms, issues };
}

function checkNetwork(
  name: 'ip4' | 'ip6',
  value: string,
  raw: string,
  err: (t: string, r: string) => void,
): SpfTerm['network'] {
  // "ip4:192.0.2.1~all" / "ip4:192.0.2.1-all": a missing space glues the next term on.
  const glued = /^(.*?)([+\-~?]?all)$/i.exec(value);
  if (glued && isIP(glued[1]!.replace(/\/\d+$/, ''))) {
    err(`"${raw}": a space is missing before "${glued[2]}"`, 'RFC 7208 §4.6.1');
    return undefined;
  }
  const slash = value.indexOf('/');
  const address = slash < 0 ? value : value.slice(0, slash);
  const cidr = slash < 0 ? undefined : value.slice(slash + 1);
  const family = isIP(address);
  const want = name === 'ip4' ? 4 : 6;
  if (family && family !== want) {
    err(
      `"${raw}": ${address} is an IPv${family} address in ${name}: (use ${family === 4 ? 'ip4' : 'ip6'}:)`,
      'RFC 7208 §5.6',
    );
    return undefined;
  }
  if (family !== want) {
    err(`"${raw}": "${address}" is not an IPv${want} address`, 'RFC 7208 §5.6');
    return undefined;
  }
  const max = want === 4 ? 32 : 128;
  if (cidr !== undefined && (!/^(0|[1-9]\d{0,2})$/.test(cidr) || Number(cidr) > max)) {
    err(`"${raw}": /${cidr} is not a prefix length from 0 to ${max}`, 'RFC 7208 §5.6');
    return undefined;
  }
  return { address, prefix: cidr === undefined ? max : Number(cidr) };
}

function checkDualCidr(
  text: string,
  raw: string,
  err: (t: string, r: string) => void,
): { cidr4: number; cidr6: number } | undefined {
  const m = /^(?:\/(\d+))?(?:\/\/(\d+))?$/.exec(text);
  const bad = (p: string | undefined, max: number) =>
    p !== undefined && (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > max);
  if (!m || bad(m[1], 32) || bad(m[2], 128)) {
    err(`"${raw}": "${text}" is not /0-32 for IPv4 and //0-128 for IPv6`, 'RFC 7208 §5.6');
    return undefined;
  }
  return { cidr4: m[1] === undefined ? 32 : Number(m[1]), cidr6: m[2] === undefined ? 128 : Number(m[2]) };
}

/**
 * domain-spec = macro-string domain-end (RFC 7208 §7.1): macros checked, and the end a real
 * top label. The macro-string may hold ":" and "/" (a:foo:bar/baz.example.com is valid).
 */
function checkDomainSpec(value: string, raw: string, err: (t: string, r: string) => void): MacroPart[] | undefined {
  const parts = checkMacroString(value, raw, 'domain', err);
  if (!parts) return undefined;
  if (/%\{[^}]*\}\.?$/.test(value)) return parts; // ends with a macro: the domain is known only at evaluation
  const plain = value.replace(/\.$/, '');
  const labels = plain.split('.');
  const top = labels[labels.length - 1] ?? '';
  if (
    labels.length < 2 ||
    labels.some((l) => !l || l.length > 63) ||
    !/^[A-Za-z0-9-]*[A-Za-z][A-Za-z0-9-]*$/.test(top) ||
    top.startsWith('-') ||
    top.endsWith('-')
  ) {
    err(`"${raw}": "${value}" is not a domain name`, 'RFC 7208 §7.1');
    return undefined;
  }
  return parts;
}

function checkMacroString(
  value: string,
  raw: string,
  context: MacroContext,
  err: (t: string, r: string) => void,
): MacroPart[] | undefined {
  const parsed = parseMacroString(value, context);
  if (parsed.error !== undefined)
    err(`"${raw}": ${parsed.error}`, parsed.error.includes('explanation') ? 'RFC 7208 §7.2' : 'RFC 7208 §7.1');
  return parsed.parts;
}
