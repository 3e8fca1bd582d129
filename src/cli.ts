import { ExitCode, SmtpkitError } from './errors.js';
import { version } from './version.js';

const EXIT_CODES_HELP = `
Exit codes:
  0  success (spf: any SPF result computed, fail included; check-message:
     any verdict computed)
  1  a check failed (probe; a failure reply in a repl script; mx-lookup;
     dkim-verify: no signature passes; audit: a check failed or got worse)
  2  usage error (bad option or value)
  3  DNS error (no such domain or host, no mail host, DNS failure or timeout;
     check-message: a DNS failure left SPF, DKIM or DMARC unknown)
  4  connection failed, or no greeting in time
  5  protocol error (refused greeting or EHLO, garbled or unexpected reply,
     connection closed, command timeout)
  6  TLS error (STARTTLS refused, handshake failed, --tls-verify failed)
  7  authentication error
  8  message or recipient rejected
  70 internal error (a bug in smtpkit)
`;

/** Where a load-mode worker thread starts (load/threads.ts): the bundle's only other way in. */
export async function loadWorker(): Promise<void> {
  await (await import('./load/threads.js')).loadWorker();
}

/**
 * Parses argv and runs one command; returns the exit code instead of exiting, so tests
 * and other programs can call it. Each command's code is imported only when it runs.
 */
export async function main(argv: string[]): Promise<number> {
  // CI loops call this: answer without loading commander and the command table.
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`${version()}\n`);
    return ExitCode.ok;
  }
  // Bare `smtpkit`: the help, on stdout like --help (a pager or grep gets it), exit 0.
  if (argv.length === 0) argv = ['--help'];
  let exitCode: number = ExitCode.ok;
  const { COMMANDS } = await import('./cli/commands.js');
  const { ArgvError, normaliseArgv, outputForm } = await import('./cli/argv.js');
  const { writer } = await import('./render/output.js');
  const stdout = writer(process.stdout);
  const stderr = writer(process.stderr);
  // A usage error is said in the form asked for: a JSON document with --json, one line with -q.
  const form = outputForm(argv);
  const usageFailure = async (message: string, flags: { color?: boolean } = {}) => {
    const [{ processOutput }, { writeBareFailure }] = await Promise.all([
      import('./render/output.js'),
      import('./render/print-outcome.js'),
    ]);
    writeBareFailure(
      await processOutput({ color: form.color ?? flags.color }),
      form.command ?? 'smtpkit',
      { ok: false, exitCode: ExitCode.usage, errorClass: 'usage', message },
      form,
    );
    return ExitCode.usage;
  };
  // A command with output of its own for machines (probe --json, --format nagios) says mistakes in that format.
  const sayUsage = COMMANDS.find((c) => c.name === form.command)?.usageError?.(argv);
  try {
    argv = normaliseArgv(argv);
  } catch (err) {
    if (!(err instanceof ArgvError)) throw err;
    if (sayUsage) return sayUsage(err.message);
    // The option typed is echoed back: through the escaping writer.
    return usageFailure(err.message);
  }
  let usageMessage: string | undefined;
  const { Command, CommanderError } = await import('commander');
  const { declareCommands } = await import('./cli/program.js');
  const program = new Command('smtpkit')
    // Both must come before .command(): subcommands copy them when created.
    .exitOverride()
    // Help and usage errors go through the escaping writer too (an unknown option is echoed back).
    .configureOutput({
      // Kept for the command to say in its own format, when it has one (the help pointer with it).
      writeErr: (s) => (sayUsage ? undefined : stderr.write(s)),
      writeOut: (s) => stdout.write(s),
      // commander's "error: unknown option" in the one spelling of usage errors; with --json
      // or -q it is said below, as a document or the one line (or in the command's own format).
      outputError: (s, write) =>
        sayUsage
          ? (usageMessage ??= s.replace(/^error: /, '').trim())
          : !form.json && !form.quiet && write(s.replace(/^error: /, 'smtpkit: ')),
    })
    .description('Diagnose and test SMTP servers: every reply explained.')
    .version(version(), '-V, --version')
    .addHelpText('after', EXIT_CODES_HELP);
  if (!form.json && !form.quiet) program.showHelpAfterError('(smtpkit --help lists commands and options)');

  // Every command and option comes from its declaration in src/cli/commands.ts.
  declareCommands(program, COMMANDS, argv[0], async (spec, args, flags) => {
    try {
      exitCode = await spec.run(args, flags, main);
    } catch (err) {
      // Bad input found while choosing what to run (the server twice, or none).
      if (!(err instanceof SmtpkitError) || err.errorClass !== 'usage') throw err;
      exitCode = await usageFailure(err.message, flags as { color?: boolean });
    }
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
        return ExitCode.ok;
      if (sayUsage && usageMessage !== undefined) return sayUsage(usageMessage);
      return form.json || form.quiet ? usageFailure(err.message.replace(/^error: /, '')) : ExitCode.usage;
    }
    throw err;
  }
}
