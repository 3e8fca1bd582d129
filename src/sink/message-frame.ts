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
const REMOTE_IMAGE =
  /(?:\b((?:xlink:)?href|src|srcset|background|poster)\s*=\s*["']?\s*(?:[^"'<>]*,\s*)?|url\(\s*["']?\s*)(?:https?:)?\/\//gi;
const IMAGE_TAGS: Record<string, RegExp> = {
  src: /^(?:img|input|source)$/,
  srcset: /^(?:img|source)$/,
  href: /^(?:image|use|feimage)$/,
  'xlink:href': /^(?:image|use|feimage)$/,
  poster: /^video$/,
  background: /./,
};

/**
 * About how many remote images the HTML asks for, for the page's "N remote images blocked":
 * a count for a person, not a security boundary (the policy above is that).
 */
export function remoteImageCount(html: string): number {
  let n = 0;
  for (const m of html.matchAll(REMOTE_IMAGE)) {
    const attribute = m[1]?.toLowerCase();
    if (attribute !== undefined) {
      const tag = /<([a-z][\w:-]*)[^<>]*$/i.exec(html.slice(Math.max(0, m.index - 2000), m.index))?.[1]?.toLowerCase();
      if (!tag || !IMAGE_TAGS[attribute]!.test(tag)) continue;
    }
    n++;
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
