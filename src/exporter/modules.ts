import { usageError } from '../errors.js';
import { readOption } from '../flows/options.js';

/** A probe profile from the exporter's config file, named by `module=` in the scrape URL. */
export interface Module {
  /** smtp (25), submission (587, STARTTLS) or smtps (465, implicit TLS): the default port and TLS mode. */
  role: 'smtp' | 'submission' | 'smtps';
  /** Log in: the password comes from an environment variable or a file, never from the config. */
  auth?: { user: string; passwordEnv?: string; passwordFile?: string; mech?: string };
  tlsVerify?: boolean;
  caFile?: string;
  expectBanner?: string;
  /** Upper bound for each probe, e.g. "10s"; the scrape timeout lowers it further. */
  timeout?: string;
  warnDays?: number;
  critDays?: number;
  ehlo?: string;
}

const KEYS = new Set(['role', 'auth', 'tlsVerify', 'caFile', 'expectBanner', 'timeout', 'warnDays', 'critDays', 'ehlo']);
const AUTH_KEYS = new Set(['user', 'passwordEnv', 'passwordFile', 'mech']);

export const DEFAULT_MODULE: Module = { role: 'smtp' };

/** Reads and checks the config file: `{"modules": {"name": {...}}}`; any mistake is a usage error naming where. */
export function loadModules(file: string): Record<string, Module> {
  let doc: unknown;
  try {
    doc = JSON.parse(readOption(file, '--config'));
  } catch (err) {
    if ((err as { errorClass?: string }).errorClass) throw err;
    throw usageError(`--config: ${file} is not JSON: ${(err as Error).message}`);
  }
  const modules = (doc as { modules?: unknown })?.modules;
  if (!modules || typeof modules !== 'object' || Array.isArray(modules)) throw usageError(`--config: ${file} needs an object "modules": {"name": {"role": "submission", ...}}`);
  const out: Record<string, Module> = {};
  for (const [name, m] of Object.entries(modules as Record<string, unknown>)) {
    const where = `--config: module ${JSON.stringify(name)}`;
    if (!m || typeof m !== 'object') throw usageError(`${where} is not an object`);
    for (const k of Object.keys(m)) if (!KEYS.has(k)) throw usageError(`${where}: unknown setting ${JSON.stringify(k)} (known: ${[...KEYS].join(', ')})`);
    const mod = m as Module;
    if (!['smtp', 'submission', 'smtps'].includes(mod.role)) throw usageError(`${where}: "role" is smtp, submission or smtps`);
    if (mod.auth !== undefined) {
      if (typeof mod.auth !== 'object' || typeof mod.auth.user !== 'string') throw usageError(`${where}: "auth" needs a "user"`);
      for (const k of Object.keys(mod.auth)) if (!AUTH_KEYS.has(k)) throw usageError(`${where}: unknown auth setting ${JSON.stringify(k)} (known: ${[...AUTH_KEYS].join(', ')})`);
      if (!mod.auth.passwordEnv && !mod.auth.passwordFile) throw usageError(`${where}: "auth" needs "passwordEnv" or "passwordFile" (passwords do not belong in the config file)`);
    }
    for (const k of ['tlsVerify'] as const) if (mod[k] !== undefined && typeof mod[k] !== 'boolean') throw usageError(`${where}: "${k}" is true or false`);
    for (const k of ['caFile', 'expectBanner', 'timeout', 'ehlo'] as const) if (mod[k] !== undefined && typeof mod[k] !== 'string') throw usageError(`${where}: "${k}" is a string`);
    for (const k of ['warnDays', 'critDays'] as const) if (mod[k] !== undefined && !Number.isInteger(mod[k])) throw usageError(`${where}: "${k}" is a whole number of days`);
    out[name] = mod;
  }
  return out;
}

export const ROLE_PORTS = { smtp: 25, submission: 587, smtps: 465 } as const;
