import type { Zone, ZoneRecord } from './dns-server.js';

/**
 * The OpenSPF RFC 7208 test suite (rfc7208-tests.yml, as pyspf ships it), read with a
 * reader for the small part of YAML it uses: documents split by "---", two-level maps of
 * tests, zone entries "- TYPE: value" or "- TIMEOUT", scalars plain, 'single' or "double"
 * quoted (\xNN is one byte, as the suite's Python drivers read it), and [flow, lists].
 * Descriptions and comments (folded, multi-line) are skipped, not parsed.
 */

export interface SuiteCase {
  scenario: string;
  name: string;
  helo: string;
  host: string;
  mailfrom: string;
  /** Any of these results agrees (the suite lists alternatives where the RFC allows them). */
  results: string[];
  explanation: string | undefined;
}

export interface Scenario {
  description: string;
  cases: SuiteCase[];
  zone: Zone;
}

type Scalar = string | Scalar[];

export function readSuite(text: string): Scenario[] {
  const scenarios: Scenario[] = [];
  for (const doc of text.split(/^---[ \t]*$/m)) {
    const lines = doc.split('\n').filter((l) => l.trim() && !/^\s*#/.test(l));
    if (!lines.length) continue;
    const scenario: Scenario = { description: '', cases: [], zone: {} };
    // Raw zone entries, turned into records once the whole scenario is read (SPF-to-TXT copying needs all of a name's entries).
    const zoneEntries = new Map<string, Array<[string, Scalar] | 'TIMEOUT'>>();
    let section = '';
    let current: Record<string, Scalar> | undefined;
    let currentName = '';
    const finish = () => {
      if (current && section === 'tests') scenario.cases.push(toCase(scenario.description, currentName, current));
      current = undefined;
    };
    for (const line of lines) {
      const indent = line.length - line.trimStart().length;
      const body = line.trim();
      if (indent === 0) {
        finish();
        const [key, value] = keyValue(body);
        section = key;
        if (key === 'description') scenario.description = String(scalar(value));
        continue;
      }
      if (indent === 2 && (section === 'tests' || section === 'zonedata')) {
        finish();
        currentName = String(scalar(body.replace(/:$/, '')));
        if (section === 'tests') current = {};
        else zoneEntries.set(currentName.toLowerCase().replace(/\.$/, ''), []);
        continue;
      }
      if (indent === 4 && section === 'tests' && current) {
        const [key, value] = keyValue(body);
        current[key] = scalar(value);
        continue;
      }
      if (indent === 4 && section === 'zonedata' && body.startsWith('- ')) {
        const item = body.slice(2).trim();
        const entries = zoneEntries.get(currentName.toLowerCase().replace(/\.$/, ''))!;
        if (item === 'TIMEOUT') entries.push('TIMEOUT');
        else {
          const [type, value] = keyValue(item);
          entries.push([type, scalar(value)]);
        }
      }
      // Deeper lines continue a description or comment: skipped.
    }
    finish();
    for (const [name, entries] of zoneEntries) scenario.zone[name] = zoneRecords(entries);
    scenarios.push(scenario);
  }
  return scenarios;
}

function toCase(scenario: string, name: string, fields: Record<string, Scalar>): SuiteCase {
  const result = fields.result ?? '';
  return {
    scenario,
    name,
    helo: String(fields.helo ?? ''),
    host: String(fields.host ?? ''),
    mailfrom: String(fields.mailfrom ?? ''),
    results: Array.isArray(result) ? result.map(String) : [result],
    explanation: fields.explanation === undefined ? undefined : String(fields.explanation),
  };
}

/**
 * The suite's drivers copy each SPF (type 99) record to TXT unless the name has TXT
 * entries of its own ("TXT: NONE" says it has none); type 99 itself is not served.
 */
function zoneRecords(entries: Array<[string, Scalar] | 'TIMEOUT'>): ZoneRecord[] {
  const hasTxt = entries.some((e) => e !== 'TIMEOUT' && e[0] === 'TXT');
  const out: ZoneRecord[] = [];
  for (const e of entries) {
    if (e === 'TIMEOUT') {
      out.push({ type: 'TIMEOUT' });
      continue;
    }
    const [type, value] = e;
    if (type === 'TXT' && value === 'NONE') continue;
    if (type === 'TXT' || (type === 'SPF' && !hasTxt))
      out.push({ type: 'TXT', data: Array.isArray(value) ? value.map(bytes) : bytes(value) });
    else if (type === 'A' || type === 'AAAA') out.push({ type, address: String(value) });
    else if (type === 'MX')
      out.push({
        type,
        priority: Number((value as Scalar[])[0]),
        exchange: String((value as Scalar[])[1]).replace(/\.$/, ''),
      });
    else if (type === 'PTR' || type === 'CNAME') out.push({ type, domain: String(value).replace(/\.$/, '') });
  }
  return out;
}

/** The suite's strings are byte strings: each character is one octet. */
const bytes = (s: Scalar) => Buffer.from(String(s), 'latin1');

function keyValue(text: string): [string, string] {
  const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^:]+):\s*(.*)$/.exec(text);
  if (!m) return [text, ''];
  return [String(scalar(m[1]!)), m[2]!];
}

function scalar(text: string): Scalar {
  const t = text.trim();
  if (t.startsWith('[')) return splitFlow(t.slice(1, t.lastIndexOf(']'))).map(scalar);
  if (t.startsWith('"'))
    return t
      .slice(1, -1)
      .replace(/\\(x[0-9A-Fa-f]{2}|.)/g, (_, e: string) =>
        e[0] === 'x'
          ? String.fromCharCode(parseInt(e.slice(1), 16))
          : (({ n: '\n', t: '\t', r: '\r', '0': '\0' } as Record<string, string>)[e] ?? e),
      );
  if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
  if (t === '>-' || t === '|-' || t === '>' || t === '|') return '';
  return t;
}

function splitFlow(inner: string): string[] {
  const items: string[] = [];
  let cur = '';
  let quote = '';
  for (const ch of inner) {
    if (quote) {
      if (ch === quote) quote = '';
      cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      cur += ch;
    } else if (ch === ',') {
      items.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) items.push(cur);
  return items.map((i) => i.trim()).filter((i) => i !== '');
}
