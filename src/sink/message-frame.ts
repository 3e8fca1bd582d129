// A message's HTML part as the web page shows it: untrusted markup, served alone (never inside
// the page) under a policy that lets nothing in it run, submit, frame or fetch, whatever it
// holds. The iframe that shows it is sandboxed as well; this policy also holds when someone
// opens the part's URL directly in a tab.

/**
 * `sandbox` with no tokens: an opaque origin, no scripts, forms, popups, top navigation or
 * automatic features (a <meta refresh> does nothing). Only inline styles, data: images and
 * the message's own parts (`ownParts`: the URL its attachments are under) load; with
 * `remoteImages`, images from http(s) too (the page's "Show remote images" button).
 */
export function messageFrameCsp(remoteImages: boolean, ownParts: string | undefined): string {
  return [
    'sandbox',
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    // The message's own inline images (cid: links pointed at its attachments), and nothing
    // else of the sink's: a /api/v1/wait as an image would hold a request slot.
    `img-src data:${ownParts ? ` ${ownParts}` : ''}${remoteImages ? ' http: https:' : ''}`,
    'font-src data:',
    "frame-ancestors 'self'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/**
 * The HTML part with every <link>, frame and plug-in element made an inert one: Chromium opens
 * connections for rel=preconnect (and dns-prefetch) and for an <iframe src> whatever the policy
 * says (it refuses the request, not the connection), and a connection is enough to tell a
 * sender its mail was opened. The policy refuses what they would load anyway.
 */
export function inertTags(html: string): string {
  return html.replace(/<(\/?)(link|i?frame|frameset|object|embed|portal|fencedframe|applet)(?=[\s/>])/gi, '<$1x-$2');
}

// Where a remote image can hide: an attribute (which counts only on the elements named in
// IMAGE_TAGS) or a CSS url(), with an http(s) or scheme-relative URL.
const IMAGE_TAGS: Record<string, RegExp> = {
  src: /^(?:img|input|source)$/,
  srcset: /^(?:img|source)$/,
  href: /^(?:image|use|feimage)$/,
  'xlink:href': /^(?:image|use|feimage)$/,
  poster: /^video$/,
  background: /./,
};
// Each of these is anchored at a literal (a comma, "url(") and its \s* is followed by what \s
// cannot match, so a failed attempt costs only the spaces it crossed: linear in the input.
const REMOTE_URL = /(?:^|,)\s*(?:https?:)?\/\//i;
const CSS_URL = /url\(\s*(?:["']\s*)?(?:https?:)?\/\//gi;
/** Only this much of an HTML part is looked at for the count (a message may be 25 MiB and more). */
export const REMOTE_IMAGE_SCAN_LIMIT = 2 * 1024 * 1024;
const SPACE = /\s/;

/**
 * About how many remote images the HTML asks for, for the page's "N remote images blocked":
 * a count for a person, not a security boundary (the policy above is that). One pass over the
 * tags and their attribute values (quoted or not), never a regex that can backtrack over the
 * message: a sender writes the HTML, and this runs on the sink's only thread. Only the first
 * REMOTE_IMAGE_SCAN_LIMIT characters are read.
 */
export function remoteImageCount(whole: string): number {
  const html = whole.length > REMOTE_IMAGE_SCAN_LIMIT ? whole.slice(0, REMOTE_IMAGE_SCAN_LIMIT) : whole;
  let n = 0;
  for (const _ of html.matchAll(CSS_URL)) n++;
  const end = html.length;
  let i = html.indexOf('<');
  while (i !== -1 && i < end) {
    i++;
    const nameStart = i;
    while (i < end && /[\w:-]/.test(html[i]!)) i++;
    const tag = /^[a-z]/i.test(html[nameStart] ?? '') ? html.slice(nameStart, i).toLowerCase() : '';
    // The attributes, up to the tag's ">" (or a "<" that starts the next one).
    while (tag && i < end && html[i] !== '>' && html[i] !== '<') {
      const c = html[i]!;
      if (SPACE.test(c) || c === '/') {
        i++;
        continue;
      }
      const attrStart = i;
      while (i < end && !/[\s/=<>]/.test(html[i]!)) i++;
      if (i === attrStart) i++; // a stray "=": step over it
      const attribute = html.slice(attrStart, i).toLowerCase();
      while (i < end && SPACE.test(html[i]!)) i++;
      if (html[i] !== '=') continue;
      i++;
      while (i < end && SPACE.test(html[i]!)) i++;
      let value: string;
      const quote = html[i];
      if (quote === '"' || quote === "'") {
        const close = html.indexOf(quote, i + 1);
        const stop = close === -1 ? end : close;
        value = html.slice(i + 1, stop);
        i = stop + 1;
      } else {
        const valueStart = i;
        while (i < end && !/[\s>]/.test(html[i]!)) i++;
        value = html.slice(valueStart, i);
      }
      if (IMAGE_TAGS[attribute]?.test(tag) && REMOTE_URL.test(value)) n++;
    }
    i = html.indexOf('<', i);
  }
  return n;
}

/**
 * cid: links (RFC 2392) to the message's own parts, pointed at their /attachments/N URLs
 * (`url` makes one, with its key when there is a token); an unknown Content-ID stays as it is.
 */
export function inlineImages(html: string, parts: ReadonlyMap<string, number>, url: (n: number) => string): string {
  return html.replace(/\bcid:([^\s"'<>)]+)/gi, (whole, id: string) => {
    let decoded = id;
    try {
      decoded = decodeURIComponent(id);
    } catch {
      // A malformed escape: looked up as written.
    }
    const n = parts.get(decoded.toLowerCase());
    return n === undefined ? whole : url(n);
  });
}
