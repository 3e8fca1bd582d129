import { usageError } from '../errors.js';
import type { ReplSpec } from '../repl/repl.js';
import type { SmtpEvent } from '../session/events.js';
import type { ConnectionFlags } from './groups/connection.js';
import { declaredDefault, type OptionSpec } from './declare.js';
import { loginOptions, loginSpec, planAuth, type LoginFlags } from './groups/login.js';
import { mxSpec, type MxFlags } from './groups/mx.js';
import { outputSpec, type OutputFlags } from './groups/output.js';
import { scanSpec, type ScanFlags } from './groups/scan.js';
import { runSession } from './run-session.js';

/*
 * The commands that talk to one server, from argv to their spec: each reads its option
 * groups here and hands a typed spec to its script in src/commands/ (loaded only when it
 * runs: auth's SASL code must not slow down ehlo's start).
 */

/** What every command here shares: the connection and output groups, and swaks' -s. */
type Flags = ConnectionFlags & OutputFlags & { server?: string };

/**
 * The server from the argument or -s/--server (one of them). `required`: commands with no
 * other way to name a server (--mx, the recipients' MX hosts) say so here.
 */
export function serverOf(args: unknown[], flags: { server?: string }, required: boolean): string | undefined {
  const argument = args[0] as string | undefined;
  const server = flags.server;
  if (argument !== undefined && server !== undefined)
    throw usageError('give the server once: as the argument or with --server/-s, not both');
  const spec = argument ?? server;
  if (required && spec === undefined) throw usageError('give a server: host[:port], or -s host[:port]');
  return spec;
}

export async function connect(args: unknown[], flags: Flags & { interactive?: boolean }): Promise<number> {
  if (flags.interactive) return repl(args, flags);
  const server = serverOf(args, flags, true)!;
  const { connect } = await import('../commands/connect.js');
  return runSession({ command: 'connect', server, flags, spec: () => undefined, script: connect });
}

export async function repl(
  args: unknown[],
  flags: Flags & { keepGoing?: boolean; allowPlaintext?: boolean; history?: boolean },
): Promise<number> {
  const server = serverOf(args, flags, true)!;
  const { repl } = await import('../repl/repl.js');
  // Everything the session said, for /save.
  const events: SmtpEvent[] = [];
  return runSession({
    command: 'repl',
    server,
    flags,
    spec: (): ReplSpec => ({
      keepGoing: !!flags.keepGoing,
      allowPlaintext: !!flags.allowPlaintext,
      history: flags.history !== false,
      output: outputSpec(flags),
      passwordEnv: declaredDefault(loginOptions(), 'password-env'),
      planLogin: (login, warn, around) => planAuth(login, warn, around),
    }),
    script: (session, spec) => repl(session, spec, events),
    observe: (e) => events.push(e),
  });
}

export async function ehlo(args: unknown[], flags: Flags & MxFlags): Promise<number> {
  const server = serverOf(args, flags, false);
  const { ehlo } = await import('../commands/ehlo.js');
  return runSession({
    command: 'ehlo',
    // With --mx the domain stands for the server until the MX hosts are known.
    server: server ?? flags.mx ?? '',
    flags,
    spec: async (_session, connection) => ({ mx: await mxSpec(server ?? '', flags, connection.options.tls.ca) }),
    script: ehlo,
  });
}

export async function starttls(args: unknown[], flags: Flags & MxFlags & ScanFlags & { scan?: boolean }) {
  const server = serverOf(args, flags, false);
  const { starttls } = await import('../commands/starttls.js');
  return runSession({
    command: 'starttls',
    server: server ?? flags.mx ?? '',
    flags,
    spec: async (_session, connection) => ({
      scan: flags.scan ? scanSpec(flags) : undefined,
      mx: await mxSpec(server ?? '', flags, connection.options.tls.ca),
      output: outputSpec(flags),
    }),
    script: starttls,
  });
}

export async function auth(args: unknown[], flags: Flags & LoginFlags & { list?: boolean }): Promise<number> {
  const server = serverOf(args, flags, true)!;
  const { auth } = await import('../commands/auth.js');
  return runSession({
    command: 'auth',
    server,
    flags,
    defaultPort: 587,
    spec: (session) => loginSpec(flags, !flags.list, (message) => session.emit({ type: 'warning', message })),
    script: auth,
  });
}

export async function send(args: unknown[], flags: Flags, options: readonly OptionSpec[]): Promise<number> {
  return (await import('./send.js')).sendCommand(serverOf(args, flags, false), flags, options);
}
