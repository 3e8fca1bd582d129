// Deterministic faults: "this address at this stage gets this reply", for test suites that
// need a full mailbox or a rejected sender every time, not at a rate. Given as --rule or
// through POST /api/v1/rules; pure (no I/O): parsing, checking, matching.

export const RULE_STAGES = ['mail', 'rcpt', 'data'] as const;
export type RuleStage = (typeof RULE_STAGES)[number];

export interface FaultRule {
  /** As given: `rcpt:*@full.test=452 4.2.2 Mailbox full`. */
  rule: string;
  stage: RuleStage;
  /** The address pattern: `*` any run of characters, `?` one; case-insensitive, the whole address. */
  pattern: string;
  code: number;
  /** The reply's text after its code (may start with an enhanced code). */
  text: string;
}

/** Rules a sink holds at once (a POST with more is refused). */
export const MAX_RULES = 1000;
/** A reply line is at most 512 octets with its code and CRLF (RFC 5321 §4.5.3.1.5). */
const MAX_TEXT = 500;

const SYNTAX = 'STAGE:PATTERN=CODE [TEXT], e.g. rcpt:*@full.test=452 4.2.2 Mailbox full (STAGE: mail, rcpt or data)';

/**
 * One rule from its text; throws an Error that says what is wrong. The reply starts at the
 * first `=` followed by a three-digit code, so a pattern may hold `=` (SRS, BATV addresses).
 */
export function parseRule(text: string): FaultRule {
  if (/[\r\n\0]/.test(text)) throw new Error(`rule ${JSON.stringify(text)}: no CR, LF or NUL may go on the wire`);
  const m = /^\s*([a-z]+):(.*?)=(\d{3})(?:\s(.*))?$/i.exec(text);
  if (!m) throw new Error(`rule ${JSON.stringify(text)}: write it as ${SYNTAX}`);
  const stage = m[1]!.toLowerCase() as RuleStage;
  if (!RULE_STAGES.includes(stage))
    throw new Error(`rule ${JSON.stringify(text)}: the stage is mail, rcpt or data, not ${JSON.stringify(m[1])}`);
  const pattern = m[2]!.trim();
  if (!pattern) throw new Error(`rule ${JSON.stringify(text)}: no address pattern (* matches every address)`);
  const code = Number(m[3]);
  const klass = Math.floor(code / 100);
  if (klass < 2 || klass > 5)
    throw new Error(`rule ${JSON.stringify(text)}: the reply code is 2xx to 5xx, not ${m[3]}`);
  if (klass === 3)
    throw new Error(
      `rule ${JSON.stringify(text)}: a 3xx reply would leave the client waiting to send what the sink does not read; give 2xx, 4xx or 5xx`,
    );
  const reply = (m[4] ?? '').trim() || (klass === 2 ? 'Ok (--rule)' : `${klass}.0.0 Refused (--rule)`);
  // An SMTP reply is printable ASCII (RFC 5321 §2.4): no C1 control (NEL), bidi override or
  // other non-ASCII text reaches a client's logs, and characters are octets for MAX_TEXT.
  const bad = /[^\x20-\x7e]/.exec(reply)?.[0];
  if (bad !== undefined) {
    const cp = bad.codePointAt(0)!;
    throw new Error(
      `rule ${JSON.stringify(text)}: the reply text has U+${cp.toString(16).toUpperCase().padStart(4, '0')}, ${cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ? 'a control character' : 'not ASCII'}; a reply is printable ASCII (RFC 5321 §2.4)`,
    );
  }
  if (reply.length > MAX_TEXT)
    throw new Error(`rule ${JSON.stringify(text)}: the reply text is over ${MAX_TEXT} characters`);
  const enhanced = /^(\d)\.\d{1,3}\.\d{1,3}(?:\s|$)/.exec(reply);
  if (enhanced && Number(enhanced[1]) !== klass)
    throw new Error(
      `rule ${JSON.stringify(text)}: the enhanced code ${reply.split(/\s/)[0]} is of class ${enhanced[1]}, the reply ${code} of class ${klass} (RFC 3463 §2)`,
    );
  return { rule: text.trim(), stage, pattern, code, text: reply };
}

/** Several rules, in order; the first bad one throws. */
export function parseRules(texts: readonly string[]): FaultRule[] {
  if (texts.length > MAX_RULES) throw new Error(`${texts.length} rules: a sink holds at most ${MAX_RULES}`);
  return texts.map(parseRule);
}

/** Whether the pattern matches the address: linear, no backtracking blow-up (a glob, not a regex). */
export function globMatch(pattern: string, address: string): boolean {
  const p = pattern.toLowerCase();
  const s = address.toLowerCase();
  let i = 0;
  let j = 0;
  let star = -1;
  let mark = 0;
  while (j < s.length) {
    if (i < p.length && (p[i] === '?' || p[i] === s[j])) {
      i++;
      j++;
    } else if (i < p.length && p[i] === '*') {
      star = i++;
      mark = j;
    } else if (star >= 0) {
      i = star + 1;
      j = ++mark;
    } else return false;
  }
  while (p[i] === '*') i++;
  return i === p.length;
}

/**
 * The first rule for this stage whose pattern matches one of the addresses (MAIL: the sender,
 * `<>` for the null sender; RCPT: the recipient; data: any recipient of the transaction).
 */
export function matchRule(
  rules: readonly FaultRule[],
  stage: RuleStage,
  addresses: readonly string[],
): FaultRule | undefined {
  // `<>` names the null sender (a bounce), whose address is empty.
  return rules.find(
    (r) => r.stage === stage && addresses.some((a) => globMatch(r.pattern === '<>' ? '' : r.pattern, a)),
  );
}
