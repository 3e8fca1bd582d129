/**
 * The report addresses published in DNS: DMARC's rua=/ruf= (RFC 9989 §4.7) and TLS-RPT's
 * rua= (RFC 8460 §3) are both comma-separated lists of RFC 3986 URIs. Problems are worded
 * with the tag in front: "rua=mailto:x is ...".
 */

/** What RFC 3986 allows in a URI (unreserved, reserved and "%"): anything else must be percent-encoded. */
const URI_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;
const SCHEME = /^([a-z][a-z0-9+.-]*):(.*)$/is;

export type ReportUri = { scheme: string; rest: string } | { problem: string };

/** One entry of `tag`'s list: its scheme (lower case) and the rest, or why it is not a URI. */
export function parseReportUri(tag: string, uri: string): ReportUri {
  if (!uri) return { problem: `${tag}= has an empty entry` };
  const m = SCHEME.exec(uri);
  if (!m) return { problem: `${tag}=${uri} is not a URI${uri.includes('@') ? `: write mailto:${uri}` : ''}` };
  if (!URI_CHARS.test(uri))
    return {
      problem: `${tag}=${uri} holds characters a URI cannot (a space, a quote, non-ASCII): percent-encode them`,
    };
  if (/%(?![0-9a-f]{2})/i.test(uri)) return { problem: `${tag}=${uri}: a "%" not followed by two hex digits` };
  return { scheme: m[1]!.toLowerCase(), rest: m[2]! };
}

/** Why a mailto: URI's address is not one e-mail address, or undefined when it is. */
export function mailtoProblem(tag: string, uri: string, rest: string): string | undefined {
  // parseReportUri checked the percent-encoding, so decoding cannot throw.
  const address = decodeURIComponent(rest);
  return /^[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(address)
    ? undefined
    : `${tag}=${uri}: "${rest}" is not an e-mail address`;
}

/** Why an https: URI is not one a report could be POSTed to, or undefined when it is. */
export function httpsProblem(tag: string, uri: string): string | undefined {
  let url: URL | undefined;
  try {
    url = new URL(uri);
  } catch {
    // Reported below: no host.
  }
  // The URL parser forgives "https:host" and "https:/host"; RFC 3986 wants "//" before a host.
  if (!url?.hostname || !/^https:\/\/[^/?#]/i.test(uri)) return `${tag}=${uri} names no host (https://host/path)`;
  return undefined;
}
