import { replyText, type Reply } from '../protocol/reply.js';
import { ENHANCED_CLASSES, ENHANCED_CODES, ENHANCED_SUBJECTS } from './enhanced-codes.js';
import { hintFor, type Audience } from './hints.js';
import { COMMAND_CODES, FIRST_DIGIT, GENERIC_CODES } from './reply-codes.js';

export interface EnhancedExplanation {
  code: string;
  title: string;
  text: string;
}

export interface Explanation {
  /** What the basic code means as an answer to this command. */
  summary: string;
  enhanced: EnhancedExplanation | null;
  /** What to try next, when we know something useful. */
  hint: string | null;
  /** Said when what was given is not standard SMTP (an enhanced code with no basic code). */
  note?: string;
}

/** The basic code in the light of the command it answers. */
export function explainCode(code: number, command = ''): string {
  const known = COMMAND_CODES[`${command} ${code}`] ?? GENERIC_CODES[code];
  if (known) return known;
  const byFirstDigit = FIRST_DIGIT[Math.floor(code / 100)] ?? `Unknown code ${code}.`;
  // RFC 5321 §4.2.1 gives the second digit the values 0 to 5; servers still send 570, 571...
  if (Math.floor(code / 10) % 10 > 5)
    return `Not a standard SMTP reply code (RFC 5321 §4.2.1 has second digits 0 to 5 only), read by its first digit: ${byFirstDigit}`;
  return byFirstDigit;
}

/** "5.7.1" → its registry title and our explanation; unknown details fall back to the subject. */
export function explainEnhanced(code: string): EnhancedExplanation | undefined {
  const m = /^([245])\.(\d{1,3})\.(\d{1,3})$/.exec(code);
  if (!m) return undefined;
  const [, cls = '', subject = '', detail = ''] = m;
  const entry = ENHANCED_CODES[`${subject}.${detail}`];
  const kind = ENHANCED_CLASSES[cls] ?? '';
  if (entry) return { code, title: entry[0], text: `${entry[1]} (${capitalise(kind)}.)` };
  const about = ENHANCED_SUBJECTS[subject];
  return {
    code,
    title: 'Unregistered code',
    text: `${about ? `Not in the IANA registry; its subject is ${about}` : 'Neither subject nor detail is in the IANA registry'}. ${capitalise(kind)}.`,
  };
}

export function explainReply(reply: Reply, command: string, tls = false, audience: Audience = 'cli'): Explanation {
  return {
    summary: explainCode(reply.code, command),
    // A success with an "other or undefined" detail (2.0.0, 2.7.0) says nothing the basic code did not.
    enhanced: reply.enhanced && !/^2\.\d+\.0$/.test(reply.enhanced) ? (explainEnhanced(reply.enhanced) ?? null) : null,
    hint:
      hintFor({ code: reply.code, enhanced: reply.enhanced, command, text: replyText(reply), tls }, audience) ?? null,
  };
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
