import { withAdvice } from '../render/advice.js';
import type { Paint } from '../render/paint.js';
import { printable } from '../render/printable.js';
import { TextRenderer } from '../render/text.js';
import { counts, MARKS, nagiosStatus, type ProbeResult } from './result.js';

/** The table of checks for people: markers stay without colour, so CI logs read the same. */
export function textReport(r: ProbeResult, c: Paint, transcript: boolean): string {
  let out = '';
  if (transcript) {
    const renderer = new TextRenderer({ write: (t: string) => (out += t) }, { write: (t: string) => (out += t) }, { paint: c });
    for (const e of r.events) renderer.event(e);
  }
  const paint = { pass: c.green, warn: c.yellow, fail: c.red };
  out += `${c.bold(`probe ${printable(r.target)}`)}\n`;
  const width = Math.max(...r.checks.map((k) => k.name.length), 8);
  for (const k of r.checks) out += `  ${paint[k.status](`${MARKS[k.status]} ${k.name.padEnd(width)}`)}  ${printable(k.message)}\n`;
  if (r.error) out += `  ${c.red(`${MARKS.fail} ${(r.error.phase ?? 'probe').padEnd(width)}`)}  ${printable(withAdvice(r.error.message, r.error.hint))}\n`;
  const timings = Object.entries(r.timings).map(([k, v]) => `${k} ${v}`).join(', ');
  out += c.dim(`  timings (ms): ${timings}${timings ? ', ' : ''}total ${r.totalMs}\n`);
  return out;
}

export function verdictLine(r: ProbeResult): string {
  const n = counts(r);
  const word = r.error ? `FAILED (exit ${r.exitCode})` : n.fail ? 'FAILED' : n.warn ? 'OK with warnings' : 'OK';
  return `${word}: ${r.target}: ${n.pass} passed, ${n.warn} warning${n.warn === 1 ? '' : 's'}, ${n.fail} failed${r.error ? `; stopped: ${r.error.message}` : ''}`;
}

const NAGIOS = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'];
const seconds = (ms: number | undefined) => `${((ms ?? 0) / 1000).toFixed(3)}s`;

/** The monitoring-plugins convention: `SMTP STATUS - text|perfdata` (one line per target). */
export function nagiosLine(r: ProbeResult, warnMs: number | undefined, critMs: number | undefined): string {
  const status = nagiosStatus(r);
  const bad = r.error ? r.error.message : r.checks.filter((k) => k.status !== 'pass').map((k) => `${k.name}: ${k.message}`).join('; ');
  const text = bad || `${r.checks.find((k) => k.name === 'greeting')?.message ?? ''}`;
  const perf = [`time=${seconds(r.totalMs)};${warnMs !== undefined ? (warnMs / 1000).toFixed(3) : ''};${critMs !== undefined ? (critMs / 1000).toFixed(3) : ''};0`, ...Object.entries(r.timings).map(([k, v]) => `${k}=${seconds(v)};;;0`)];
  return `SMTP ${NAGIOS[status]} - ${r.target}: ${printable(text).replace(/\|/g, '/')}, ${seconds(r.totalMs)} response time|${perf.join(' ')}`;
}

const xml = (s: string) => s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[ch]!).replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '');

/** JUnit XML: a test suite per target and a test case per check, so CI shows failures natively. */
export function junitReport(results: ProbeResult[]): string {
  const suites = results.map((r) => {
    const n = counts(r);
    const cases = r.checks.map((k) => {
      const body = k.status === 'fail' ? `<failure message="${xml(k.message)}" type="${k.name}">${xml(k.message)}</failure>` : k.status === 'warn' ? `<system-out>WARNING: ${xml(k.message)}</system-out>` : '';
      return `    <testcase classname="smtpkit.probe.${xml(r.target)}" name="${xml(k.name)}">${body}</testcase>`;
    });
    if (r.error) cases.push(`    <testcase classname="smtpkit.probe.${xml(r.target)}" name="${xml(r.error.phase ?? 'probe')}"><error message="${xml(r.error.message)}" type="${r.error.errorClass}">${xml(r.error.message)}</error></testcase>`);
    return `  <testsuite name="smtpkit probe ${xml(r.target)}" tests="${cases.length}" failures="${n.fail - (r.error ? 1 : 0)}" errors="${r.error ? 1 : 0}" skipped="0" time="${(r.totalMs / 1000).toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="smtpkit probe">\n${suites.join('\n')}\n</testsuites>\n`;
}
