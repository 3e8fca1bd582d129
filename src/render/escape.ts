/**
 * What may reach a terminal. Everything else is shown as an escape such as \x1b or
 * \u202e, so no text, whatever its origin (a server, DNS, a sink client, a file), can
 * move the cursor, set the window title, write the clipboard (OSC 52) or reorder a line.
 * C0 and DEL, C1 (U+009B is a one-byte CSI on some terminals), and the bidirectional
 * embeddings, overrides and isolates (plus the invisible marks LRM, RLM, ALM).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const UNSAFE_BUT_LAYOUT = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const show = (ch: string) => {
  const n = ch.charCodeAt(0);
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
};

/** For a value inside a line: even TAB and LF are shown, so a value cannot fake a new line. */
export const escapeAll = (text: string): string => text.replace(UNSAFE, show);

/** For our own layout: TAB and LF stay (the writer's last pass over everything). */
export const escapeKeepingLayout = (text: string): string => text.replace(UNSAFE_BUT_LAYOUT, show);

/** Whether text holds anything the writer would escape: what the hostile-output tests look for. */
export const hasRawControls = (text: string): boolean => new RegExp(UNSAFE_BUT_LAYOUT.source).test(text);
