/**
 * One declaration per option: name, short name, value, default, help, validation and the
 * spellings people bring from other tools. The CLI (commander), --help, the man page test
 * and the shell completions are all made from these declarations (src/cli/commands.ts).
 *
 * To add an option, add one object to its group (src/cli/groups/) or the command's list in commands.ts:
 *   { flags: '--dane', help: 'check the certificate against TLSA records' }
 *   { flags: '--format <format>', help: '...', default: 'text', choices: ['text', 'json'] }
 */

export interface OptionSpec {
  /** As commander writes it: '-p, --port <port>', '--tls-verify', '--no-sni', '--to <address>'. */
  flags: string;
  help: string;
  /** The value when the option is not given: commander sets it, and --help shows it. */
  default?: string;
  /**
   * For an option whose presence means something (--count starts load mode): the value used
   * when it is not given, shown by --help like a default, but not set in the flags.
   */
  fallback?: string;
  /** May be given more than once: the values are collected into an array. */
  repeat?: boolean;
  /**
   * The only values accepted, matched without regard to case and handed on in the
   * spelling listed here (`--format JSON` → 'json'). Also offered by the completions.
   */
  choices?: readonly string[];
  /** Other words for some choices, as other tools spell them (swaks' `--quit-after banner`). */
  choiceAliases?: Readonly<Record<string, string>>;
  /** Values the completions offer when any value is accepted (--tls-min 1.2). */
  values?: readonly string[];
  /** Accepted spellings that commander alone cannot take (swaks' '-au', '--auth-user'). */
  aliases?: readonly string[];
  /** Other options this one sets (`--tls` sets `--starttls always`). */
  implies?: Readonly<Record<string, string | boolean>>;
  /** What the completions offer for the value. */
  complete?: 'file' | 'directory';
}

export interface ArgumentSpec {
  /** '<host[:port]>', '[targets...]' */
  name: string;
  help: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  args: readonly ArgumentSpec[];
  options: readonly OptionSpec[];
  /**
   * Loads and runs the command (loaded only when it runs). `main` runs a whole command line,
   * for a command that runs others (demo): handed down by cli.ts, which nothing below imports.
   */
  run: (args: unknown[], flags: Record<string, unknown>, main: (argv: string[]) => Promise<number>) => Promise<number>;
  /**
   * For output read by machines (probe --json, --format nagios): given the command line, a
   * function that says a mistake in it in that format and gives the exit code; undefined
   * leaves it to the CLI's usual `smtpkit: ...` line.
   */
  usageError?: (argv: readonly string[]) => ((message: string) => Promise<number>) | undefined;
}

/** The value an option stands for when not given, from its declaration (a group reads it, never a literal). */
export function declaredDefault(options: readonly OptionSpec[], long: string): string {
  const o = options.find((x) => parseFlags(x.flags).long === long);
  const value = o?.default ?? o?.fallback;
  if (value === undefined) throw new Error(`bug: --${long} declares no default`);
  return value;
}

/** What a flags string declares: '-p, --port <port>' → short 'p', long 'port', value '<port>'. */
export interface ParsedFlags {
  long: string;
  short: string | undefined;
  /** '<port>' (required), '[mech]' (optional), or undefined for a switch. */
  value: string | undefined;
  /** --no-X */
  negated: boolean;
}

export function parseFlags(flags: string): ParsedFlags {
  const m = /^(?:-([A-Za-z0-9]),\s*)?--([a-z0-9][a-z0-9-]*)(?:\s+([<[].*[>\]]))?$/.exec(flags.trim());
  if (!m) throw new Error(`bug: option flags ${JSON.stringify(flags)} are not "-x, --name <value>"`);
  return { short: m[1], long: m[2]!, value: m[3], negated: m[2]!.startsWith('no-') };
}

/** `--format JSON` → 'json'; anything not listed is refused with the list. */
export function choose(
  option: string,
  choices: readonly string[],
  value: string,
  aliases: Readonly<Record<string, string>> = {},
): string {
  const v = value.trim().toLowerCase();
  const found = choices.find((c) => c.toLowerCase() === v) ?? aliases[v];
  if (found === undefined)
    throw new Error(
      `--${option} takes ${choices.slice(0, -1).join(', ')}${choices.length > 1 ? ' or ' : ''}${choices.at(-1)}, not ${JSON.stringify(value)}`,
    );
  return found;
}
