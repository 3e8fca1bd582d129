import { commandNamed, COMMANDS } from './commands.js';
import { parseFlags, type CommandSpec } from './declare.js';

/**
 * swaks options smtpkit has under another name or not at all: said in the error instead
 * of a bare "unknown option" (names from swaks' documentation, see shared notes/peers.md).
 */
const SWAKS_NAMES: Record<string, string> = {
  '--tls-optional': 'smtpkit calls this --starttls auto (the default)',
  '--tls-optional-strict': 'smtpkit calls this --starttls auto (the default)',
  '-tls': 'smtpkit calls this --tls (or --starttls always)',
  '--tls-protocol': 'smtpkit calls this --tls-min / --tls-max',
  '--tls-ca-path': 'smtpkit calls this --ca-file',
  '--tls-verify-host': 'smtpkit calls this --tls-verify',
  '--tls-cipher': 'smtpkit offers Node’s default ciphers; --tls-min / --tls-max choose the versions',
  '--auth-hide-password': 'smtpkit hides secrets by default (--show-secrets shows them)',
  '-ahp': 'smtpkit hides secrets by default (--show-secrets shows them)',
  '-a': 'smtpkit calls this --auth (and --mech MECHANISM)',
  '--auth-plaintext': 'smtpkit calls this --allow-plaintext',
  '--pipeline': 'smtpkit pipelines whenever the server offers PIPELINING (--no-pipelining turns it off)',
  '--protocol': 'smtpkit speaks ESMTP and falls back to HELO itself; use --tls-on-connect or smtps:// for SMTPS',
  '--helo': 'smtpkit calls this --ehlo',
  '--data-file': 'smtpkit calls this --data',
  '--attach-type': 'smtpkit takes the type from the file name',
  '--add-header': 'smtpkit calls this --header',
  '-ah': 'smtpkit calls this --header',
  '-n': 'smtpkit calls this --quiet',
  '--suppress-data': 'smtpkit calls this --quiet',
  '--hide-all': 'smtpkit calls this --quiet',
  '--silent': 'smtpkit calls this --quiet',
  '--dump': 'smtpkit calls this --dry-run (send) or --json',
  '--show-time-lapse': 'smtpkit prints the timings of every phase at the end of each session',
  '-stl': 'smtpkit prints the timings of every phase at the end of each session',
  '--local-port': 'smtpkit chooses the local port itself; --local-address sets the address',
  '-lp': 'smtpkit chooses the local port itself; --local-address sets the address',
  '--proxy-version': 'smtpkit does not send a PROXY header',
  '--copy-routing': 'smtpkit calls this: smtpkit send --to ADDRESS with no server (it uses the MX hosts)',
};

/** Raised for a mistake found before commander sees the arguments. */
export class ArgvError extends Error {}

interface Known {
  /** '--port', '-p' → the canonical token and whether it takes a value. */
  tokens: Map<string, { canonical: string; takesValue: boolean }>;
}

function known(cmd: CommandSpec): Known {
  const tokens: Known['tokens'] = new Map();
  for (const o of cmd.options) {
    const f = parseFlags(o.flags);
    const entry = { canonical: `--${f.long}`, takesValue: !!f.value };
    tokens.set(`--${f.long}`, entry);
    if (f.short) tokens.set(`-${f.short}`, entry);
    for (const a of o.aliases ?? []) tokens.set(a, entry);
  }
  return { tokens };
}

/**
 * Turns what people type into what commander parses: options written before the command
 * move after it (`smtpkit -q probe ...`), aliases become the declared name (`-au` →
 * `--user`), and swaks names smtpkit does not have get a pointer to smtpkit's own.
 */
export function normaliseArgv(argv: string[]): string[] {
  const at = argv.findIndex((a, i) => commandNamed(a) !== undefined && !takesValueBefore(argv, i));
  if (at < 0) return argv;
  const cmd = commandNamed(argv[at]!)!;
  const k = known(cmd);
  const before = argv.slice(0, at);
  // The program's own -h/-V stay where they are: `smtpkit -h send` is help.
  if (before.some((a) => a === '-h' || a === '--help' || a === '-V' || a === '--version')) return argv;
  const rest = [...before, ...argv.slice(at + 1)];
  const out: string[] = [cmd.name];
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    if (token === '--') {
      out.push(...rest.slice(i));
      break;
    }
    if (!token.startsWith('-') || token === '-') {
      out.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    const name = eq > 0 && token.startsWith('--') ? token.slice(0, eq) : token;
    const entry = k.tokens.get(name);
    if (entry) {
      out.push(eq > 0 && token.startsWith('--') ? `${entry.canonical}${token.slice(eq)}` : entry.canonical);
      if (entry.takesValue && !(eq > 0) && i + 1 < rest.length) out.push(rest[++i]!);
      continue;
    }
    const hint = SWAKS_NAMES[name];
    if (hint && !isCommanderShortCluster(name, k))
      throw new ArgvError(`${cmd.name}: unknown option ${name} (a swaks option?): ${hint}`);
    out.push(token);
  }
  return out;
}

/** Whether argv[i] is the value of an option before it (`--ehlo send`), not a command. */
function takesValueBefore(argv: string[], i: number): boolean {
  const prev = argv[i - 1];
  if (!prev?.startsWith('-') || prev.includes('=')) return false;
  // An option before the command takes a value if some command declares it so.
  return COMMANDS.some((c) => known(c).tokens.get(prev)?.takesValue);
}

/** `-46` style clusters of declared short switches are commander's, not swaks'. */
function isCommanderShortCluster(token: string, k: Known): boolean {
  return /^-[A-Za-z0-9]{2,}$/.test(token) && [...token.slice(1)].every((ch) => k.tokens.has(`-${ch}`));
}

/**
 * Commands whose usage errors are all one JSON document under --json, commander's included.
 * probe (--format) and the sink (a JSON line per message) say theirs themselves.
 */
const JSON_USAGE_ERRORS = new Set([
  'connect',
  'repl',
  'ehlo',
  'auth',
  'starttls',
  'send',
  'mx-lookup',
  'audit',
  'dkim-verify',
  'spf',
  'check-message',
  'explain',
]);

/**
 * What a run's output form will be, read from argv before commander has parsed it (so a
 * usage error can be said in that form): the command, --json, -q, --no-color.
 */
export function outputForm(argv: readonly string[]): {
  command: string | undefined;
  json: boolean;
  quiet: boolean;
  color: false | undefined;
} {
  const end = argv.indexOf('--');
  const words = end < 0 ? argv : argv.slice(0, end);
  const cmd = words.map(commandNamed).find((c) => c !== undefined);
  const declares = (long: string) => !!cmd?.options.some((o) => parseFlags(o.flags).long === long);
  const json = JSON_USAGE_ERRORS.has(cmd?.name ?? '') && words.includes('--json');
  const quiet =
    declares('quiet') &&
    words.some(
      (w) =>
        w === '-q' ||
        w === '--quiet' ||
        w === '--silent' ||
        (/^-[A-Za-z0-9]*q[A-Za-z0-9]*$/.test(w) && isShortCluster(w, cmd!)),
    );
  return { command: cmd?.name, json, quiet, color: words.includes('--no-color') ? false : undefined };
}

const isShortCluster = (w: string, cmd: CommandSpec) => isCommanderShortCluster(w, known(cmd));
