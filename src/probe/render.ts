import { withAdvice } from '../render/advice.js';
import type { Paint } from '../render/paint.js';
import { printable } from '../render/printable.js';
import { Said, TextRenderer } from '../render/text.js';
import { counts, judged, MARKS, nagiosStatus, strictExit, type ProbeResult } from './result.js';

/** The table of checks for people: markers stay without colour, so CI logs read the same. */
export function textReport(r: ProbeResult, c: Paint, transcript: boolean, brief = false, said?: Said): string {
  let out = '';
  if (transcript) {
    const renderer = new TextRenderer(
      { write: (t: string) => (out += t) },
      { write: (t: string) => (out += t) },
      { paint: c, detail: brief ? 'brief' : 'full', said },
    );
    for (const e of r.events) renderer.event(e);
  }
  const paint = { pass: c.green, warn: c.yellow, fail: c.red, inconclusive: c.blue };
  out += `${c.bold(`probe ${printable(r.target)}`)}\n`;
  const width = Math.max(...r.checks.map((k) => k.name.length), 8);
  for (const k of r.checks)
    out += `  ${paint[k.status](`${MARKS[k.status]} ${printable(k.name).padEnd(width)}`)}  ${printable(k.message)}\n`;
  if (r.error)
    out += `  ${c.red(`${MARKS.fail} ${printable(r.error.phase ?? 'probe').padEnd(width)}`)}  ${printable(withAdvice(r.error.message, r.error.hint))}\n`;
  const timings = Object.entries(r.timings)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  out += c.dim(`  timings (ms): ${timings}${timings ? ', ' : ''}total ${r.totalMs}\n`);
  return out;
}

/** One line per target; under --strict warnings make it FAILED, as the exit code says. */
export function verdictLine(r: ProbeResult, strict = false): string {
  const n = counts(r);
  const failed = strictExit(r, strict) !== 0;
  const word = r.error
    ? `FAILED (exit ${r.exitCode})`
    : n.fail
      ? 'FAILED'
      : n.warn
        ? failed
          ? 'FAILED (--strict: warnings fail)'
          : 'OK with warnings'
        : 'OK';
  return `${word}: ${verdictText(r)}`;
}

/** The target and its counts, the failed checks named, and what stopped it. */
export function verdictText(r: ProbeResult): string {
  const n = counts(r);
  const failed = r.checks.filter((k) => k.status === 'fail').map((k) => k.name);
  return `${printable(r.target)}: ${n.pass} passed, ${n.warn} warning${n.warn === 1 ? '' : 's'}, ${n.fail} failed${failed.length ? ` (${printable(failed.join(', '))})` : ''}${n.inconclusive ? `, ${n.inconclusive} inconclusive` : ''}${r.error ? `; stopped: ${printable(r.error.message)}` : ''}`;
}

export const NAGIOS = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'];
const seconds = (ms: number | undefined) => `${((ms ?? 0) / 1000).toFixed(3)}s`;

/** The monitoring-plugins convention: `SMTP STATUS - text|perfdata` (one line per target). */
export function nagiosLine(
  r: ProbeResult,
  warnMs: number | undefined,
  critMs: number | undefined,
  strict = false,
): string {
  const status = nagiosStatus(r, strict);
  const bad = r.error
    ? r.error.message
    : r.checks
        .filter((k) => k.status !== 'pass')
        .map((k) => `${k.name}: ${k.message}`)
        .join('; ');
  const text = bad || `${r.checks.find((k) => k.name === 'greeting')?.message ?? ''}`;
  // The server's response time: smtpkit's own waits (the implicit-TLS check) have their own perfdata.
  const perf = [
    `time=${seconds(r.responseMs)};${warnMs !== undefined ? (warnMs / 1000).toFixed(3) : ''};${critMs !== undefined ? (critMs / 1000).toFixed(3) : ''};0`,
    ...Object.entries(r.timings).map(([k, v]) => `${k}=${seconds(v)};;;0`),
  ];
  // "|" starts the performance data: none may appear in the text.
  return `SMTP ${NAGIOS[status]} - ${printable(r.target).replace(/\|/g, '/')}: ${printable(text).replace(/\|/g, '/')}, ${seconds(r.responseMs)} response time|${perf.join(' ')}`;
}

/**
 * Text as XML 1.0 allows it: controls shown as \xNN first, then what XML forbids outright
 * (U+FFFE, U+FFFF, unpaired surrogates) replaced with U+FFFD, then the five entities.
 */
export function xmlText(s: string): string {
  return printable(s)
    .replace(/[\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[ch]!);
}

/** JUnit XML, written a test suite at a time: a suite per target and a test case per check, so CI shows failures natively. */
export const JUNIT_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="smtpkit probe">\n';
export const JUNIT_FOOT = '</testsuites>\n';

/** One target's test suite (an inconclusive check is a skipped test case). */
export function junitSuite(r: ProbeResult, strict = false): string {
  const xml = xmlText;
  let failures = 0;
  let skipped = 0;
  const cases = r.checks.map((k) => {
    const status = judged(k.status, strict);
    if (status === 'fail') failures++;
    if (status === 'inconclusive') skipped++;
    const why = k.status === 'warn' ? `WARNING (--strict): ${k.message}` : k.message;
    const body =
      status === 'fail'
        ? `<failure message="${xml(why)}" type="${xml(k.name)}">${xml(why)}</failure>`
        : status === 'warn'
          ? `<system-out>WARNING: ${xml(k.message)}</system-out>`
          : status === 'inconclusive'
            ? `<skipped message="${xml(k.message)}"/>`
            : '';
    return `    <testcase classname="smtpkit.probe.${xml(r.target)}" name="${xml(k.name)}">${body}</testcase>`;
  });
  if (r.error)
    cases.push(
      `    <testcase classname="smtpkit.probe.${xml(r.target)}" name="${xml(r.error.phase ?? 'probe')}"><error message="${xml(r.error.message)}" type="${xml(r.error.errorClass)}">${xml(r.error.message)}</error></testcase>`,
    );
  return `  <testsuite name="smtpkit probe ${xml(r.target)}" tests="${cases.length}" failures="${failures}" errors="${r.error ? 1 : 0}" skipped="${skipped}" time="${(r.totalMs / 1000).toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>\n`;
}
