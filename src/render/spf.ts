import type { SpfResult, SpfStep, SpfVerdict } from '../spf/check-host.js';
import type { Paint } from './paint.js';
import { printable } from './printable.js';

export interface SpfSubject {
  domain: string;
  /** The address as evaluated. */
  ip: string;
  /** The IPv4-mapped IPv6 form it was given in (::ffff:192.0.2.1), evaluated as IPv4 (RFC 7208 §5). */
  mappedFrom?: string;
  sender: string;
  helo: string | undefined;
  identity: 'mfrom' | 'helo';
}

/** What each result asks of a receiver (RFC 7208 §2.6, §8), in a person's words. */
const MEANING: Record<SpfResult, string> = {
  pass: 'the client is authorized to send for this domain',
  fail: 'the client is NOT authorized: receivers may reject the mail (RFC 7208 §8.4)',
  softfail: 'the client is probably not authorized: receivers accept but treat the mail with suspicion (§8.5)',
  neutral: 'the domain says nothing about this client: treated like none (§8.3)',
  none: 'no SPF record applies: nothing can be said (§8.1)',
  permerror:
    'the domain’s SPF records are broken: receivers cannot evaluate them (§8.7); the domain owner must fix them',
  temperror: 'a DNS look-up failed: receivers defer the mail, 4xx (§8.6); try again later',
};

/** The evaluation as a transcript a person reads: each record and term, what it asked DNS, and whether it matched. */
export function renderSpf(subject: SpfSubject, v: SpfVerdict, c: Paint): string {
  const out: string[] = [];
  const who =
    subject.identity === 'helo' ? `HELO identity ${printable(subject.sender)}` : `sender ${printable(subject.sender)}`;
  out.push(
    c.blue(
      `=== SPF check_host() for ${printable(subject.domain)}: client ${printable(subject.ip)}${subject.mappedFrom ? ` (given as ${printable(subject.mappedFrom)}: IPv4-mapped, evaluated as IPv4)` : ''}, ${who}${subject.helo ? `, HELO ${printable(subject.helo)}` : ''}`,
    ),
  );
  for (const step of v.trace) out.push(...renderStep(step, c));
  const paint = colourOf(v.result, c);
  out.push(c.dim(`    ${v.lookups} of 10 DNS-querying terms used, ${v.voidLookups} of 2 void look-ups`));
  out.push(paint.bold(`=== SPF result: ${v.result}`) + ` ${printable(`(${v.reason})`)}`);
  out.push(`    ${printable(MEANING[v.result])}`);
  if (v.explanation !== undefined) out.push(`    explanation (exp=): ${c.bold(printable(v.explanation))}`);
  return `${out.join('\n')}\n`;
}

function renderStep(step: SpfStep, c: Paint): string[] {
  const pad = '  '.repeat(step.depth + 1);
  const lines: string[] = [];
  if (step.term === 'record') {
    lines.push(
      `${pad}${c.bold(printable(step.domain))}${step.record !== undefined ? `  ${c.cyan(printable(step.record))}` : ''}`,
    );
  } else {
    const mark = step.match === true ? '✔' : step.match === false ? '·' : '→';
    const state =
      step.match === true
        ? `matched${step.result ? `: ${step.result}` : ''}`
        : step.match === false
          ? step.result
            ? step.result
            : 'no match'
          : (step.result ?? '');
    const paint =
      step.match === true && step.result
        ? colourOf(step.result, c)
        : step.result && step.match !== true
          ? colourOf(step.result, c)
          : c.dim;
    lines.push(`${pad}${mark} ${printable(step.term).padEnd(28)} ${paint(printable(state))}`);
  }
  for (const l of step.lookups) lines.push(c.dim(`${pad}    ${printable(l)}`));
  if (step.note) lines.push(c.dim(`${pad}    # ${printable(step.note)}`));
  return lines;
}

function colourOf(result: SpfResult, c: Paint): Paint {
  return {
    pass: c.green,
    fail: c.red,
    softfail: c.yellow,
    neutral: c.dim,
    none: c.dim,
    permerror: c.red,
    temperror: c.yellow,
  }[result];
}
