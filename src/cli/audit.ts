import { baselineFindings } from '../audit/baseline.js';
import { AUDIT_MAX_MX, AUDIT_SMUGGLING_PAUSE_MS, type AuditSettings } from '../audit/options.js';
import { defaultEhloName } from '../session/for-target.js';
import { usageError } from '../errors.js';
import { processOutput } from '../render/output.js';
import { writeBareFailure } from '../render/print-outcome.js';
import { failureOutcome } from '../render/failure.js';
import { readSmallFile } from '../util/read-file.js';
import { durationMs } from '../util/duration.js';
import { declaredDefault, type OptionSpec } from './declare.js';
import { outputSpec } from './groups/output.js';
import { resolverSpec, type ResolverFlags } from './groups/resolver.js';
import type { AuditSpec, AuditFormat } from '../commands/audit.js';

/** audit's flags as commander hands them over (defaults set from the declaration). */
export interface AuditFlags extends ResolverFlags {
  port: string;
  timeout: string;
  waitTimeout: string;
  ehlo?: string;
  caFile?: string;
  httpsPort: string;
  dkimSelector?: string[];
  dnsbl?: true | string[];
  scanConcurrency: string;
  domains?: string;
  smugglingRcpt?: string;
  rpkiValidator?: string;
  /** Declared with a fallback, not a default: given without --rpki-validator they would do nothing. */
  asnZone?: string;
  asnZone6?: string;
  concurrency: string;
  baseline?: string;
  format: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  color?: boolean;
}

const whole = (v: string, o: string, max: number) => {
  if (!/^\d+$/.test(v) || +v < 1 || +v > max) throw usageError(`${o} takes a whole number from 1 to ${max}`);
  return Number(v);
};

/** The domains: the argument, or --domains FILE (- for standard input), one a line, # comments. */
async function domainList(arg: string | undefined, flags: AuditFlags): Promise<string[]> {
  const { parseDomain } = await import('../dns/domain.js');
  if (flags.domains === undefined) {
    if (!arg) throw usageError('give a domain, or --domains FILE');
    return [parseDomain(arg)];
  }
  if (arg) throw usageError('give a domain or --domains, not both');
  // As explain does: a terminal on standard input is refused, not read in silence.
  if (flags.domains === '-' && process.stdin.isTTY)
    throw usageError(
      '--domains -: standard input is a terminal; pipe the list (smtpkit audit --domains - < domains.txt) or give a file',
    );
  const text = readSmallFile(flags.domains, '--domains', undefined, { dashIsStdin: true });
  const list = text
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map(parseDomain);
  if (!list.length) throw usageError('--domains: no domain in the list');
  return list;
}

/** RFC 5322 atext without % and ! (the %-hack and bang paths route on to another domain). */
const LOCAL_ATOM = "[A-Za-z0-9#$&'*+\\-/=?^_`{|}~]+";
const LOCAL_PART = new RegExp(`^${LOCAL_ATOM}(?:\\.${LOCAL_ATOM})*$`);

/**
 * The smuggling test sends real mail to this address through the audited MX: only a plain
 * dot-atom local part at the audited domain, so no form (%, !, a quoted part, a source
 * route, a control character) can carry it on to another domain.
 */
function smugglingRcpt(rcpt: string, domains: string[]): void {
  const at = rcpt.indexOf('@');
  if (at < 1 || !LOCAL_PART.test(rcpt.slice(0, at)))
    throw usageError(
      "--smuggling-rcpt: give a plain address local@domain (letters, digits, dots and #$&'*+-/=?^_`{|}~ before the @; no %, !, quotes, source routes, spaces or control characters)",
    );
  if (domains.length > 1 || rcpt.slice(at + 1).toLowerCase() !== domains[0])
    throw usageError(`--smuggling-rcpt: give your own address at the audited domain (…@${domains[0] ?? 'DOMAIN'})`);
}

/**
 * --rpki-validator: an http(s) URL with no user name, password, query or fragment. The value is
 * never echoed in the error: it may hold a secret the user did not mean to show.
 */
function rpkiValidator(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw usageError('--rpki-validator takes an http:// or https:// URL (e.g. http://127.0.0.1:8323)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw usageError('--rpki-validator takes an http:// or https:// URL (e.g. http://127.0.0.1:8323)');
  if (url.username || url.password)
    throw usageError('--rpki-validator: a URL with a user name or password is refused (reports would show it)');
  if (url.search || url.hash)
    throw usageError('--rpki-validator: give the API’s base URL, with no ?query or #fragment');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** The flags as one typed spec; every mistake is a usage error before anything is contacted. */
export async function auditSpec(
  arg: string | undefined,
  flags: AuditFlags,
  options: readonly OptionSpec[],
): Promise<AuditSpec> {
  // The zones only say where the rpki check finds origin ASes: without a validator that check does not run.
  if (flags.rpkiValidator === undefined && (flags.asnZone !== undefined || flags.asnZone6 !== undefined))
    throw usageError(
      '--asn-zone and --asn-zone6 say where the RPKI check finds origin ASes, so they work only with --rpki-validator URL: give it too, or leave them out',
    );
  const format = (flags.json ? 'json' : flags.format) as AuditFormat;
  const domains = await domainList(arg, flags);
  let baseline: AuditSpec['baseline'];
  if (flags.baseline !== undefined) {
    if (domains.length > 1) throw usageError('--baseline compares one domain’s report: not with --domains');
    let doc: unknown;
    try {
      doc = JSON.parse(readSmallFile(flags.baseline, '--baseline'));
    } catch (err) {
      if (err instanceof SyntaxError) throw usageError(`--baseline ${flags.baseline}: not JSON (${err.message})`);
      throw err;
    }
    baseline = baselineFindings(doc);
    if (!baseline) throw usageError(`--baseline ${flags.baseline}: not an audit report (smtpkit audit --json)`);
  }
  if (flags.smugglingRcpt !== undefined) smugglingRcpt(flags.smugglingRcpt, domains);
  if (format === 'html' && domains.length > 1)
    throw usageError('--format html makes one report: use json or csv with --domains');
  const ca = flags.caFile ? readSmallFile(flags.caFile, '--ca-file') : undefined;
  const [{ Resolver }, { dnsblZones }, { parseSelector }, { assertEhloName }, { parsePort }, { parseDomain }] =
    await Promise.all([
      import('../dns/resolver.js'),
      import('../dns/checks/dnsbl.js'),
      import('../dkim/sign.js'),
      import('../protocol/command.js'),
      import('../protocol/target.js'),
      import('../dns/domain.js'),
    ]);
  const asnZone = (name: string | undefined, option: string) => {
    try {
      return parseDomain(name ?? declaredDefault(options, option.slice(2)));
    } catch (err) {
      throw usageError(`${option}: ${(err as Error).message}`);
    }
  };
  const settings: AuditSettings = {
    resolver: new Resolver(await resolverSpec(flags, ca)),
    port: parsePort(flags.port),
    timeoutMs: durationMs(flags.timeout, '--timeout'),
    waitMs: durationMs(flags.waitTimeout, '--wait-timeout'),
    ehloName: assertEhloName(flags.ehlo ?? defaultEhloName()),
    ...(ca ? { ca } : {}),
    httpsPort: parsePort(flags.httpsPort),
    dkimSelectors: (flags.dkimSelector ?? []).map(parseSelector),
    // Opt-in: the big public resolvers are refused by the public lists, which then say nothing true.
    dnsbl: flags.dnsbl === undefined ? [] : dnsblZones(flags.dnsbl),
    scanConcurrency: whole(flags.scanConcurrency, '--scan-concurrency', 64),
    maxMx: AUDIT_MAX_MX,
    smugglingPauseMs: AUDIT_SMUGGLING_PAUSE_MS,
    ...(flags.smugglingRcpt !== undefined ? { smugglingRcpt: flags.smugglingRcpt } : {}),
    ...(flags.rpkiValidator !== undefined
      ? {
          rpki: {
            validator: rpkiValidator(flags.rpkiValidator),
            asnZones: { v4: asnZone(flags.asnZone, '--asn-zone'), v6: asnZone(flags.asnZone6, '--asn-zone6') },
          },
        }
      : {}),
  };
  const show = outputSpec(flags);
  return {
    domains,
    settings,
    format,
    baseline,
    concurrency: whole(flags.concurrency, '--concurrency', 100),
    quiet: show.quiet,
    verbose: show.verbose,
  };
}

/** The command table's entry point: flags → spec → the command. */
export async function audit(
  arg: string | undefined,
  flags: AuditFlags,
  options: readonly OptionSpec[],
): Promise<number> {
  const output = await processOutput(outputSpec(flags));
  let spec: AuditSpec;
  try {
    spec = await auditSpec(arg, flags, options);
  } catch (err) {
    const o = failureOutcome(err);
    writeBareFailure(output, 'audit', o, { json: !!flags.json || flags.format === 'json', quiet: !!flags.quiet });
    return o.exitCode;
  }
  return (await import('../commands/audit.js')).audit(spec, output);
}
