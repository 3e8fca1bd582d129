import type { ChalkInstance } from 'chalk';
import { escapeKeepingLayout } from './escape.js';

export type Paint = ChalkInstance;

/**
 * Whether colour is wanted: --no-color and NO_COLOR turn it off (chalk alone ignores
 * NO_COLOR), FORCE_COLOR turns it on, otherwise the terminal decides. Decided without
 * loading chalk, so runs without colour (CI, pipes) never pay for it.
 */
export function colorLevel(
  flags: { color?: boolean },
  stream: { isTTY?: boolean; getColorDepth?: () => number } = process.stdout,
): 0 | 1 | 2 | 3 {
  if (flags.color === false || process.env.NO_COLOR) return 0;
  const forced = process.env.FORCE_COLOR;
  if (forced !== undefined && forced !== '')
    return forced === '0' || forced === 'false' ? 0 : (Math.min(3, Math.max(1, Number(forced) || 1)) as 1 | 2 | 3);
  if (!stream.isTTY || !stream.getColorDepth) return 0;
  const depth = stream.getColorDepth();
  return depth >= 24 ? 3 : depth >= 8 ? 2 : depth >= 4 ? 1 : 0;
}

/** Paints nothing: every style is the identity, however it is chained. */
export const plain: Paint = new Proxy(((s: unknown) => String(s)) as unknown as Paint, {
  // Not a thenable: awaiting it must give it back, not call it.
  get: (_target, key) => (key === 'level' ? 0 : key === 'then' ? undefined : plain),
  apply: (_target, _this, args: unknown[]) => args.map(String).join(' '),
});

/*
 * Colour without trusting text. The writer escapes every control character, ESC included,
 * so a renderer's colours cannot be real escape sequences until the very end. Paint
 * escapes what it is given, lets chalk style it, then turns chalk's SGR sequences (the only
 * ESC left) into markers: private-use characters around a per-process random nonce, which
 * no server can guess. The writer turns markers back into SGR after escaping the rest.
 */
const MARK_OPEN = '\ue000';
const MARK_CLOSE = '\ue001';
let nonce: string | undefined;
/** Exists once a colour has been painted; until then no text holds a marker. */
let MARKER: RegExp | undefined;

/** Made with the first colour: a run without colour never loads node:crypto at start-up. */
function markerNonce(): string {
  if (nonce === undefined) {
    nonce = process.getBuiltinModule('node:crypto').randomBytes(6).toString('hex');
    MARKER = new RegExp(`${MARK_OPEN}${nonce}([0-9;]*)${MARK_CLOSE}`, 'g');
  }
  return nonce;
}
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[([0-9;]*)m/g;

/** A colour marker for SGR parameters, as paint writes them. */
export const colourMarker = (sgr: string) => `${MARK_OPEN}${markerNonce()}${sgr}${MARK_CLOSE}`;

/** Markers to real SGR sequences (the writer's last step, after escaping). */
export const markersToSgr = (text: string): string =>
  MARKER ? text.replace(MARKER, (_m, sgr: string) => `\x1b[${sgr}m`) : text;

/** Text without colour markers: what a person sees, for measuring widths. */
export const stripMarkers = (text: string): string => (MARKER ? text.replace(MARKER, '') : text);

/** The pattern of one marker, for code that walks a line (wrapping). */
export const markerPattern = (): RegExp => new RegExp(MARKER?.source ?? '(?!)', 'g');

function marking(style: (...args: unknown[]) => string): Paint {
  // A fresh target: chalk's styles are non-configurable properties a proxy may not replace.
  const call = (...args: unknown[]) =>
    style(...args.map((a) => escapeKeepingLayout(String(a)))).replace(SGR, (_m, sgr: string) => colourMarker(sgr));
  return new Proxy(call, {
    get: (_target, key) => {
      if (key === 'then') return undefined;
      const value = Reflect.get(style, key) as unknown;
      return typeof value === 'function' ? marking(value as (...args: unknown[]) => string) : value;
    },
  }) as unknown as Paint;
}

/** chalk at the wanted level (loaded only when there is colour to show), writing markers. */
export async function paint(
  flags: { color?: boolean },
  stream?: { isTTY?: boolean; getColorDepth?: () => number },
): Promise<Paint> {
  const level = colorLevel(flags, stream);
  if (!level) return plain;
  const { Chalk } = await import('chalk');
  return marking(new Chalk({ level }) as unknown as (...args: unknown[]) => string);
}
