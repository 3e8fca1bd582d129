import { isIP } from 'node:net';
import { parseDomain } from '../dns/domain.js';
import { usageError } from '../errors.js';
import { durationMs } from '../util/duration.js';
import { parseTarget } from '../protocol/target.js';

/** A probe profile from the exporter's config file, named by `module=` in the scrape URL. */
export interface Module {
  /**
   * smtp (25), submission (587, STARTTLS) or smtps (465, implicit TLS): the default port and TLS
   * mode of a probe; audit: `smtpkit audit` of the target, a domain.
   */
  role: 'smtp' | 'submission' | 'smtps' | 'audit';
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
  /** audit: DNS servers to ask, "ip[:port]" (the system's when unset). */
  resolver?: string[];
  /** audit: the port every SMTP probe of the audit goes to (25; another for test beds). */
  port?: number;
  /** audit: the MTA-STS policy server's port (443). */
  httpsPort?: number;
  /** audit: DKIM selectors whose keys are judged. */
  dkimSelectors?: string[];
  /** audit: DNS blocklist zones each MX address is looked up in. */
  dnsbl?: string[];
  /** audit: how long one audit's result answers the scrapes of its domain, e.g. "6h". */
  cacheFor?: string;
}

/** An audit result may answer scrapes for up to a week (a daily audit needs 24 h). */
export const CACHE_MAX_HOURS = 168;

const COMMON = ['role', 'targets', 'caFile', 'timeout', 'ehlo'];
const PROBE_KEYS = new Set([...COMMON, 'auth', 'tlsVerify', 'expectBanner', 'warnDays', 'critDays']);
const AUDIT_KEYS = new Set([...COMMON, 'resolver', 'port', 'httpsPort', 'dkimSelectors', 'dnsbl', 'cacheFor']);
const ROLES = ['smtp', 'submission', 'smtps', 'audit'];
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
    const mod = m as Module;
    if (!ROLES.includes(mod.role)) throw usageError(`${where}: "role" is smtp, submission, smtps or audit`);
    const keys = mod.role === 'audit' ? AUDIT_KEYS : PROBE_KEYS;
    for (const k of Object.keys(m)) {
      // The smuggling test sends real mail: a scrape must never be able to start it.
      if (k === 'smugglingRcpt')
        throw usageError(
          `${where}: the exporter never runs the smuggling test (it sends mail); run smtpkit audit --smuggling-rcpt by hand`,
        );
      if (!keys.has(k))
        throw usageError(
          `${where}: unknown setting ${JSON.stringify(k)} for role ${mod.role} (known: ${[...keys].join(', ')})`,
        );
    }
    if (mod.role === 'audit') {
      out[name] = auditModule(mod, where);
      continue;
    }
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
          targetRule(t, ROLE_PORTS[mod.role as keyof typeof ROLE_PORTS]);
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

/** An audit module's own settings, checked (a mistake is a usage error at start, not a scrape's). */
function auditModule(mod: Module, where: string): Module {
  if (mod.targets !== undefined) {
    if (!Array.isArray(mod.targets) || !mod.targets.length || mod.targets.some((t) => typeof t !== 'string'))
      throw usageError(`${where}: "targets" is a non-empty list of domains, "example.com" or "*.example.com"`);
    for (const t of mod.targets) domainRule(t, where);
  }
  const strings = (k: 'resolver' | 'dkimSelectors' | 'dnsbl') => {
    const v = mod[k];
    if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== 'string')))
      throw usageError(`${where}: "${k}" is a list of strings`);
  };
  strings('resolver');
  strings('dkimSelectors');
  strings('dnsbl');
  for (const k of ['port', 'httpsPort'] as const)
    if (mod[k] !== undefined && !(Number.isInteger(mod[k]) && mod[k]! >= 1 && mod[k]! <= 65535))
      throw usageError(`${where}: "${k}" is a port number from 1 to 65535`);
  for (const k of ['caFile', 'timeout', 'ehlo', 'cacheFor'] as const)
    if (mod[k] !== undefined && typeof mod[k] !== 'string') throw usageError(`${where}: "${k}" is a string`);
  for (const k of ['timeout', 'cacheFor'] as const)
    if (mod[k] !== undefined) {
      try {
        durationMs(mod[k]!, k, k === 'cacheFor' ? CACHE_MAX_HOURS : 1);
      } catch (err) {
        throw usageError(`${where}: ${(err as Error).message}`);
      }
    }
  return mod;
}

/** An audit target rule: a domain, or "*.domain" for any name under it (no port: the audit's is the module's). */
function domainRule(text: string, where: string): { domain: string; wildcard: boolean } {
  const wildcard = text.startsWith('*.');
  try {
    const domain = parseDomain(wildcard ? text.slice(2) : text);
    if (isIP(domain) || domain.includes(':')) throw new Error('not a domain');
    return { domain, wildcard };
  } catch {
    throw usageError(`${where}: "targets": ${JSON.stringify(text)} is not a domain ("example.com" or "*.example.com")`);
  }
}

/** Whether an audit module may audit `domain` (any, when it lists no targets). */
export function allowsDomain(m: Module, domain: string): boolean {
  if (m.targets === undefined) return true;
  return m.targets.some((t) => {
    const rule = domainRule(t, '');
    return rule.wildcard ? domain.endsWith(`.${rule.domain}`) : domain === rule.domain;
  });
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
    const rule = targetRule(t, ROLE_PORTS[m.role as keyof typeof ROLE_PORTS]);
    return rule.port === port && (rule.wildcard ? h.endsWith(`.${rule.host}`) : h === rule.host);
  });
}
