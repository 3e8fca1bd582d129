import { auditFailed, runAudit } from '../audit/audit.js';
import { baselineFindings, compareBaseline, type AuditChange } from '../audit/baseline.js';
import { AUDIT_DEFAULTS, defaultEhloName, type AuditSettings } from '../audit/options.js';
import type { AuditReport } from '../audit/result.js';
import { dnsblZones } from '../dns/checks/dnsbl.js';
import { parseDomain } from '../dns/domain.js';
import { Resolver, type ResolverFlags } from '../dns/resolver.js';
import { parseSelector } from '../dkim/sign.js';
import { ExitCode, usageError } from '../errors.js';
import { readOption } from '../flows/options.js';
import { failureOutcome } from '../flows/run.js';
import { assertEhloName } from '../protocol/command.js';
import { parsePort } from '../protocol/target.js';
import { AUDIT_CSV_HEADER, auditCsvRows } from '../render/audit-csv.js';
import { auditHtml } from '../render/audit-html.js';
import { auditJson, auditJsonLine } from '../render/audit-json.js';
import { auditText } from '../render/audit-text.js';
import type { Outcome } from '../render/outcome.js';
import { processOutput, type Output } from '../render/output.js';
import { classified, writeBareFailure, writeQuiet } from '../render/print-outcome.js';
import { parseDuration } from '../util/duration.js';

export interface AuditFlags extends ResolverFlags {
  port?: string;
  timeout?: string;
  waitTimeout?: string;
  ehlo?: string;
  caFile?: string;
  httpsPort?: string;
  dkimSelector?: string[];
  dnsbl?: true | string[];
  scanConcurrency?: string;
  domains?: string;
  concurrency?: string;
  baseline?: string;
  format?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  color?: boolean;
}

type Format = 'text' | 'json' | 'html' | 'csv';

/** The flags as typed settings, every mistake found before anything is contacted. */
export function auditSettings(flags: AuditFlags): AuditSettings {
  const ca = flags.caFile ? readOption(flags.caFile, '--ca-file') : undefined;
  const whole = (v: string | undefined, d: number, o: string, max: number) => {
    if (v === undefined) return d;
    if (!/^\d+$/.test(v) || +v < 1 || +v > max) throw usageError(`${o} takes a whole number from 1 to ${max}`);
    return Number(v);
  };
  return {
    resolver: Resolver.fromFlags(flags, ca),
    port: flags.port === undefined ? AUDIT_DEFAULTS.port : parsePort(flags.port),
    timeoutMs: flags.timeout === undefined ? AUDIT_DEFAULTS.timeoutMs : parseDuration(flags.timeout, '--timeout'),
    waitMs:
      flags.waitTimeout === undefined ? AUDIT_DEFAULTS.waitMs : parseDuration(flags.waitTimeout, '--wait-timeout'),
    ehloName: assertEhloName(flags.ehlo ?? defaultEhloName()),
    ...(ca ? { ca } : {}),
    httpsPort: flags.httpsPort === undefined ? AUDIT_DEFAULTS.httpsPort : parsePort(flags.httpsPort),
    dkimSelectors: (flags.dkimSelector ?? []).map(parseSelector),
    // Opt-in: the big public resolvers are refused by the public lists, which then say nothing true.
    dnsbl: flags.dnsbl === undefined ? [] : dnsblZones(flags.dnsbl),
    scanConcurrency: whole(flags.scanConcurrency, AUDIT_DEFAULTS.scanConcurrency, '--scan-concurrency', 64),
    maxMx: AUDIT_DEFAULTS.maxMx,
  };
}

function formatOf(flags: AuditFlags): Format {
  const f = flags.json ? 'json' : (flags.format ?? 'text');
  if (!['text', 'json', 'html', 'csv'].includes(f)) throw usageError('--format takes text, json, html or csv');
  return f as Format;
}

/** The domains of --domains FILE (or - for stdin): one a line, # comments. */
function domainList(arg: string | undefined, flags: AuditFlags): string[] {
  if (flags.domains === undefined) {
    if (!arg) throw usageError('give a domain, or --domains FILE');
    return [parseDomain(arg)];
  }
  if (arg) throw usageError('give a domain or --domains, not both');
  const text = readOption(flags.domains, '--domains', undefined, { dashIsStdin: true });
  const list = text
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map(parseDomain);
  if (!list.length) throw usageError('--domains: no domain in the list');
  return list;
}

/** Exit code of one report: 3 when the domain did not resolve, 1 on a failed or worse check, else 0. */
function exitOf(r: AuditReport, changes: AuditChange[] | null): number {
  if (r.dnsError) return ExitCode.dns;
  return auditFailed(r) || changes?.some((c) => c.worse) ? 1 : 0;
}

function outcomeOf(r: AuditReport, changes: AuditChange[] | null): Outcome {
  const exitCode = exitOf(r, changes);
  const fails = r.findings.filter((f) => f.status === 'fail').length;
  const worse = changes?.filter((c) => c.worse).length ?? 0;
  const message = r.dnsError
    ? `${r.domain}: ${r.dnsError}`
    : `${r.domain}: score ${r.score ?? 'none'}/100, ${fails} check${fails === 1 ? '' : 's'} failed${r.deadlineExceeded ? ', time limit reached' : ''}${changes ? `, ${worse} worse than the baseline` : ''}`;
  return classified({
    ok: exitCode === 0,
    exitCode,
    message,
    ...(r.dnsError ? { errorClass: 'dns' as const } : exitCode ? { errorClass: 'checkFailed' as const } : {}),
  });
}

/**
 * `smtpkit audit DOMAIN`: the whole mail setup of a domain judged (DNS, DNSSEC, SPF/DMARC/
 * DKIM/MTA-STS/TLS-RPT, TLS per MX, hardening), as text, JSON, HTML or CSV; many domains
 * with --domains, streamed as each finishes.
 */
export async function audit(arg: string | undefined, flags: AuditFlags): Promise<number> {
  const output = await processOutput(flags);
  let format: Format;
  let settings: AuditSettings;
  let domains: string[];
  let baseline: ReturnType<typeof baselineFindings>;
  try {
    format = formatOf(flags);
    settings = auditSettings(flags);
    domains = domainList(arg, flags);
    if (flags.baseline !== undefined) {
      if (domains.length > 1) throw usageError('--baseline compares one domain’s report: not with --domains');
      let doc: unknown;
      try {
        doc = JSON.parse(readOption(flags.baseline, '--baseline'));
      } catch (err) {
        if (err instanceof SyntaxError) throw usageError(`--baseline ${flags.baseline}: not JSON (${err.message})`);
        throw err;
      }
      baseline = baselineFindings(doc);
      if (!baseline) throw usageError(`--baseline ${flags.baseline}: not an audit report (smtpkit audit --json)`);
    }
    if (format === 'html' && domains.length > 1)
      throw usageError('--format html makes one report: use json or csv with --domains');
  } catch (err) {
    writeBareFailure(output, 'audit', failureOutcome(err), {
      json: flags.json || flags.format === 'json',
      quiet: flags.quiet,
    });
    return failureOutcome(err).exitCode;
  }
  if (domains.length === 1) {
    const report = await runAudit({ ...settings, domain: domains[0]! });
    const changes = baseline ? compareBaseline({ findings: baseline as never }, report) : null;
    const outcome = outcomeOf(report, changes);
    write(output, format, report, outcome, changes, flags, true);
    return outcome.exitCode;
  }
  return auditMany(domains, settings, format, output, flags);
}

function write(
  output: Output,
  format: Format,
  r: AuditReport,
  outcome: Outcome,
  changes: AuditChange[] | null,
  flags: AuditFlags,
  single: boolean,
) {
  if (format === 'json')
    output.stdout.write(single ? auditJson(r, outcome, changes) : auditJsonLine(r, outcome, changes));
  // CSV and HTML are products (CRLF rows, a file): written as they are, escaped by their renderers.
  else if (format === 'csv') output.data.write(Buffer.from(`${single ? AUDIT_CSV_HEADER : ''}${auditCsvRows(r)}`));
  else if (format === 'html') output.data.write(Buffer.from(auditHtml(r, changes)));
  else if (flags.quiet) writeQuiet(output, outcome);
  else {
    output.stdout.write(auditText(r, output.paint, { verbose: !!flags.verbose, ...(changes ? { changes } : {}) }));
    const c = output.paint;
    const line = `${outcome.ok ? '===' : '***'} ${outcome.message}`;
    if (outcome.ok) output.stdout.write(`${c.green.bold(line)}\n`);
    else output.stderr.write(`${c.red.bold(line)}\n`);
  }
}

/** --domains: at most --concurrency audits at once, each written as it finishes; the worst exit wins. */
async function auditMany(
  domains: string[],
  settings: AuditSettings,
  format: Format,
  output: Output,
  flags: AuditFlags,
): Promise<number> {
  let concurrency: number;
  try {
    const v = flags.concurrency ?? String(AUDIT_DEFAULTS.concurrency);
    if (!/^\d+$/.test(v) || +v < 1 || +v > 100) throw usageError('--concurrency takes a whole number from 1 to 100');
    concurrency = Number(v);
  } catch (err) {
    writeBareFailure(output, 'audit', failureOutcome(err), { json: format === 'json', quiet: flags.quiet });
    return ExitCode.usage;
  }
  if (format === 'csv') output.data.write(Buffer.from(AUDIT_CSV_HEADER));
  let next = 0;
  let worst = 0;
  const worker = async () => {
    while (next < domains.length) {
      const domain = domains[next++]!;
      const report = await runAudit({ ...settings, domain });
      const outcome = outcomeOf(report, null);
      worst = Math.max(worst, outcome.exitCode);
      write(output, format, report, outcome, null, flags, false);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, domains.length) }, worker));
  return worst;
}
