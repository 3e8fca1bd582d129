import { InvalidArgumentError, Option, type Command } from 'commander';
import { choose, parseFlags, type CommandSpec } from './declare.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * Declares the commands to commander, each option as its declaration says (choices,
 * repeats, defaults, implied options). A run of one command declares only that command
 * (`first`): commander's parsing of the others' declarations is start-up time for nothing.
 * Anything else (help, a typo) declares all.
 */
export function declareCommands(
  program: Command,
  commands: readonly CommandSpec[],
  first: string | undefined,
  run: (spec: CommandSpec, args: unknown[], flags: Record<string, unknown>) => Promise<void>,
): void {
  const only = commands.some((c) => c.name === first) ? first : undefined;
  for (const spec of commands) {
    if (only !== undefined && spec.name !== only) continue;
    const cmd = program.command(spec.name).description(spec.summary);
    for (const a of spec.args) cmd.argument(a.name, a.help);
    for (const o of spec.options) {
      // A fallback is shown as commander shows a default, but not set: the option's absence means something.
      const option = new Option(
        o.flags,
        o.fallback === undefined ? o.help : `${o.help} (default: ${JSON.stringify(o.fallback)})`,
      );
      const { long } = parseFlags(o.flags);
      if (o.choices) {
        const { choices, choiceAliases } = o;
        option.argParser((v: string) => {
          try {
            return choose(long, choices, v, choiceAliases);
          } catch (err) {
            throw new InvalidArgumentError((err as Error).message);
          }
        });
      } else if (o.repeat) option.argParser(collect);
      if (o.default !== undefined) option.default(o.default);
      if (o.implies) option.implies(o.implies);
      cmd.addOption(option);
    }
    cmd.action(async (...args: unknown[]) => run(spec, args.slice(0, -2), args.at(-2) as Record<string, unknown>));
  }
}
