import { isIP } from 'node:net';
import { usageError } from '../errors.js';
import { parseTarget } from '../protocol/target.js';

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
  /**
   * The only targets a scrape may name with this module: "host:port", or "*.example.com:port"
   * for any name under example.com; the port defaults to the role's. Required with `auth`:
   * else a scrape of any server would be sent the module's password.
   */
  targets?: string[];
}

const KEYS = new Set([
  'role',
  'auth',
  'targets',
  'tlsVerify',
  'caFile',
  'expectBanner',
  'timeout',
  'warnDays',
  'critDays',
  'ehlo',
]);
const AUTH_KEYS = new Set(['user', 'passwordEnv', 'passwordFile', 'mech']);

export const DEFAULT_MODULE: Module = { role: 'smtp' };

/** Checks the config file's text (read from `file`): `{"modules": {"name": {...}}}`; any mistake is a usage error naming where. */
export function parseModules(text: string, file: string): Record<string, Module> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw usageError(`--config: ${file} is not JSON: ${(err as Error).message}`);
  }
  const modules = (doc as { modules?: unknown })?.modules;
  if (!modules || typeof modules !== 'object' || Array.isArray(modules))
    throw usageError(`--config: ${file} needs an object "modules": {"name": {"role": "submission", ...}}`);
  const out: Record<string, Module> = {};
  for (const [name, m] of Object.entries(modules as Record<string, unknown>)) {
    const where = `--config: module ${JSON.stringify(name)}`;
    if (!m || typeof m !== 'object') throw usageError(`${where} is not an object`);
    for (const k of Object.keys(m))
      if (!KEYS.has(k))
        throw usageError(`${where}: unknown setting ${JSON.stringify(k)} (known: ${[...KEYS].join(', ')})`);
    const mod = m as Module;
    if (!['smtp', 'submission', 'smtps'].includes(mod.role))
      throw usageError(`${where}: "role" is smtp, submission or smtps`);
    if (mod.auth !== undefined) {
      if (typeof mod.auth !== 'object' || typeof mod.auth.user !== 'string')
        throw usageError(`${where}: "auth" needs a "user"`);
      for (const k of Object.keys(mod.auth))
        if (!AUTH_KEYS.has(k))
          throw usageError(`${where}: unknown auth setting ${JSON.stringify(k)} (known: ${[...AUTH_KEYS].join(', ')})`);
      if (!mod.auth.passwordEnv && !mod.auth.passwordFile)
        throw usageError(
          `${where}: "auth" needs "passwordEnv" or "passwordFile" (passwords do not belong in the config file)`,
        );
      if (mod.targets === undefined)
        throw usageError(
          `${where} logs in ("auth") but lists no "targets": a scrape could name any server and be sent the password. Add the servers it may log in to, e.g. "targets": ["mail.example.com:587", "*.example.com:587"]`,
        );
    }
    if (mod.targets !== undefined) {
      if (!Array.isArray(mod.targets) || !mod.targets.length)
        throw usageError(`${where}: "targets" is a non-empty list of "host:port" or "*.domain:port"`);
      for (const t of mod.targets) {
        if (typeof t !== 'string')
          throw usageError(`${where}: "targets" holds strings, "host:port" or "*.domain:port"`);
        try {
          targetRule(t, ROLE_PORTS[mod.role]);
        } catch (err) {
          throw usageError(`${where}: "targets": ${(err as Error).message}`);
        }
      }
    }
    for (const k of ['tlsVerify'] as const)
      if (mod[k] !== undefined && typeof mod[k] !== 'boolean') throw usageError(`${where}: "${k}" is true or false`);
    for (const k of ['caFile', 'expectBanner', 'timeout', 'ehlo'] as const)
      if (mod[k] !== undefined && typeof mod[k] !== 'string') throw usageError(`${where}: "${k}" is a string`);
    for (const k of ['warnDays', 'critDays'] as const)
      if (mod[k] !== undefined && !Number.isInteger(mod[k]))
        throw usageError(`${where}: "${k}" is a whole number of days`);
    out[name] = mod;
  }
  return out;
}

export const ROLE_PORTS = { smtp: 25, submission: 587, smtps: 465 } as const;

interface TargetRule {
  /** Lower case, no final dot; for a wildcard, the domain under which any name matches. */
  host: string;
  port: number;
  wildcard: boolean;
}

const hostKey = (host: string) => host.toLowerCase().replace(/\.$/, '');

function targetRule(text: string, defaultPort: number): TargetRule {
  const wildcard = text.startsWith('*.');
  const target = parseTarget(wildcard ? text.slice(2) : text, defaultPort);
  if (target.scheme) throw new Error(`${JSON.stringify(text)}: write host:port, without a scheme`);
  if (wildcard && isIP(target.host))
    throw new Error(`${JSON.stringify(text)}: a wildcard goes before a domain name, not an address`);
  return { host: hostKey(target.host), port: target.port, wildcard };
}

/** Whether the module may be used with the server at host:port (any, when it lists no targets). */
export function allowsTarget(m: Module, host: string, port: number): boolean {
  if (m.targets === undefined) return true;
  const h = hostKey(host);
  return m.targets.some((t) => {
    const rule = targetRule(t, ROLE_PORTS[m.role]);
    return rule.port === port && (rule.wildcard ? h.endsWith(`.${rule.host}`) : h === rule.host);
  });
}
