import { usageError } from '../errors.js';
import { lookupMx } from '../dns/mx.js';
import { Resolver } from '../dns/resolver.js';
import { probe, type ProbeSettings, type ProbeTarget } from '../probe/probe.js';
import { junitReport, NAGIOS, nagiosLine, textReport, verdictLine } from '../probe/render.js';
import { nagiosStatus, strictExit, type ProbeResult } from '../probe/result.js';
import { jsonDocument } from '../render/json.js';
import { processOutput } from '../render/output.js';
import type { Paint } from '../render/paint.js';
import { printable } from '../render/printable.js';
import { Said } from '../render/text.js';
import { parseDomain } from '../dns/domain.js';
import { sessionOptions, readOption } from '../flows/options.js';
import { failureOutcome } from '../flows/run.js';
import { probeSettings, totalLimit, type ProbeFlags } from '../probe/settings.js';
export type { ProbeFlags } from '../probe/settings.js';
import { parsePort } from '../protocol/target.js';
import { checkSaveCert, saveCertificates } from '../flows/save-cert.js';
import { commandLineError } from '../render/usage.js';

/** `smtpkit probe a:25 b:587 ...`: one health check per target, run concurrently, reported in input order. */
export async function probeCommand(specs: string[], flags: ProbeFlags): Promise<number> {
  const format = flags.json ? 'json' : (flags.format ?? 'text');
  const output = await processOutput(flags);
  const strict = !!flags.strict;
  let results: ProbeResult[];
  let settings: ProbeSettings;
  try {
    settings = await probeSettings(flags, output);
    checkSaveCert(flags.saveCert);
    const targets = await probeTargets(specs, flags);
    const chains = new Map<ProbeTarget, Buffer[]>();
    if (flags.saveCert) settings.onCertificates = (t, chain) => chains.set(t, chain);
    results = await runAll(targets, settings, flags);
    if (flags.saveCert) saveCertificates(flags.saveCert, targets.map((t) => ({ label: t.label, chain: chains.get(t) ?? [] })));
  } catch (err) {
    const o = failureOutcome(err);
    if (format === 'nagios') output.stdout.write(`SMTP UNKNOWN - ${printable(o.message)}\n`);
    else output.stderr.write(commandLineError(o.message));
    return format === 'nagios' ? 3 : o.exitCode;
  }
  const exitOf = (r: ProbeResult) => strictExit(r, strict);
  const exitCode = Math.max(...results.map(exitOf));
  output.stdout.write(await probeReport(results, format, flags, output.paint));
  if (format === 'nagios') return worstNagios(results.map((r) => nagiosStatus(r, strict)));
  return exitCode;
}

/** Worst first: CRITICAL, then UNKNOWN, WARNING, OK (the monitoring-plugins order). */
const worstNagios = (statuses: number[]) => statuses.reduce((w, s) => ([2, 3, 1, 0].indexOf(s) < [2, 3, 1, 0].indexOf(w) ? s : w), 0);

/** The report in the chosen format; every format gives the same verdict as the exit code. */
export async function probeReport(results: ProbeResult[], format: string, flags: ProbeFlags, c: Paint): Promise<string> {
  const strict = !!flags.strict;
  const exitOf = (r: ProbeResult) => strictExit(r, strict);
  const exitCode = Math.max(...results.map(exitOf));
  if (format === 'json') {
    const summary = { targets: results.length, ok: results.filter((r) => exitOf(r) === 0).length, failed: results.filter((r) => exitOf(r) !== 0).length };
    const outcome = { ok: exitCode === 0, exitCode, message: `${summary.ok} of ${summary.targets} target(s) ok${strict ? ' (--strict: warnings fail)' : ''}` };
    return jsonDocument('probe', results.map((r) => r.target), outcome, { strict, summary, results: results.map((r) => ({ ...r, exitCode: exitOf(r), events: flags.transcript ? r.events : undefined })) });
  }
  if (format === 'prometheus') {
    // For node_exporter's textfile collector: one file, each target told apart by its label.
    const { probeFamilies, renderFamilies } = await import('../exporter/metrics.js');
    // Under --strict a warning fails: success and exit_code carry the exit code this run gives.
    return renderFamilies(probeFamilies(results.map((r) => ({ ...r, exitCode: exitOf(r) })), (r) => ({ target: r.target })));
  }
  if (format === 'junit') return junitReport(results, strict);
  if (format === 'nagios') {
    const warnMs = totalLimit(flags.warnMs);
    const critMs = totalLimit(flags.critMs);
    const statuses = results.map((r) => nagiosStatus(r, strict));
    const lines = results.map((r) => nagiosLine(r, warnMs, critMs, strict));
    const count = (n: number) => statuses.filter((s) => s === n).length;
    if (results.length > 1) lines.unshift(`SMTP ${NAGIOS[worstNagios(statuses)]} - ${results.length} targets: ${count(0)} ok, ${count(1)} warning, ${count(2)} critical, ${count(3)} unknown`);
    return `${lines.join('\n')}\n`;
  }
  let out = '';
  // One run: what one target's transcript explained, the next one's refers to.
  const said = new Said();
  for (const r of results) {
    if (!flags.quiet) out += textReport(r, c, !!flags.transcript, !!flags.brief, said);
    const paint = exitOf(r) === 0 ? c.green.bold : c.red.bold;
    out += `${paint(`${flags.quiet ? '' : '=== '}${verdictLine(r, strict)}`)}\n`;
  }
  if (results.length > 1) out += c.bold(`=== ${results.length} targets: ${results.filter((r) => exitOf(r) === 0).length} ok, ${results.filter((r) => exitOf(r) !== 0).length} failed\n`);
  return out;
}

/** Targets from the arguments, a file (one per line, # comments), or a domain's MX hosts. */
async function probeTargets(specs: string[], flags: ProbeFlags): Promise<ProbeTarget[]> {
  const list = [...specs];
  if (flags.targets) {
    for (const line of readOption(flags.targets, '--targets').split(/\r?\n/)) {
      const t = line.replace(/#.*/, '').trim();
      if (t) list.push(t);
    }
  }
  const targets: ProbeTarget[] = list.map((spec) => ({ label: spec, options: sessionOptions(spec, flags).options }));
  if (flags.mx) {
    const domain = parseDomain(flags.mx);
    const resolver = Resolver.fromFlags(flags, flags.caFile ? readOption(flags.caFile, '--ca-file') : undefined);
    const report = await lookupMx(resolver, domain);
    if (report.kind === 'null') throw usageError(`${domain} publishes a null MX: it has no mail hosts to probe`);
    // Whether a bad certificate fails depends on the domain's MTA-STS policy (RFC 8461).
    const { checkMtaSts, mxMatches } = await import('../dns/checks/mtasts.js');
    const hosts = report.hosts.map((h) => h.exchange);
    const http = { ca: flags.caFile ? readOption(flags.caFile, '--ca-file') : undefined, timeoutMs: resolver.transport.timeoutMs, port: flags.httpsPort ? parsePort(flags.httpsPort) : 443 };
    const sts = await checkMtaSts(resolver, domain, hosts, http);
    const enforce = sts.status === 'pass' ? /mx ([^,]+(?:, [^,]+)*)$/.exec(sts.details[0] ?? '')?.[1]?.split(', ') : undefined;
    for (const h of report.hosts) {
      for (const a of h.addresses) {
        const { options } = sessionOptions(h.exchange, flags);
        options.candidates = [{ host: h.exchange, address: a.address }];
        targets.push({ label: `${h.exchange} (${a.address})`, options, mx: true, mtaStsEnforce: !!enforce?.some((p) => mxMatches(p, h.exchange)) });
      }
    }
  }
  if (!targets.length) throw usageError('give at least one target (host[:port]), --targets FILE, or --mx DOMAIN');
  return targets;
}

/** A pool of `concurrency` probes; a spinner on a terminal only. */
async function runAll(targets: ProbeTarget[], settings: ProbeSettings, flags: ProbeFlags): Promise<ProbeResult[]> {
  const concurrency = flags.concurrency === undefined ? 10 : Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) throw usageError('--concurrency takes a whole number from 1 to 1000');
  const results: ProbeResult[] = new Array(targets.length);
  const spinner = await progress(targets.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < targets.length) {
      const i = next++;
      results[i] = await probe(targets[i]!, settings);
      spinner?.update(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, targets.length) }, worker));
  spinner?.stop();
  return results;
}

/** ora only where a person watches: a terminal with a size, not CI, not a dumb terminal. */
async function progress(total: number) {
  const tty = process.stderr.isTTY && (process.stderr.columns ?? 0) > 0 && !process.env.CI && process.env.TERM !== 'dumb';
  if (!tty) return undefined;
  const { default: ora } = await import('ora');
  const spinner = ora({ text: `probing 0/${total}`, stream: process.stderr, discardStdin: false }).start();
  return {
    update: (n: number) => (spinner.text = `probing ${n}/${total}`),
    stop: () => spinner.stop(),
  };
}
