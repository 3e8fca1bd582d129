import { CAUSE_ROWS, type Cause, type CauseRow, type Wording } from './cause-table.js';

export type { Cause } from './cause-table.js';

/** Lower case, one space for any run of white space, straight apostrophes: how wordings are written. */
// Escaped, not typed: one character beyond ASCII makes V8 keep the whole bundle's source two bytes a character.
const normalised = (text: string) =>
  text
    .toLowerCase()
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/\s+/g, ' ');

function matches(row: CauseRow, codes: string[], text: string, plain: string): boolean {
  if (row.codesAlone?.some((c) => codes.includes(c))) return true;
  if (row.codes && !row.codes.some((c) => codes.includes(c))) return false;
  if (!row.text && !row.seen) return !!row.codes;
  return !!row.text?.test(text) || !!row.seen?.some(([wording]) => plain.includes(wording));
}

/** The rows matching one reply (or a lone enhanced code, or words alone), in table order, one per group. */
export function causesFor(
  code: number | undefined,
  enhanced: string | null | undefined,
  text: string,
  preciseOnly = false,
): Cause[] {
  const codes = [enhanced, code === undefined ? undefined : String(code)].filter((c): c is string => !!c);
  const plain = normalised(text);
  const hits = CAUSE_ROWS.filter((row) => matches(row, codes, text, plain));
  // A broad row says nothing new beside a precise one.
  const precise = preciseOnly || hits.some((r) => !r.fallback);
  const groups = new Set<string>();
  const found: Cause[] = [];
  for (const row of hits) {
    if (precise && row.fallback) continue;
    if (row.group && groups.has(row.group)) continue;
    if (row.group) groups.add(row.group);
    const { codes: _c, codesAlone: _a, text: _t, seen: _s, group: _g, fallback: _f, ...cause } = row;
    found.push(cause);
  }
  return found;
}

/** For tests and documentation: every row's id, source and the wordings it was seen with. */
export const CAUSE_SOURCES: ReadonlyArray<{ id: string; source: string; seen: readonly Wording[] }> = CAUSE_ROWS.map(
  (r) => ({ id: r.id, source: r.source, seen: r.seen ?? [] }),
);
