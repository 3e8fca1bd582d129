import { markerPattern } from './paint.js';

/*
 * Word wrapping for a terminal. Every line starts with a marker (`<-  `, ` -> `, `=== `,
 * `!!! `, `    # ` ...); a wrapped line continues under the same marker with a hanging
 * indent, so a narrow terminal never shows a line that seems to come from nowhere. An
 * inline explanation (`250-SIZE 1000   # messages up to ...`) continues under its `#`.
 * A --brief line holds a sent command and its reply: when the pair does not fit, the reply
 * goes below under its own arrow, so no server text ever sits under ` ~>`. A word longer
 * than any line (a fingerprint) is cut after a colon, never inside a byte.
 * Colour markers take no width and are kept.
 */
const LEADING_MARKER = /^( *)(<~\*|<\*\*|<~|<-|<<<|>>>|->|~>|===|###|!!!|\*\*\*|---|#)( +)/;
const INLINE_NOTE = /^(.*?\S)( {2,})# /;
/** A sent line with its reply beside it (--brief): ` ~> DATA  <~  354 go ahead`. */
const INLINE_REPLY = /^( *(?:->|~>) .*?\S)( {2})(?:<~\*|<\*\*|<~|<-) {1,2}\d{3}(?:[ -]|$)/;
const HANG = '  ';

interface Indexed {
  /** The visible characters (code points). */
  chars: string[];
  /** Raw offset where visible character i starts, colour markers just before it included; [n] = end. */
  start: number[];
  raw: string;
}

function index(raw: string): Indexed {
  const chars: string[] = [];
  const start: number[] = [];
  const markers = markerPattern();
  let pos = 0;
  let run = -1;
  for (let m = markers.exec(raw); ; m = markers.exec(raw)) {
    const end = m ? m.index : raw.length;
    let offset = pos;
    for (const ch of raw.slice(pos, end)) {
      start.push(run >= 0 ? run : offset);
      chars.push(ch);
      run = -1;
      offset += ch.length;
    }
    if (!m) break;
    // A run of markers belongs to the character after it.
    if (run < 0) run = m.index;
    pos = m.index + m[0].length;
  }
  start.push(raw.length);
  return { chars, start, raw };
}

const markersIn = (raw: string) => raw.match(markerPattern())?.join('') ?? '';

/** One logical line as terminal lines no wider than `width` (when words allow). */
export function wrapLine(line: string, width: number): string[] {
  const ix = index(line);
  if (ix.chars.length <= width || width < 20) return [line];
  const text = ix.chars.join('');
  const pair = INLINE_REPLY.exec(text);
  if (pair) {
    const sent = [...pair[1]!].length;
    const reply = sent + pair[2]!.length;
    // The colour that ends the command's stays with it.
    return [
      ...wrapLine(slice(ix, 0, sent) + markersIn(slice(ix, sent, reply)), width),
      ...wrapLine(slice(ix, reply, ix.chars.length), width),
    ];
  }
  const inline = INLINE_NOTE.exec(text);
  if (inline && !LEADING_MARKER.exec(text)?.[2]?.startsWith('#')) {
    const column = [...inline[1]!].length + [...inline[2]!].length;
    if (column <= width / 2) return wrapFrom(ix, width, `${' '.repeat(column)}#${HANG} `);
    // The note does not fit beside its line: it goes below, as an explanation line.
    const left = slice(ix, 0, [...inline[1]!].length);
    const note = `    ${slice(ix, column, ix.chars.length)}`;
    return [...wrapLine(left, width), ...wrapLine(note, width)];
  }
  const m = LEADING_MARKER.exec(text);
  const prefix = m ? `${m[1]}${m[2]}${m[3]}${HANG}` : `${/^ */.exec(text)![0]}${HANG}`;
  return wrapFrom(ix, width, prefix);
}

function slice(ix: Indexed, from: number, to: number): string {
  return ix.raw.slice(ix.start[from], ix.start[to]);
}

function wrapFrom(ix: Indexed, width: number, prefix: string): string[] {
  const n = ix.chars.length;
  const out: string[] = [];
  let s = 0;
  let carried = '';
  let room = width;
  while (s < n) {
    if (n - s <= room) {
      out.push(carried + slice(ix, s, n));
      break;
    }
    let cut = -1;
    for (let i = s + room; i > s; i--) {
      if (ix.chars[i] === ' ') {
        cut = i;
        break;
      }
    }
    // No space: a word longer than the line. Cut after its last colon that fits (a
    // fingerprint's byte stays whole), else where the line ends.
    let colon = -1;
    if (cut <= s) for (let i = s + room; i > s + 1 && colon < 0; i--) if (ix.chars[i - 1] === ':') colon = i;
    // Trailing spaces of the piece stay off the line.
    let end = cut > s ? cut : colon > s ? colon : s + room;
    while (end > s && ix.chars[end - 1] === ' ') end--;
    if (end === s) end = s + room;
    out.push(carried + slice(ix, s, end));
    let next = cut > s ? cut : end;
    while (next < n && ix.chars[next] === ' ') next++;
    carried = prefix + markersIn(slice(ix, end, next));
    s = next;
    room = Math.max(10, width - prefix.length);
  }
  return out;
}
