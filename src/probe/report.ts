import type { Outcome } from '../render/outcome.js';
import type { Output } from '../render/output.js';
import { jsonDocument, jsonStream, jsonText } from '../render/json.js';
import { printable } from '../render/printable.js';
import { withAdvice } from '../render/advice.js';
import { commandLineError } from '../render/usage.js';
import { writeQuiet } from '../render/print-outcome.js';
import { Said } from '../render/text.js';
import type { Family } from './metrics.js';
import {
  JUNIT_FOOT,
  JUNIT_HEAD,
  junitSuite,
  NAGIOS,
  nagiosLine,
  textReport,
  verdictLine,
  verdictText,
} from './render.js';
import { nagiosStatus, strictExit, type ProbeResult } from './result.js';

export interface ReportOptions {
  format: string;
  strict: boolean;
  quiet: boolean;
  transcript: boolean;
  brief: boolean;
  /** The labels of every target, in order (the JSON document's `target`). */
  targets: string[];
  /** The total response-time limits in ms, for Nagios perfdata. */
  warnMs: number | undefined;
  critMs: number | undefined;
}

/**
 * Where results go as they finish: each format writes what it can at once and only a
 * tally, or lines of a few hundred bytes, until the end. Nothing holds a whole result.
 */
export interface ProbeReporter {
  result(r: ProbeResult): void;
  /** After the last result: the closing text; the exit code the run gives. */
  end(): number;
}

/** Worst first: CRITICAL, then UNKNOWN, WARNING, OK (the monitoring-plugins order). */
const NAGIOS_ORDER = [2, 3, 1, 0];
const worseNagios = (a: number, b: number) => (NAGIOS_ORDER.indexOf(b) < NAGIOS_ORDER.indexOf(a) ? b : a);

/** What the closing lines need: counts, and the first of the worst results in a few words. */
class Tally {
  targets = 0;
  ok = 0;
  warned = 0;
  exitCode = 0;
  nagios = 0;
  readonly nagiosCounts = [0, 0, 0, 0];
  worst: { exitCode: number; errorClass: string; text: string } | undefined;
  constructor(private readonly strict: boolean) {}

  add(r: ProbeResult): void {
    const exit = strictExit(r, this.strict);
    const status = nagiosStatus(r, this.strict);
    this.targets++;
    this.nagiosCounts[status]!++;
    this.nagios = worseNagios(this.nagios, status);
    if (exit === 0) {
      this.ok++;
      if (r.checks.some((k) => k.status === 'warn')) this.warned++;
    } else if (exit > this.exitCode) {
      this.exitCode = exit;
      const strictly = exit !== r.exitCode ? ' (--strict: warnings fail)' : '';
      this.worst = {
        exitCode: exit,
        errorClass: r.error?.errorClass ?? 'checkFailed',
        text: withAdvice(verdictText(r), r.error?.hint) + strictly,
      };
    }
  }

  get failed() {
    return this.targets - this.ok;
  }
}

/** The one line of -q (the shared printer's): `OK: …` on stdout or `FAILED (exit N, class): …` on stderr, however many targets. */
function quietLine(t: Tally, single: ProbeResult | undefined, out: Output): void {
  if (!t.worst) {
    const text = single
      ? verdictText(single)
      : `${t.targets} targets ok${t.warned ? ` (${t.warned} with warnings)` : ''}`;
    return writeQuiet(out, { ok: true, exitCode: 0, message: text });
  }
  const { exitCode, errorClass, text } = t.worst;
  writeQuiet(out, {
    ok: false,
    exitCode,
    errorClass: errorClass as Outcome['errorClass'],
    message: `${t.targets > 1 ? `${t.failed} of ${t.targets} targets failed; ` : ''}${text}`,
  });
}

const summaryOf = (t: Tally) => ({ targets: t.targets, ok: t.ok, failed: t.failed });
const outcomeOf = (t: Tally, strict: boolean): Outcome => ({
  ok: t.exitCode === 0,
  exitCode: t.exitCode,
  message: `${t.ok} of ${t.targets} target(s) ok${strict ? ' (--strict: warnings fail)' : ''}`,
});

export async function probeReporter(out: Output, o: ReportOptions): Promise<ProbeReporter> {
  const t = new Tally(o.strict);
  const c = out.paint;
  const asJson = (r: ProbeResult) => ({
    ...r,
    exitCode: strictExit(r, o.strict),
    events: o.transcript ? r.events : undefined,
  });
  switch (o.format) {
    case 'json': {
      const doc = jsonStream('probe', o.targets, { strict: o.strict }, 'results');
      out.stdout.write(doc.start());
      return {
        result: (r) => (t.add(r), out.stdout.write(doc.item(asJson(r)))),
        end: () => (out.stdout.write(doc.end({ summary: summaryOf(t), outcome: outcomeOf(t, o.strict) })), t.exitCode),
      };
    }
    case 'jsonl':
      // One result a line, then the document's envelope with the summary and the outcome.
      return {
        result: (r) => (t.add(r), out.stdout.write(`${jsonText(asJson(r))}\n`)),
        end: () => (
          out.stdout.write(
            jsonDocument('probe', o.targets, outcomeOf(t, o.strict), { strict: o.strict, summary: summaryOf(t) }, 0),
          ),
          t.exitCode
        ),
      };
    case 'junit':
      out.stdout.write(JUNIT_HEAD);
      return {
        result: (r) => (t.add(r), out.stdout.write(junitSuite(r, o.strict))),
        end: () => (out.stdout.write(JUNIT_FOOT), t.exitCode),
      };
    case 'nagios': {
      // Nagios reads the status from the first line, known only at the end: the lines wait (a few hundred bytes each).
      const lines: string[] = [];
      return {
        result: (r) => (t.add(r), lines.push(nagiosLine(r, o.warnMs, o.critMs, o.strict))),
        end: () => {
          const n = t.nagiosCounts;
          if (t.targets > 1)
            lines.unshift(
              `SMTP ${NAGIOS[t.nagios]} - ${t.targets} targets: ${n[0]} ok, ${n[1]} warning, ${n[2]} critical, ${n[3]} unknown`,
            );
          out.stdout.write(`${lines.join('\n')}\n`);
          return t.nagios;
        },
      };
    }
    case 'prometheus': {
      // For node_exporter's textfile collector: one file, each target told apart by its label; a family's samples go together.
      const { probeFamilies, renderFamilies } = await import('./metrics.js');
      let families: Family[] | undefined;
      return {
        result: (r) => {
          t.add(r);
          // Under --strict a warning fails: success and exit_code carry the exit code this run gives.
          const mine = probeFamilies([{ ...r, exitCode: strictExit(r, o.strict) }], () => ({ target: r.target }));
          if (!families) families = mine;
          else mine.forEach((f, i) => families![i]!.samples.push(...f.samples));
        },
        end: () => (out.stdout.write(renderFamilies(families ?? [])), t.exitCode),
      };
    }
    default: {
      let single: ProbeResult | undefined;
      // One run: what one target's transcript explained, the next one's refers to.
      const said = new Said();
      return {
        result: (r) => {
          t.add(r);
          // -q keeps the one result a lone target's line is made from; nothing else.
          if (o.quiet) single = t.targets === 1 ? r : undefined;
          else
            out.stdout.write(
              `${textReport(r, c, o.transcript, o.brief, said)}${(strictExit(r, o.strict) === 0 ? c.green.bold : c.red.bold)(`=== ${verdictLine(r, o.strict)}`)}\n`,
            );
        },
        end: () => {
          if (o.quiet) quietLine(t, single, out);
          else if (t.targets > 1)
            out.stdout.write(c.bold(`=== ${t.targets} targets: ${t.ok} ok, ${t.failed} failed\n`));
          return t.exitCode;
        },
      };
    }
  }
}

/**
 * A failure before any probe (a usage error, a failed MX look-up), in the format asked for:
 * a JSON document, a JSON line, `SMTP UNKNOWN` (exit 3) for Nagios, else one line on stderr.
 */
export function probeFailure(out: Output, format: string, o: Outcome, quiet: boolean): number {
  const fields = { strict: false, summary: { targets: 0, ok: 0, failed: 0 } };
  if (format === 'json') out.stdout.write(jsonDocument('probe', null, o, { ...fields, results: [] }));
  else if (format === 'jsonl') out.stdout.write(jsonDocument('probe', null, o, fields, 0));
  else if (format === 'nagios')
    out.stdout.write(`SMTP UNKNOWN - ${printable(withAdvice(o.message, o.hint)).replace(/\|/g, '/')}\n`);
  else if (quiet) writeQuiet(out, o);
  else out.stderr.write(commandLineError(withAdvice(o.message, o.hint)));
  return format === 'nagios' ? 3 : o.exitCode;
}
