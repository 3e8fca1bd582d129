import type { Command } from 'commander';
import { ExitCode } from './errors.js';
import { version } from './version.js';
import type { Flags } from './flows/run.js';

const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  a check failed (probe; a failure reply in a repl script; mx-lookup)
  2  usage error (bad option or value)
  3  DNS error (no such domain or host, no mail host, DNS failure or timeout)
  4  connection failed, or no greeting in time
  5  protocol error (refused greeting or EHLO, garbled or unexpected reply,
     connection closed, command timeout)
  6  TLS error (STARTTLS refused, handshake failed, --tls-verify failed)
  7  authentication error
  8  message or recipient rejected
  70 internal error (a bug in smtpkit)
`;

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
  let exitCode: number = ExitCode.ok;
  const { Command, CommanderError, Option } = await import('commander');
  const { writer } = await import('./render/output.js');
  const stdout = writer(process.stdout);
  const stderr = writer(process.stderr);
  const program = new Command('smtpkit')
    // Both must come before .command(): subcommands copy them when created.
    .exitOverride()
    // Help and usage errors go through the escaping writer too (an unknown option is echoed back).
    .configureOutput({ writeErr: (s) => stderr.write(s), writeOut: (s) => stdout.write(s) })
    .description('Diagnose and test SMTP servers: every reply explained.')
    .version(version(), '-V, --version')
    .addHelpText('after', EXIT_CODES_HELP)
    .showHelpAfterError('(smtpkit --help lists commands and options)');

  const collect = (value: string, previous: string[] = []) => [...previous, value];
  const dnsOptions = (cmd: Command) =>
    cmd
      .option('--resolver <ip[:port]>', 'DNS server to ask, repeatable, tried in turn (default: the system’s)', collect)
      .option('--tcp', 'ask over TCP')
      .option('--doh <url>', 'ask over DNS-over-HTTPS (RFC 8484)')
      .option('--dns-timeout <duration>', 'time limit for each DNS question (default 5s)');
  const session = (name: string, summary: string, load: () => Promise<(spec: string, flags: Flags) => Promise<number>>, port = 25) => {
    const mxCapable = name === 'ehlo' || name === 'starttls';
    const cmd = program.command(name).description(summary).argument(mxCapable ? '[host[:port]]' : '<host[:port]>', `server: name, IPv4, or [IPv6], optional :port (default ${port})`);
    sessionOptions(cmd);
    if (mxCapable) {
      dnsOptions(cmd.option('--mx <domain>', 'instead of a server: the domain’s MX hosts, each tried in turn'));
      if (name === 'starttls') {
        cmd
          .option('--dane', 'check the certificate against the host’s TLSA records (DANE, RFC 7672)')
          .option('--scan', 'also test every TLS version and cipher suite, the key-exchange groups and the server’s order (one handshake each)')
          .option('--scan-concurrency <n>', 'handshakes at once during --scan (default 8)');
      }
    }
    if (name === 'auth') authOptions(cmd).option('--list', 'only list the mechanisms offered before and after TLS, and which are safe');
    if (name === 'repl' || name === 'connect') {
      if (name === 'connect') cmd.option('-i, --interactive', 'stay connected and type SMTP (the same as smtpkit repl)');
      cmd
        .option('--keep-going', 'script mode (stdin not a terminal): run on after failure replies and exit 0')
        .option('--allow-plaintext', '/auth: send credentials even without TLS')
        .option('--no-history', 'neither read nor write the history file');
    }
    outputOptions(cmd);
    cmd.action(async (spec: string, flags: Flags) => {
      exitCode = await (await load())(spec, flags);
    });
  };

  // Loaded lazily so `smtpkit --version` and `--help` pay for none of it.
  const { addAuthOptions: authOptions, addOutputOptions: outputOptions, addSessionOptions: sessionOptions } = await import('./flows/options.js');
  session('connect', 'connect, show the greeting explained, and QUIT (-i: stay, as repl)', async () => (await import('./commands/connect.js')).connect);
  session('repl', 'interactive SMTP with every reply explained; with stdin not a terminal, runs it as a lock-step script', async () => (await import('./repl/repl.js')).repl);
  session('ehlo', 'greeting and EHLO: the server’s capabilities, each explained', async () => (await import('./commands/ehlo.js')).ehlo);
  session('auth', 'log in (after STARTTLS when offered) and report the result; --list shows the mechanisms', async () => (await import('./commands/auth.js')).auth, 587);
  session('starttls', 'EHLO, STARTTLS, handshake, EHLO again: TLS version, cipher, certificate chain, trust', async () => (await import('./commands/starttls.js')).starttls);

  const sendCmd = program
    .command('send')
    .description('send one message, using what the server offers (PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN, CHUNKING)')
    .argument('[host[:port]]', 'server: name, IPv4, or [IPv6], optional :port (default 25); none: the recipients’ MX hosts');
  sessionOptions(sendCmd);
  authOptions(sendCmd);
  sendCmd
    .option('--auth', 'authenticate (implied by --user)')
    .option('-f, --from <address>', "envelope sender and From: ('<>' for the null sender)")
    .option('-t, --to <address>', 'recipient, repeatable, or a comma list', collect)
    .option('--cc <address>', 'Cc recipient, repeatable', collect)
    .option('--bcc <address>', 'hidden recipient (envelope only), repeatable', collect)
    .option('--subject <text>', 'Subject: (default: "smtpkit test" and the time)')
    .option('--header <"Name: value">', 'add or replace a header, repeatable', collect)
    .option('--body <text>', "message text ('-' reads standard input)")
    .option('--body-file <file>', 'message text from a file')
    .option('--html', 'the body is HTML')
    .option('--attach <file>', 'attach a file, repeatable', collect)
    .option('--data <file>', "send a complete RFC 5322 message as it is ('-' reads standard input)")
    .option('--no-pipelining', 'do not pipeline MAIL and RCPT even when offered')
    .option('--bdat', 'send with BDAT (CHUNKING) when offered')
    .option('--dsn-notify <when>', 'DSN: NEVER, or SUCCESS,FAILURE,DELAY')
    .option('--dsn-ret <what>', 'DSN: FULL or HDRS')
    .option('--envid <id>', 'DSN envelope id')
    .option('--requiretls', 'REQUIRETLS (RFC 8689): the message must travel over TLS all the way')
    .option('--quit-after <step>', 'stop after connect, ehlo, tls, auth, mail, rcpt or data (exit 0)')
    .option('--strict', 'exit 8 when any recipient is refused')
    .option('--dry-run', 'print the message that would be sent, contact nobody')
    .option('--dane', 'check the MX certificate against its TLSA records (DANE, RFC 7672)')
    .option('--count <n>', 'load mode: send N messages and report figures')
    .option('--concurrency <n>', 'load mode: connections at once (default 1)')
    .option('--per-connection <n>', 'load mode: messages per connection, RSET between (default 1)')
    .option('--rate <n/s>', 'load mode: at most this many messages per second');
  dnsOptions(sendCmd);
  outputOptions(sendCmd);
  sendCmd.action(async (spec: string | undefined, flags) => {
    exitCode = await (await import('./commands/send.js')).send(spec, flags);
  });

  const mx = program
    .command('mx-lookup')
    .description('the mail hosts of a domain with their addresses; --checks adds SPF, DMARC, MTA-STS, TLS-RPT and DANE')
    .argument('<domain>', 'the domain, e.g. example.com');
  dnsOptions(mx)
    .option('--ptr', 'reverse DNS of each address, and whether it is forward-confirmed')
    .option('--checks', 'judge the domain’s mail-security records too')
    .option('--ca-file <file>', 'extra trusted CA (PEM) for the MTA-STS policy and DoH servers')
    .option('--https-port <port>', 'port of the MTA-STS policy server (443; for test beds)')
    .option('--json', 'print one JSON document')
    .option('-q, --quiet', 'print only the outcome line')
    .option('--no-color', 'no colours (also: NO_COLOR=1)')
    .action(async (domain: string, flags) => {
      exitCode = await (await import('./commands/mx-lookup.js')).mxLookup(domain, flags);
    });

  const probeCmd = program
    .command('probe')
    .description('a health check for people and CI: each step a named check (pass, warn, fail), with JUnit and Nagios output')
    .argument('[targets...]', 'host[:port] of each server to probe');
  sessionOptions(probeCmd, '10s');
  authOptions(probeCmd);
  dnsOptions(probeCmd)
    .option('--targets <file>', 'more targets, one per line (# comments)')
    .option('--mx <domain>', 'probe every address of every MX host of a domain')
    .option('--concurrency <n>', 'probes at once (default 10)')
    .option('--format <format>', 'text, json, junit, nagios or prometheus', 'text')
    .option('--transcript', 'add the explained transcript of each probe')
    .option('--strict', 'warnings fail too')
    .option('--expect-banner <regex>', 'the greeting must match')
    .option('--warn-days <n>', 'certificate expiry warning (default 21 days)')
    .option('--crit-days <n>', 'certificate expiry failure (default 7 days)')
    .option('--warn-ms <ms>', 'warn above this total time, or phase=ms (banner=200); repeatable', collect)
    .option('--crit-ms <ms>', 'fail above this total time, or phase=ms; repeatable', collect)
    .option('--auth', 'authenticate too (implied by --user)')
    .option('--from <address>', 'test an envelope: MAIL FROM (with --rcpt; RSET after, nothing sent)')
    .option('--rcpt <address>', 'test an envelope: RCPT TO')
    .option('--relay-test', 'check that the server refuses to relay to an outside domain without AUTH, in 16 address forms (no message is sent)')
    .option('--enum-test', 'check whether VRFY, EXPN or RCPT tell a real user (--rcpt, or postmaster) from a random one (nothing is sent)')
    .option('--ptr', 'reverse DNS of the server address, compared with its greeting')
    .option('--tls-scan', 'test every TLS version and cipher suite: checks tls-protocols and tls-ciphers')
    .option('--scan-concurrency <n>', 'handshakes at once during --tls-scan (default 8)');
  outputOptions(probeCmd);
  probeCmd.action(async (specs: string[], flags) => {
    exitCode = await (await import('./commands/probe.js')).probeCommand(specs, flags);
  });

  program
    .command('sink')
    .description('a local SMTP server for testing senders: shows each session explained, can save messages and misbehave on purpose')
    .option('-p, --port <port>', 'port to listen on (default 2525; 0 picks a free one)')
    .option('--host <address>', 'address to listen on (default 127.0.0.1)')
    .option('--allow-remote', 'allow a non-loopback --host (the sink accepts mail from anyone who can reach it)')
    .option('--name <name>', 'server name in the greeting (default sink.localhost)')
    .option('--tls', 'offer STARTTLS (with the built-in localhost certificate unless --cert/--key)')
    .option('--cert <file>', 'TLS certificate (PEM)')
    .option('--key <file>', 'TLS key (PEM)')
    .option('--auth <user:pass>', 'require AUTH (PLAIN, LOGIN, CRAM-MD5) with these credentials')
    .option('--save <dir>', 'write each message to DIR as an .eml file')
    .option('--json', 'one JSON line per message on stdout (envelope, size, headers, saved file)')
    .option('-q, --quiet', 'one line per message, no transcripts')
    .option('--no-color', 'no colours (also: NO_COLOR=1)')
    .option('--reject-rcpt <regex>', 'refuse recipients that match (550 5.1.1)')
    .option('--tempfail-rate <rate>', 'answer MAIL, RCPT or the final dot with 451 this often (0.1 = one in ten)')
    .option('--delay-greeting <duration>', 'wait before the greeting')
    .option('--delay-data <duration>', 'wait before answering the final dot')
    .option('--drop-after <step>', 'hang up at connect, ehlo, mail, rcpt or data')
    .option('--max-size <bytes>', 'SIZE limit, enforced while the message streams in (default 25 MiB)')
    .option('--idle-timeout <duration>', 'hang up on a client silent this long, with 421 4.4.2 (default 5m)')
    .option('--max-sessions <n>', 'sessions at once; more get 421 4.7.0 (default 100)')
    .option('--count <n>', 'stop after N messages')
    .action(async (flags) => {
      exitCode = await (await import('./commands/sink.js')).sink(flags);
    });

  program
    .command('exporter')
    .description('serve probes to Prometheus, the way blackbox_exporter does: /probe?target=host:port[&module=name] and /metrics')
    .option('--listen <host:port>', 'address to serve on (default 127.0.0.1:9125; port 0 picks a free one)')
    .option('--config <file>', 'probe profiles (modules) as JSON: role, auth, tlsVerify, caFile, expectBanner, timeout')
    .option('--max-concurrent <n>', 'probes at once; further scrapes wait (default 10)')
    .option('--timeout <duration>', 'a probe’s limit when Prometheus sends no scrape timeout (default 10s)')
    .option('--allow-remote', 'allow a non-loopback --listen address')
    .action(async (flags) => {
      exitCode = await (await import('./commands/exporter.js')).exporter(flags);
    });

  program
    .command('demo')
    .description('start a test server in this process and run a probe and a send against it: see smtpkit work with no mail server of your own')
    .option('--no-color', 'no colours (also: NO_COLOR=1)')
    .action(async (flags) => {
      exitCode = await (await import('./commands/demo.js')).demo(flags);
    });

  program
    .command('explain')
    .description('explain a reply code, enhanced status code, or pasted reply line')
    .argument('<reply...>', 'e.g. 550 5.7.1, or 5.7.26, or "451 4.7.1 Greylisted"')
    .addOption(new Option('--command <verb>', 'the command the reply answered (MAIL, RCPT, DATA, ., AUTH ...)'))
    .option('--json', 'print JSON')
    .option('--no-color', 'no colours (also: NO_COLOR=1)')
    .action(async (words: string[], flags) => {
      exitCode = await (await import('./commands/explain.js')).explain(words, flags);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? ExitCode.ok : ExitCode.usage;
    }
    throw err;
  }
}
