import { isIP } from 'node:net';

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
}

export interface ParsedSpf {
  terms: SpfTerm[];
  issues: SpfIssue[];
}

const MECHANISMS = ['all', 'include', 'a', 'mx', 'ptr', 'ip4', 'ip6', 'exists'];
const MACRO_LETTERS = 'slodiphcrtv';
/** RFC 7208 §7.2: c, r and t exist only in exp= text. */
const EXP_ONLY = 'crt';

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
      if (seenModifiers.has(name) && (name === 'redirect' || name === 'exp')) err(`${name}= appears twice`, 'RFC 7208 §6');
      seenModifiers.add(name);
      if (MECHANISMS.includes(name)) warn(`"${raw}" is read as an unknown modifier and ignored: did you mean ${name}:${value}?`, 'RFC 7208 §6');
      else if (name !== 'redirect' && name !== 'exp') warn(`unknown modifier "${name}=" is ignored`, 'RFC 7208 §6');
      if (name === 'redirect' || name === 'exp') {
        if (!value) err(`${name}= has no domain`, 'RFC 7208 §6');
        else checkDomainSpec(value, `${name}=`, name === 'exp', err);
      } else checkMacroString(value, `${name}=`, true, err);
      terms.push({ raw, kind: 'modifier', name, qualifier: '+', value, macro: value.includes('%') });
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
        checkDomainSpec(term.value, raw, false, err);
        break;
      }
      case 'a':
      case 'mx': {
        const parts = /^(?::([^/]*))?((?:\/[^/]*)?(?:\/\/[^/]*)?)$/.exec(rest);
        if (!parts || (rest.startsWith(':') && !parts[1])) {
          err(`"${raw}" is not ${name}[:domain][/cidr][//cidr6]`, `RFC 7208 §5.${name === 'a' ? 3 : 4}`);
          break;
        }
        if (parts[1] !== undefined) {
          term.value = parts[1];
          term.macro = term.value.includes('%');
          checkDomainSpec(term.value, raw, false, err);
        }
        checkDualCidr(parts[2] ?? '', raw, err);
        break;
      }
      case 'ptr': {
        if (rest && !rest.startsWith(':')) err(`"${raw}" is not ptr[:domain]`, 'RFC 7208 §5.5');
        else if (rest === ':') err(`"${raw}": ptr: with nothing after it`, 'RFC 7208 §5.5');
        else if (rest) {
          term.value = rest.slice(1);
          term.macro = term.value.includes('%');
          checkDomainSpec(term.value, raw, false, err);
        }
        warn(`"${raw}": ptr is slow and unreliable, and RFC 7208 says not to use it`, 'RFC 7208 §5.5');
        break;
      }
      case 'ip4':
      case 'ip6': {
        if (!rest.startsWith(':') || rest.length === 1) {
          err(`"${raw}": ${name} needs an address (${name}:${name === 'ip4' ? '192.0.2.0/24' : '2001:db8::/32'})`, 'RFC 7208 §5.6');
          break;
        }
        term.value = rest.slice(1);
        checkNetwork(name, term.value, raw, err);
        break;
      }
    }
  }
  if (allAt >= 0) {
    const after = terms.slice(allAt + 1);
    const mechanismsAfter = after.filter((t) => t.kind === 'mechanism');
    if (mechanismsAfter.length) warn(`${mechanismsAfter.map((t) => `"${t.raw}"`).join(', ')} after "all" ${mechanismsAfter.length === 1 ? 'is' : 'are'} never evaluated`, 'RFC 7208 §5.1');
    if (terms.some((t) => t.name === 'redirect' && t.kind === 'modifier')) warn('redirect= is ignored because the record has "all"', 'RFC 7208 §6.1');
  }
  return { terms, issues };
}

function checkNetwork(name: 'ip4' | 'ip6', value: string, raw: string, err: (t: string, r: string) => void) {
  // "ip4:192.0.2.1~all" / "ip4:192.0.2.1-all": a missing space glues the next term on.
  const glued = /^(.*?)([+\-~?]?all)$/i.exec(value);
  if (glued && isIP(glued[1]!.replace(/\/\d+$/, ''))) {
    err(`"${raw}": a space is missing before "${glued[2]}"`, 'RFC 7208 §4.6.1');
    return;
  }
  const slash = value.indexOf('/');
  const address = slash < 0 ? value : value.slice(0, slash);
  const cidr = slash < 0 ? undefined : value.slice(slash + 1);
  const family = isIP(address);
  const want = name === 'ip4' ? 4 : 6;
  if (family && family !== want) {
    err(`"${raw}": ${address} is an IPv${family} address in ${name}: (use ${family === 4 ? 'ip4' : 'ip6'}:)`, 'RFC 7208 §5.6');
    return;
  }
  if (family !== want) {
    err(`"${raw}": "${address}" is not an IPv${want} address`, 'RFC 7208 §5.6');
    return;
  }
  if (cidr !== undefined) {
    const max = want === 4 ? 32 : 128;
    if (!/^(0|[1-9]\d{0,2})$/.test(cidr) || Number(cidr) > max) err(`"${raw}": /${cidr} is not a prefix length from 0 to ${max}`, 'RFC 7208 §5.6');
  }
}

function checkDualCidr(text: string, raw: string, err: (t: string, r: string) => void) {
  if (!text) return;
  const m = /^(?:\/(\d+))?(?:\/\/(\d+))?$/.exec(text);
  const bad = (p: string | undefined, max: number) => p !== undefined && (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > max);
  if (!m || bad(m[1], 32) || bad(m[2], 128)) err(`"${raw}": "${text}" is not /0-32 for IPv4 and //0-128 for IPv6`, 'RFC 7208 §5.6');
}

/** domain-spec = macro-string domain-end (RFC 7208 §7.1): macros checked, and the end a real top label. */
function checkDomainSpec(value: string, raw: string, exp: boolean, err: (t: string, r: string) => void) {
  if (!checkMacroString(value, raw, exp, err)) return;
  if (/%\{[^}]*\}$/.test(value)) return; // ends with a macro: the domain is known only at evaluation
  const plain = value.replace(/\.$/, '');
  const labels = plain.split('.');
  const top = labels[labels.length - 1] ?? '';
  if (labels.length < 2 || labels.some((l) => !l || l.length > 63) || !/^[A-Za-z0-9-]*[A-Za-z][A-Za-z0-9-]*$/.test(top) || top.startsWith('-') || top.endsWith('-')) {
    err(`"${raw}": "${value}" is not a domain name`, 'RFC 7208 §7.1');
  }
}

/** §7.1 macro-string: %{letter digits r delimiters}, %%, %_, %-; anything else after % is an error. */
function checkMacroString(value: string, raw: string, exp: boolean, err: (t: string, r: string) => void): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c.charCodeAt(0) < 0x21 || c.charCodeAt(0) > 0x7e) {
      err(`"${raw}": the character ${JSON.stringify(c)} is not allowed`, 'RFC 7208 §7.1');
      return false;
    }
    if (c !== '%') continue;
    const next = value[i + 1];
    if (next === '%' || next === '_' || next === '-') {
      i++;
      continue;
    }
    const m = /^%\{([A-Za-z])(\d*)(r?)([.\-+,/_=]*)\}/i.exec(value.slice(i));
    if (!m) {
      err(`"${raw}": "${value.slice(i, i + 6)}…" is not a macro (%{letter}, %%, %_ or %-)`, 'RFC 7208 §7.1');
      return false;
    }
    const letter = m[1]!.toLowerCase();
    if (!MACRO_LETTERS.includes(letter)) {
      err(`"${raw}": %{${m[1]}} is not a macro letter (s l o d i p h, and c r t in exp=)`, 'RFC 7208 §7.2');
      return false;
    }
    if (!exp && EXP_ONLY.includes(letter)) {
      err(`"${raw}": %{${m[1]}} may appear only in exp= text`, 'RFC 7208 §7.2');
      return false;
    }
    if (m[2] && Number(m[2]) === 0) {
      err(`"${raw}": a macro keeps at least one label (%{${m[1]}0…} is invalid)`, 'RFC 7208 §7.3');
      return false;
    }
    i += m[0].length - 1;
  }
  return true;
}
