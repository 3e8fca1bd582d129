import { usageError } from '../errors.js';
import { CACHE_MAX_HOURS, parseModules } from '../exporter/modules.js';
import type { ExporterSpec } from '../commands/exporter.js';
import { failureOutcome } from '../render/failure.js';
import { writer } from '../render/output.js';
import { printable } from '../render/printable.js';
import { durationMs } from '../util/duration.js';
import { parseListen } from '../util/listen-address.js';
import { readSmallFile } from '../util/read-file.js';
import { declaredDefault, type OptionSpec } from './declare.js';
import { planAuth } from './groups/login.js';

export interface ExporterFlags {
  listen?: string;
  config?: string;
  maxConcurrent?: string;
  timeout?: string;
  allowRemote?: boolean;
  auditCache?: string;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** `smtpkit exporter`: its flags and config file read into an ExporterSpec before it listens. */
export async function exporterCommand(
  flags: ExporterFlags,
  options: readonly OptionSpec[],
  probeOptions: readonly OptionSpec[],
  auditOptions: readonly OptionSpec[],
): Promise<number> {
  const m = await import('../commands/exporter.js');
  let spec: ExporterSpec;
  try {
    spec = exporterSpec(flags, options, probeOptions, auditOptions);
  } catch (err) {
    return m.exporterFailed(failureOutcome(err));
  }
  return m.exporter(spec);
}

function exporterSpec(
  flags: ExporterFlags,
  options: readonly OptionSpec[],
  probeOptions: readonly OptionSpec[],
  auditOptions: readonly OptionSpec[],
): ExporterSpec {
  const listen = flags.listen ?? declaredDefault(options, 'listen');
  const { host, port } = parseListen(listen, '--listen', 9125);
  if (!LOOPBACK.has(host) && !flags.allowRemote)
    throw usageError(
      `--listen ${host}: not a loopback address; add --allow-remote to serve probes to other machines (anyone who reaches it can make this host connect to any server)`,
    );
  const maxConcurrent = Number(flags.maxConcurrent ?? declaredDefault(options, 'max-concurrent'));
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1 || maxConcurrent > 1000)
    throw usageError('--max-concurrent takes a whole number from 1 to 1000');
  const modules = flags.config ? parseModules(readSmallFile(flags.config, '--config'), flags.config) : {};
  return {
    host,
    port,
    listen,
    modules,
    maxConcurrent,
    defaultTimeoutMs: durationMs(flags.timeout ?? declaredDefault(options, 'timeout'), '--timeout'),
    offsetMs: 500,
    // A module's unset certificate days are the probe command's.
    days: {
      warn: Number(declaredDefault(probeOptions, 'warn-days')),
      crit: Number(declaredDefault(probeOptions, 'crit-days')),
    },
    // An audit module's unset settings are smtpkit audit's (its declared defaults).
    audit: {
      timeoutMs: durationMs(declaredDefault(auditOptions, 'timeout'), '--timeout'),
      waitMs: durationMs(declaredDefault(auditOptions, 'wait-timeout'), '--wait-timeout'),
      port: Number(declaredDefault(auditOptions, 'port')),
      httpsPort: Number(declaredDefault(auditOptions, 'https-port')),
      scanConcurrency: Number(declaredDefault(auditOptions, 'scan-concurrency')),
      dnsTimeoutMs: durationMs(declaredDefault(auditOptions, 'dns-timeout'), '--dns-timeout'),
      cacheForMs: durationMs(
        flags.auditCache ?? declaredDefault(options, 'audit-cache'),
        '--audit-cache',
        CACHE_MAX_HOURS,
      ),
    },
    // Each scrape reads the module's secret afresh, by the same rules as the command line's.
    login: (auth) => planAuth({ ...auth }, (message) => writer(process.stderr).write(`!!! ${printable(message)}\n`)),
  };
}
