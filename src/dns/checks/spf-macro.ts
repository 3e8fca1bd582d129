/**
 * SPF macro-strings (RFC 7208 §7): parsed once here, for the record syntax check and for
 * the evaluator alike, so both agree on what a record means.
 */

export type MacroPart =
  | { literal: string }
  | { letter: string; upper: boolean; digits: number | undefined; reverse: boolean; delimiters: string };

/** domain: a domain-spec (mechanisms, redirect=, exp=); explanation: the TXT text exp= points at. */
export type MacroContext = 'domain' | 'explanation';

const LETTERS = 'slodiphcrtv';
/** RFC 7208 §7.2: c, r and t exist only in the explanation text. */
const EXPLANATION_ONLY = 'crt';

export type MacroParse = { parts: MacroPart[]; error?: undefined } | { parts?: undefined; error: string };

/** §7.1 macro-string: %{letter digits r delimiters}, %%, %_, %-; any other % is an error. */
export function parseMacroString(value: string, context: MacroContext): MacroParse {
  const parts: MacroPart[] = [];
  let literal = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    const code = c.charCodeAt(0);
    // The explanation may hold spaces (it is text); a domain-spec holds visible ASCII only.
    if (code > 0x7e || code < (context === 'explanation' ? 0x20 : 0x21))
      return { error: `the character ${JSON.stringify(c)} is not allowed` };
    if (c !== '%') {
      literal += c;
      continue;
    }
    const next = value[i + 1];
    if (next === '%' || next === '_' || next === '-') {
      literal += next === '%' ? '%' : next === '_' ? ' ' : '%20';
      i++;
      continue;
    }
    const m = /^%\{([A-Za-z])(\d*)([rR]?)([.\-+,/_=]*)\}/.exec(value.slice(i));
    if (!m) return { error: `"${value.slice(i, i + 6)}…" is not a macro (%{letter}, %%, %_ or %-)` };
    const letter = m[1]!.toLowerCase();
    if (!LETTERS.includes(letter))
      return { error: `%{${m[1]}} is not a macro letter (s l o d i p h v, and c r t in the explanation)` };
    if (context === 'domain' && EXPLANATION_ONLY.includes(letter))
      return { error: `%{${m[1]}} may appear only in the explanation text, not in a domain` };
    if (m[2] && Number(m[2]) === 0) return { error: `a macro keeps at least one label (%{${m[1]}0…} is invalid)` };
    if (literal) parts.push({ literal });
    literal = '';
    parts.push({
      letter,
      upper: m[1] !== letter,
      digits: m[2] ? Number(m[2]) : undefined,
      reverse: !!m[3],
      delimiters: m[4] || '.',
    });
    i += m[0].length - 1;
  }
  if (literal) parts.push({ literal });
  return { parts };
}

/** The values the macro letters stand for (RFC 7208 §7.3). */
export interface MacroValues {
  s: string;
  l: string;
  o: string;
  d: string;
  i: string;
  /** Asked for only when a record uses %{p}: it costs DNS look-ups. */
  p: () => Promise<string>;
  v: string;
  h: string;
  c: string;
  r: string;
  t: string;
}

/** Expands parsed macros: split on the delimiters, reverse, keep the right-hand N, join with dots; upper case URL-escapes. */
export async function expandMacros(parts: MacroPart[], values: MacroValues): Promise<string> {
  let out = '';
  for (const part of parts) {
    if ('literal' in part) {
      out += part.literal;
      continue;
    }
    const raw = part.letter === 'p' ? await values.p() : values[part.letter as Exclude<keyof MacroValues, 'p'>];
    let labels = raw.split(new RegExp(`[${part.delimiters.replace(/[-\\\]^]/g, '\\$&')}]`));
    if (part.reverse) labels = labels.reverse();
    if (part.digits !== undefined && part.digits < labels.length) labels = labels.slice(labels.length - part.digits);
    const text = labels.join('.');
    out += part.upper ? urlEscape(text) : text;
  }
  return out;
}

/** RFC 7208 §7.3: uppercase macros are URL-escaped, keeping RFC 3986's unreserved characters. */
function urlEscape(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

/** §7.3: an expanded domain over 253 characters loses labels from the left until it fits. */
export function fitDomain(name: string): string {
  let out = name.replace(/\.$/, '');
  while (out.length > 253 && out.includes('.')) out = out.slice(out.indexOf('.') + 1);
  return out;
}
