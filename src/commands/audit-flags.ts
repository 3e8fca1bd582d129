import { baselineFindings } from '../audit/baseline.js';
import { AUDIT_DEFAULTS, defaultEhloName, type AuditSettings } from '../audit/options.js';
import { dnsblZones } from '../dns/checks/dnsbl.js';
import { parseDomain } from '../dns/domain.js';
import { Resolver, type ResolverFlags } from '../dns/resolver.js';
import { parseSelector } from '../dkim/sign.js';
import { usageError } from '../errors.js';
import { readOption } from '../flows/options.js';
import { failureOutcome } from '../flows/run.js';
import { assertEhloName } from '../protocol/command.js';
import { parsePort } from '../protocol/target.js';
import { processOutput } from '../render/output.js';
import { writeBareFailure } from '../render/print-outcome.js';
import { parseDuration } from '../util/duration.js';
import { audit, type AuditFormat, type AuditSpec } from './audit.js';

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
  smugglingRcpt?: string;
  concurrency?: string;
  baseline?: string;
  format?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  color?: boolean;
}

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
    smugglingPauseMs: AUDIT_DEFAULTS.smugglingPauseMs,
  };
}

function formatOf(flags: AuditFlags): AuditFormat {
  const f = flags.json ? 'json' : (flags.format ?? 'text');
  if (!['text', 'json', 'html', 'csv'].includes(f)) throw usageError('--format takes text, json, html or csv');
  return f as AuditFormat;
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

/** The flags as one typed spec; every mistake is a usage error before anything is contacted. */
export function auditSpec(arg: string | undefined, flags: AuditFlags): AuditSpec {
  const format = formatOf(flags);
  const domains = domainList(arg, flags);
  let baseline: AuditSpec['baseline'];
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
  if (flags.smugglingRcpt !== undefined) {
    const at = flags.smugglingRcpt.lastIndexOf('@');
    if (/[\s<>\r\n]/.test(flags.smugglingRcpt) || at < 1)
      throw usageError('--smuggling-rcpt: give a bare address (local@domain: no <>, spaces or line breaks)');
    if (domains.length > 1 || flags.smugglingRcpt.slice(at + 1).toLowerCase() !== domains[0])
      throw usageError(`--smuggling-rcpt: give your own address at the audited domain (…@${domains[0] ?? 'DOMAIN'})`);
  }
  if (format === 'html' && domains.length > 1)
    throw usageError('--format html makes one report: use json or csv with --domains');
  const c = flags.concurrency ?? String(AUDIT_DEFAULTS.concurrency);
  if (!/^\d+$/.test(c) || +c < 1 || +c > 100) throw usageError('--concurrency takes a whole number from 1 to 100');
  return {
    domains,
    settings: {
      ...auditSettings(flags),
      ...(flags.smugglingRcpt !== undefined ? { smugglingRcpt: flags.smugglingRcpt } : {}),
    },
    format,
    baseline,
    concurrency: Number(c),
    quiet: !!flags.quiet,
    verbose: !!flags.verbose,
  };
}

/** The command table's entry point: flags → spec → the command. */
export async function auditCommand(arg: string | undefined, flags: AuditFlags): Promise<number> {
  const output = await processOutput(flags);
  let spec: AuditSpec;
  try {
    spec = auditSpec(arg, flags);
  } catch (err) {
    const o = failureOutcome(err);
    writeBareFailure(output, 'audit', o, { json: flags.json || flags.format === 'json', quiet: flags.quiet });
    return o.exitCode;
  }
  return audit(spec, output);
}
