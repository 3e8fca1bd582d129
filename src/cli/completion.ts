import { usageError } from '../errors.js';
import { failureOutcome } from '../render/failure.js';
import { parseFlags, type CommandSpec, type OptionSpec } from './declare.js';
import { commandLineError } from '../render/usage.js';

/*
 * Shell completion scripts made from the option declarations: commands, each command's
 * options, and the values of options that have a fixed set (--mech, --format ...).
 */

interface Flat {
  long: string;
  short: string | undefined;
  takesValue: boolean;
  values: readonly string[];
  files: 'file' | 'directory' | undefined;
  repeat: boolean;
  help: string;
}

const flat = (o: OptionSpec): Flat => {
  const f = parseFlags(o.flags);
  return {
    long: f.long,
    short: f.short,
    takesValue: !!f.value,
    values: o.choices ?? o.values ?? [],
    files: o.complete,
    repeat: !!o.repeat,
    help: o.help,
  };
};
const SHELLS = ['bash', 'zsh', 'fish'] as const;
const optionsOf = (c: CommandSpec) => c.options.map(flat);
const words = (list: Iterable<string>) => [...list].join(' ');

export function bashCompletion(commands: readonly CommandSpec[]): string {
  const out = [
    '# smtpkit completion for bash. Install: smtpkit completion bash > ~/.local/share/bash-completion/completions/smtpkit',
    '_smtpkit() {',
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" cmd="" i',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    case "${COMP_WORDS[i]}" in',
    `      ${commands.map((c) => c.name).join('|')}) cmd="\${COMP_WORDS[i]}"; break ;;`,
    '    esac',
    '  done',
    '  if [[ -z "$cmd" ]]; then',
    `    COMPREPLY=($(compgen -W "${words(commands.map((c) => c.name))} --help --version" -- "$cur"))`,
    '    return',
    '  fi',
    '  case "$cmd" in',
  ];
  for (const c of commands) {
    const opts = optionsOf(c);
    out.push(`    ${c.name})`);
    out.push('      case "$prev" in');
    for (const o of opts.filter((x) => x.takesValue)) {
      const names = [`--${o.long}`, ...(o.short ? [`-${o.short}`] : [])].join('|');
      const action = o.values.length
        ? `COMPREPLY=($(compgen -W "${words(o.values)}" -- "$cur"))`
        : o.files === 'directory'
          ? 'COMPREPLY=($(compgen -d -- "$cur"))'
          : o.files
            ? 'COMPREPLY=($(compgen -f -- "$cur"))'
            : 'COMPREPLY=()';
      out.push(`        ${names}) ${action}; return ;;`);
    }
    if (c.name === 'completion')
      out.push(`        completion) COMPREPLY=($(compgen -W "${words(SHELLS)}" -- "$cur")); return ;;`);
    out.push('      esac');
    if (c.name === 'completion') out.push(`      COMPREPLY=($(compgen -W "${words(SHELLS)}" -- "$cur"))`);
    else
      out.push(
        `      [[ "$cur" == -* ]] && COMPREPLY=($(compgen -W "${words(opts.flatMap((o) => [`--${o.long}`, ...(o.short ? [`-${o.short}`] : [])]))} --help" -- "$cur"))`,
      );
    out.push('      ;;');
  }
  out.push('  esac', '}', 'complete -o default -F _smtpkit smtpkit', '');
  return out.join('\n');
}

/** Text safe inside a zsh _arguments spec: no brackets, colons, quotes or backslashes. */
const zshText = (s: string) =>
  s
    .replace(/[[\]:'"\\`$]/g, '')
    .replace(/\s+/g, ' ')
    .slice(0, 120);

export function zshCompletion(commands: readonly CommandSpec[]): string {
  const out = [
    '#compdef smtpkit',
    '# smtpkit completion for zsh. Install: smtpkit completion zsh > "${fpath[1]}/_smtpkit" (or source <(smtpkit completion zsh) after compinit)',
    '_smtpkit() {',
    '  local -a commands',
    `  commands=(${commands.map((c) => `'${c.name}:${zshText(c.summary)}'`).join(' ')})`,
    '  if (( CURRENT == 2 )); then',
    "    _describe 'command' commands",
    '    return',
    '  fi',
    '  local cmd=${words[2]}',
    '  shift words',
    '  (( CURRENT-- ))',
    '  case $cmd in',
  ];
  for (const c of commands) {
    const specs = optionsOf(c).flatMap((o) => {
      const value = !o.takesValue
        ? ''
        : o.values.length
          ? `:value:(${o.values.map((v) => v.replace(/[()\s'"]/g, '')).join(' ')})`
          : o.files === 'directory'
            ? ':directory:_files -/'
            : o.files
              ? ':file:_files'
              : ':value: ';
      const star = o.repeat ? '*' : '';
      return [`--${o.long}`, ...(o.short ? [`-${o.short}`] : [])].map(
        (n) => `'${star}${n}[${zshText(o.help)}]${value}'`,
      );
    });
    const positional =
      c.name === 'completion' ? `'1:shell:(${SHELLS.join(' ')})'` : c.args.length ? "'*:argument:_default'" : '';
    out.push(`    ${c.name}) _arguments -s ${[...specs, positional].filter(Boolean).join(' \\\n      ')} ;;`);
  }
  out.push(
    '  esac',
    '}',
    'if [[ "${funcstack[1]}" == "_smtpkit" ]]; then',
    '  _smtpkit "$@"',
    'else',
    '  compdef _smtpkit smtpkit',
    'fi',
    '',
  );
  return out.join('\n');
}

const fishText = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export function fishCompletion(commands: readonly CommandSpec[]): string {
  const out = [
    '# smtpkit completion for fish. Install: smtpkit completion fish > ~/.config/fish/completions/smtpkit.fish',
    'complete -c smtpkit -f',
  ];
  for (const c of commands)
    out.push(`complete -c smtpkit -n __fish_use_subcommand -a ${c.name} -d ${fishText(c.summary)}`);
  for (const c of commands) {
    const when = `-n '__fish_seen_subcommand_from ${c.name}'`;
    if (c.name === 'completion') out.push(`complete -c smtpkit ${when} -a ${fishText(words(SHELLS))}`);
    for (const o of optionsOf(c)) {
      const value = !o.takesValue
        ? ''
        : o.values.length
          ? ` -x -a ${fishText(words(o.values))}`
          : o.files
            ? ' -r -F'
            : ' -x';
      out.push(
        `complete -c smtpkit ${when}${o.short ? ` -s ${o.short}` : ''} -l ${o.long}${value} -d ${fishText(o.help)}`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}

/** `smtpkit completion bash|zsh|fish`; the declarations come from commands.ts, which loads this file only when it runs. */
export async function completionCommand(shell: string, commands: readonly CommandSpec[]): Promise<number> {
  const { processOutput } = await import('../render/output.js');
  const output = await processOutput();
  try {
    const s = shell?.toLowerCase();
    const script =
      s === 'bash'
        ? bashCompletion(commands)
        : s === 'zsh'
          ? zshCompletion(commands)
          : s === 'fish'
            ? fishCompletion(commands)
            : undefined;
    if (script === undefined) throw usageError(`completion: give bash, zsh or fish, not ${JSON.stringify(shell)}`);
    // Our own script, byte for byte into the shell's eval or a file.
    output.data.write(Buffer.from(script));
    return 0;
  } catch (err) {
    const o = failureOutcome(err);
    output.stderr.write(commandLineError(o.message));
    return o.exitCode;
  }
}
