/** The Authentication-Results: header field a receiver adds (RFC 8601), from the results as data. */

export interface ResultInfo {
  /** spf, dkim, dmarc, arc. */
  method: string;
  result: string;
  /** A comment, in parentheses after the result. */
  comment?: string;
  /** ptype.property = value, in order: `smtp.mailfrom`, `header.d` ... */
  props: Array<[string, string]>;
}

/** A token (RFC 2045) or a domain / addr-spec goes bare; anything else as a quoted-string (RFC 8601 §2.2 pvalue). */
export function pvalue(v: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = v.replace(/[\x00-\x1f\x7f]/g, '');
  if (/^(?:[A-Za-z0-9!#$%&'*+\-.^_`{|}~\u0080-\uffff]+@)?[A-Za-z0-9!#$%&'*+\-.^_`{|}~\u0080-\uffff]+$/.test(clean))
    return clean;
  return `"${clean.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** Parentheses and backslashes inside a comment are quoted (RFC 5322 §3.2.2). */
const comment = (text: string) => `(${text.replace(/[\x00-\x1f\x7f]/g, '').replace(/[()\\]/g, (c) => `\\${c}`)})`;

/**
 * The field as it would be written into the message: one result per line, folded with
 * CRLF and two spaces (a tab would be escaped on a terminal), no final CRLF. No result at all is `none` (RFC 8601 §2.2 no-result).
 */
export function authenticationResults(authservId: string, results: ResultInfo[]): string {
  if (!results.length) return `Authentication-Results: ${authservId}; none`;
  const lines = results.map((r) =>
    [
      `${r.method}=${r.result}`,
      ...(r.comment ? [comment(r.comment)] : []),
      ...r.props.map(([k, v]) => `${k}=${pvalue(v)}`),
    ].join(' '),
  );
  return `Authentication-Results: ${authservId};\r\n  ${lines.join(';\r\n  ')}`;
}

/** An authserv-id as given: a name, no spaces, nothing that would end or fold the field. */
export function authservIdProblem(id: string): string | undefined {
  return /^[A-Za-z0-9!#$%&'*+\-.^_`{|}~]{1,255}$/.test(id)
    ? undefined
    : 'give a host name or a token (letters, digits, ".", "-"), with no spaces or ";"';
}
