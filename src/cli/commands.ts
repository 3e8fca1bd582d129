import type { CommandSpec, OptionSpec } from './declare.js';
import { QUIT_AFTER } from '../commands/quit-after.js';
import { connectionOptions, SAVE_CERT } from './groups/connection.js';
import { dkimOptions } from './groups/dkim.js';
import { loginOptions } from './groups/login.js';
import { MX } from './groups/mx.js';
import { outputOptions, outputSpec, reportOptions } from './groups/output.js';
import { resolverOptions } from './groups/resolver.js';
import { scanOptions } from './groups/scan.js';

/*
 * Every command and every option of smtpkit, declared once: the options shared by several
 * commands in their groups (./groups/), each command's own here. cli.ts builds commander
 * from this; the man page test and `smtpkit completion` read it too. Code is loaded lazily
 * in `run`, so declaring costs nothing at startup; `run` reads the flags into the command's
 * typed spec (./session-commands.ts, ./send.ts) before the command sees them.
 */

const serverArg = (optional: boolean, port: number) => ({
  name: optional ? '[host[:port]]' : '<host[:port]>',
  help: `server: name, IPv4, [IPv6] or smtp://, smtps:// (465), submission:// (587) URL, optional :port (default ${port})`,
});
const replOptions: OptionSpec[] = [
  { flags: '--keep-going', help: 'script mode (stdin not a terminal): run on after failure replies and exit 0' },
  { flags: '--allow-plaintext', help: '/auth: send credentials even without TLS' },
  { flags: '--no-history', help: 'neither read nor write the history file' },
];

const PROBE_FORMATS = ['text', 'json', 'jsonl', 'junit', 'nagios', 'prometheus'] as const;

/** The machine format a probe command line asks for, if any. */
function machineFormat(argv: readonly string[]): 'json' | 'jsonl' | 'nagios' | undefined {
  // As the command decides: --json over any --format.
  if (argv.includes('--json')) return 'json';
  let format: string | undefined;
  argv.forEach((a, i) => {
    if (a === '--format') format = argv[i + 1]?.toLowerCase();
    else if (a.startsWith('--format=')) format = a.slice('--format='.length).toLowerCase();
  });
  return format === 'json' || format === 'jsonl' || format === 'nagios' ? format : undefined;
}

/** swaks' way of giving the server, on every command that talks to one. */
const SERVER: OptionSpec = {
  flags: '-s, --server <host[:port]>',
  help: 'the server, as swaks takes it (the same as the argument)',
};

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'connect',
    summary: 'connect, show the greeting explained, and QUIT (-i: stay, as repl)',
    args: [serverArg(true, 25)],
    options: [
      SERVER,
      ...connectionOptions(),
      SAVE_CERT,
      { flags: '-i, --interactive', help: 'stay connected and type SMTP (the same as smtpkit repl)' },
      ...replOptions,
      ...outputOptions(),
    ],
    run: async (args, flags) => (await import('./session-commands.js')).connect(args, flags),
  },
  {
    name: 'repl',
    summary: 'interactive SMTP with every reply explained; with stdin not a terminal, runs it as a lock-step script',
    args: [serverArg(true, 25)],
    options: [SERVER, ...connectionOptions(), ...replOptions, ...outputOptions()],
    run: async (args, flags) => (await import('./session-commands.js')).repl(args, flags),
  },
  {
    name: 'ehlo',
    summary: 'greeting and EHLO: the server’s capabilities, each explained',
    args: [serverArg(true, 25)],
    options: [SERVER, ...connectionOptions(), SAVE_CERT, MX, ...resolverOptions(), ...outputOptions()],
    run: async (args, flags) => (await import('./session-commands.js')).ehlo(args, flags),
  },
  {
    name: 'auth',
    summary: 'log in (after STARTTLS when offered) and report the result; --list shows the mechanisms',
    args: [serverArg(true, 587)],
    options: [
      SERVER,
      ...connectionOptions(),
      ...loginOptions(),
      { flags: '--list', help: 'only list the mechanisms offered before and after TLS, and which are safe' },
      ...outputOptions(),
    ],
    run: async (args, flags) => (await import('./session-commands.js')).auth(args, flags),
  },
  {
    name: 'starttls',
    summary: 'EHLO, STARTTLS, handshake, EHLO again: TLS version, cipher, certificate chain, trust',
    args: [serverArg(true, 25)],
    options: [
      SERVER,
      ...connectionOptions(),
      SAVE_CERT,
      MX,
      ...resolverOptions(),
      { flags: '--dane', help: 'check the certificate against the host’s TLSA records (DANE, RFC 7672)' },
      {
        flags: '--scan',
        help: 'also test every TLS version and cipher suite, the key-exchange groups and the server’s order (one handshake each)',
      },
      ...scanOptions('--scan'),
      ...outputOptions(),
    ],
    run: async (args, flags) => (await import('./session-commands.js')).starttls(args, flags),
  },
  {
    name: 'send',
    summary: 'send one message, using what the server offers (PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN, CHUNKING)',
    args: [
      {
        name: '[host[:port]]',
        help: 'server: name, IPv4, [IPv6] or smtp://, smtps://, submission:// URL, optional :port (default 25); none: the recipients’ MX hosts',
      },
    ],
    options: [
      SERVER,
      ...connectionOptions(),
      ...loginOptions(),
      { flags: '--auth', help: 'authenticate (implied by --user)' },
      { flags: '-f, --from <address>', help: "envelope sender and From: ('<>' for the null sender)" },
      { flags: '-t, --to <address>', help: 'recipient, repeatable, or a comma list', repeat: true },
      { flags: '--cc <address>', help: 'Cc recipient, repeatable', repeat: true },
      { flags: '--bcc <address>', help: 'hidden recipient (envelope only), repeatable', repeat: true },
      { flags: '--subject <text>', help: 'Subject: (default: "smtpkit test" and the time)' },
      {
        flags: '--header <"Name: value">',
        help: 'add or replace a header, repeatable',
        repeat: true,
        aliases: ['--add-header'],
      },
      { flags: '--body <text>', help: "message text ('-' reads standard input, at most 16 MiB)" },
      { flags: '--body-file <file>', help: 'message text from a file', complete: 'file' },
      { flags: '--html', help: 'the body is HTML' },
      { flags: '--attach <file>', help: 'attach a file, repeatable', repeat: true, complete: 'file' },
      {
        flags: '--data <file>',
        help: "send a complete RFC 5322 message as it is ('-' reads standard input)",
        complete: 'file',
        aliases: ['-d'],
      },
      { flags: '--no-pipelining', help: 'do not pipeline MAIL and RCPT even when offered' },
      { flags: '--bdat', help: 'send with BDAT (CHUNKING) when offered' },
      {
        flags: '--dsn-notify <when>',
        help: 'DSN: NEVER, or SUCCESS,FAILURE,DELAY',
        values: ['NEVER', 'SUCCESS', 'FAILURE', 'DELAY', 'SUCCESS,FAILURE', 'SUCCESS,FAILURE,DELAY'],
      },
      { flags: '--dsn-ret <what>', help: 'DSN: FULL or HDRS', choices: ['FULL', 'HDRS'] },
      { flags: '--envid <id>', help: 'DSN envelope id' },
      { flags: '--requiretls', help: 'REQUIRETLS (RFC 8689): the message must travel over TLS all the way' },
      {
        flags: '--quit-after <step>',
        help: 'stop after connect, ehlo, tls, auth, mail, rcpt or data (exit 0)',
        choices: QUIT_AFTER,
        choiceAliases: {
          banner: 'connect',
          helo: 'ehlo',
          'first-helo': 'ehlo',
          'first-ehlo': 'ehlo',
          from: 'mail',
          to: 'rcpt',
        },
      },
      { flags: '--strict', help: 'exit 8 when any recipient is refused' },
      { flags: '--dry-run', help: 'print the envelope and the message that would be sent, contact nobody' },
      { flags: '--dane', help: 'check the MX certificate against its TLSA records (DANE, RFC 7672)' },
      ...dkimOptions(),
      { flags: '--count <n>', help: 'load mode: send N messages and report figures', fallback: '1' },
      { flags: '--concurrency <n>', help: 'load mode: connections at once', fallback: '1' },
      { flags: '--per-connection <n>', help: 'load mode: messages per connection, RSET between', fallback: '1' },
      { flags: '--rate <n/s>', help: 'load mode: at most this many messages per second' },
      ...resolverOptions(),
      ...outputOptions(),
    ],
    run: async (args, flags) =>
      (await import('./session-commands.js')).send(args, flags, commandNamed('send')!.options),
  },
  {
    name: 'mx-lookup',
    summary:
      'the mail hosts of a domain with their addresses; --checks adds SPF, DMARC, MTA-STS, TLS-RPT, DANE and DKIM keys; --dnsbl blocklists',
    args: [{ name: '<domain>', help: 'the domain, e.g. example.com' }],
    options: [
      ...resolverOptions(),
      { flags: '--ptr', help: 'reverse DNS of each address, and whether it is forward-confirmed' },
      { flags: '--checks', help: 'judge the domain’s mail-security records too' },
      {
        flags: '--dkim-selector <name>',
        help: 'judge the DKIM key at NAME._domainkey.DOMAIN, repeatable (--checks without it tries common selectors)',
        repeat: true,
      },
      {
        flags: '--dnsbl [zone]',
        help: 'check each MX address on this DNS blocklist, repeatable (no zone: zen.spamhaus.org, bl.spamcop.net, b.barracudacentral.org, psbl.surriel.com)',
        repeat: true,
      },
      {
        flags: '--ca-file <file>',
        help: 'extra trusted CA (PEM) for the MTA-STS policy and DoH servers',
        complete: 'file',
      },
      { flags: '--https-port <port>', help: 'port of the MTA-STS policy server (for test beds)', default: '443' },
      ...reportOptions(),
    ],
    run: async ([domain], flags) =>
      (await import('./report-commands.js')).mxLookup(domain as string, flags, commandNamed('mx-lookup')!.options),
  },
  {
    name: 'audit',
    summary:
      'judge the whole mail setup of a domain: DNS, DNSSEC, SPF/DMARC/DKIM/MTA-STS/TLS-RPT, TLS of each MX, relay and enumeration hardening; text, JSON, HTML or CSV',
    args: [{ name: '[domain]', help: 'the domain, e.g. example.com (or --domains FILE)' }],
    options: [
      ...resolverOptions(),
      {
        flags: '-p, --port <port>',
        help: 'send every SMTP probe of the audit to this port (for test beds)',
        default: '25',
      },
      { flags: '-t, --timeout <duration>', help: 'time limit for the whole audit', default: '120s' },
      {
        flags: '--wait-timeout <duration>',
        help: 'time limit for each SMTP wait: connect, greeting, command, handshake',
        default: '10s',
      },
      { flags: '--ehlo <name>', help: 'the name to send in EHLO (default: this host’s name)' },
      {
        flags: '--ca-file <file>',
        help: 'extra trusted CA (PEM) for SMTP certificates and the MTA-STS policy server',
        complete: 'file',
      },
      { flags: '--https-port <port>', help: 'port of the MTA-STS policy server (for test beds)', default: '443' },
      {
        flags: '--dkim-selector <name>',
        help: 'judge the DKIM key at NAME._domainkey.DOMAIN, repeatable',
        repeat: true,
      },
      {
        flags: '--dnsbl [zone]',
        help: 'check each MX address on this DNS blocklist, repeatable (no zone: zen.spamhaus.org, bl.spamcop.net, b.barracudacentral.org, psbl.surriel.com)',
        repeat: true,
      },
      { flags: '--scan-concurrency <n>', help: 'handshakes at once in the cipher scan of each MX', default: '8' },
      {
        flags: '--domains <file>',
        help: 'audit every domain in FILE (one a line, # comments; - for stdin), streamed as each finishes',
        complete: 'file',
      },
      { flags: '--concurrency <n>', help: 'with --domains: audits at once', default: '4' },
      {
        flags: '--smuggling-rcpt <address>',
        help: 'test SMTP smuggling: sends one message per end-of-data variant to ADDRESS, yours at the domain',
      },
      {
        flags: '--rpki-validator <url>',
        help: 'judge the RPKI route-origin validity of each MX and NS address with this Routinator HTTP API (http:// or https://)',
      },
      {
        flags: '--asn-zone <name>',
        help: 'with --rpki-validator: DNS zone giving the origin AS of an IPv4 address (TXT at the reversed octets)',
        fallback: 'origin.asn.cymru.com',
      },
      {
        flags: '--asn-zone6 <name>',
        help: 'with --rpki-validator: DNS zone giving the origin AS of an IPv6 address (TXT at the reversed nibbles)',
        fallback: 'origin6.asn.cymru.com',
      },
      {
        flags: '--baseline <file>',
        help: 'a previous --json report: show what changed, exit 1 when a check got worse',
        complete: 'file',
      },
      {
        flags: '--format <format>',
        help: 'text, json, html (one self-contained file) or csv',
        default: 'text',
        choices: ['text', 'json', 'html', 'csv'],
      },
      { flags: '--json', help: 'print one JSON document (JSON lines with --domains)' },
      { flags: '-q, --quiet', help: 'print only the outcome line' },
      { flags: '-v, --verbose', help: 'show each finding’s evidence in the text report' },
      { flags: '--no-color', help: 'no colours (also: NO_COLOR=1)' },
    ],
    run: async ([domain], flags) =>
      (await import('./audit.js')).audit(domain as string | undefined, flags as never, commandNamed('audit')!.options),
  },
  {
    name: 'spf',
    summary:
      'evaluate SPF as a receiver does (RFC 7208 check_host): the result for a client address, with every term and look-up traced',
    args: [
      { name: '<domain>', help: 'the domain whose SPF record is evaluated (the MAIL FROM domain, or the HELO name)' },
    ],
    options: [
      { flags: '--ip <address>', help: 'the SMTP client’s address, IPv4 or IPv6 (required)' },
      {
        flags: '--sender <address>',
        help: "MAIL FROM, for the macros (default postmaster@DOMAIN); '<>' checks the HELO identity",
      },
      { flags: '--helo <name>', help: 'the name the client gave in HELO/EHLO (%{h})' },
      ...resolverOptions(),
      { flags: '--ca-file <file>', help: 'extra trusted CA (PEM) for DoH servers', complete: 'file' },
      ...reportOptions(),
    ],
    run: async ([domain], flags) => (await import('./report-commands.js')).spf(domain as string, flags),
  },
  {
    name: 'dkim-verify',
    summary:
      'check every DKIM signature of a received message (.eml) against its key in DNS, and its DMARC alignment with From:',
    args: [{ name: '<file>', help: "the message ('-' reads standard input)" }],
    options: [
      ...resolverOptions(),
      { flags: '--ca-file <file>', help: 'extra trusted CA (PEM) for DoH servers', complete: 'file' },
      ...reportOptions(),
    ],
    run: async ([file], flags) => (await import('./report-commands.js')).dkimVerify(file as string, flags),
  },
  {
    name: 'check-message',
    summary:
      'what a receiver computes for a received message (.eml): SPF, every DKIM signature, DMARC with its disposition, the ARC chain, and the Authentication-Results field',
    args: [{ name: '<file>', help: "the message ('-' reads standard input)" }],
    options: [
      { flags: '--ip <addr>', help: 'the SMTP client’s address (default: from the topmost Received: field)' },
      {
        flags: '--helo <name>',
        help: 'the name the client sent with HELO/EHLO (default: from the topmost Received: field)',
      },
      {
        flags: '--mail-from <addr>',
        help: 'the envelope sender, <> for the null sender (default: the Return-Path: field)',
      },
      {
        flags: '--authserv-id <id>',
        help: 'the receiver’s name in the Authentication-Results field',
        default: 'smtpkit',
      },
      ...resolverOptions(),
      { flags: '--ca-file <file>', help: 'extra trusted CA (PEM) for DoH servers', complete: 'file' },
      ...reportOptions(),
    ],
    run: async ([file], flags) =>
      (await import('./report-commands.js')).checkMessage(
        file as string,
        flags,
        commandNamed('check-message')!.options,
      ),
  },
  {
    name: 'probe',
    summary:
      'a health check for people and CI: each step a named check (pass, warn, fail), with JUnit and Nagios output',
    args: [
      { name: '[targets...]', help: 'host[:port] (or smtp://, smtps://, submission:// URL) of each server to probe' },
    ],
    options: [
      // check_smtp's -t is a number of seconds: so is a bare --timeout value.
      ...connectionOptions('10s').map((o) => (o.flags.startsWith('--timeout ') ? { ...o, aliases: ['-t'] } : o)),
      ...loginOptions(),
      ...resolverOptions(),
      { flags: '--targets <file>', help: 'more targets, one per line (# comments)', complete: 'file' },
      MX,
      { flags: '--concurrency <n>', help: 'probes at once', default: '10' },
      {
        flags: '--format <format>',
        help: 'text, json, jsonl (a JSON line per target), junit, nagios or prometheus',
        default: 'text',
        choices: PROBE_FORMATS,
      },
      { flags: '--transcript', help: 'add the explained transcript of each probe' },
      { flags: '--strict', help: 'warnings fail too' },
      { flags: '--expect-banner <regex>', help: 'the greeting must match' },
      {
        flags: '--warn-days <n>',
        help: 'certificate expiry warning, in days',
        default: '21',
      },
      {
        flags: '--crit-days <n>',
        help: 'certificate expiry failure, in days',
        default: '7',
      },
      {
        flags: '--warn-ms <ms>',
        help: 'warn above this total time, or phase=ms (banner=200); repeatable',
        repeat: true,
      },
      { flags: '--crit-ms <ms>', help: 'fail above this total time, or phase=ms; repeatable', repeat: true },
      { flags: '--auth', help: 'authenticate too (implied by --user)' },
      { flags: '--from <address>', help: 'test an envelope: MAIL FROM (with --rcpt; RSET after, nothing sent)' },
      { flags: '--rcpt <address>', help: 'test an envelope: RCPT TO' },
      {
        flags: '--relay-test',
        help: 'check that the server refuses to relay to an outside domain without AUTH, in 16 address forms (no message is sent)',
      },
      {
        flags: '--enum-test',
        help: 'check whether VRFY, EXPN or RCPT tell a real user (--rcpt, or postmaster) from a random one (nothing is sent)',
      },
      { flags: '--ptr', help: 'reverse DNS of the server address, compared with its greeting' },
      { flags: '--tls-scan', help: 'test every TLS version and cipher suite: checks tls-protocols and tls-ciphers' },
      ...scanOptions('--tls-scan'),
      {
        flags: '--dnsbl [zone]',
        help: 'look the server address up on this DNS blocklist, repeatable (no zone: the default lists)',
        repeat: true,
      },
      { ...SAVE_CERT, help: 'write the certificate chain each target presents to FILE as PEM, leaf first' },
      {
        flags: '--https-port <port>',
        help: 'with --mx: port of the MTA-STS policy server (for test beds)',
        default: '443',
      },
      {
        flags: '--dane',
        help: 'judge certificates by the host’s DNSSEC-validated TLSA records (DANE, RFC 7672): a mismatch stops the probe (exit 6)',
      },
      // check_smtp's options with its meaning (monitoring-plugins), so a Nagios command line carries over.
      {
        flags: '-H, --hostname <host>',
        help: 'check_smtp’s -H: a target (with -p for its port), repeatable',
        repeat: true,
      },
      { flags: '-w, --warning <seconds>', help: 'check_smtp’s -w: warn above this response time, in seconds (0.5)' },
      { flags: '-c, --critical <seconds>', help: 'check_smtp’s -c: fail above this response time, in seconds' },
      { flags: '-e, --expect <text>', help: 'check_smtp’s -e: the greeting must contain this text' },
      {
        flags: '-S, --require-starttls',
        help: 'check_smtp’s -S: STARTTLS must be offered (its absence fails, not warns; also --starttls always)',
      },
      {
        flags: '-D, --certificate <warn[,crit]>',
        help: 'check_smtp’s -D: certificate days left, warn below WARN and fail below CRIT',
      },
      ...outputOptions(),
    ],
    run: async ([targets], flags) =>
      (await import('./probe.js')).probeCommand(targets as string[], flags, commandNamed('probe')!.options),
    usageError: (argv) => {
      const format = machineFormat(argv);
      return format && (async (message) => (await import('./probe.js')).probeUsageError(format, message));
    },
  },
  {
    name: 'sink',
    summary:
      'a local SMTP server for testing senders: shows each session explained, can save messages and misbehave on purpose',
    args: [],
    options: [
      { flags: '-p, --port <port>', help: 'port to listen on (default 2525; 0 picks a free one)' },
      { flags: '--host <address>', help: 'address to listen on (default 127.0.0.1)' },
      {
        flags: '--allow-remote',
        help: 'allow a non-loopback --host (the sink accepts mail from anyone who can reach it)',
      },
      { flags: '--name <name>', help: 'server name in the greeting (default sink.localhost)' },
      { flags: '--tls', help: 'offer STARTTLS (with the built-in localhost certificate unless --cert/--key)' },
      { flags: '--cert <file>', help: 'TLS certificate (PEM)', complete: 'file' },
      { flags: '--key <file>', help: 'TLS key (PEM)', complete: 'file' },
      { flags: '--auth <user:pass>', help: 'require AUTH (PLAIN, LOGIN, CRAM-MD5) with these credentials' },
      { flags: '--save <dir>', help: 'write each message to DIR as an .eml file', complete: 'directory' },
      { flags: '--json', help: 'one JSON line per message on stdout (envelope, size, headers, saved file)' },
      { flags: '-q, --quiet', help: 'one line per message, no transcripts' },
      { flags: '--no-color', help: 'no colours (also: NO_COLOR=1)' },
      { flags: '--reject-rcpt <regex>', help: 'refuse recipients that match (550 5.1.1)' },
      {
        flags: '--tempfail-rate <rate>',
        help: 'answer MAIL, RCPT or the final dot with 451 this often (0.1 = one in ten)',
      },
      { flags: '--delay-greeting <duration>', help: 'wait before the greeting' },
      { flags: '--delay-data <duration>', help: 'wait before answering the final dot' },
      {
        flags: '--drop-after <step>',
        help: 'hang up at connect, ehlo, mail, rcpt or data',
        choices: ['connect', 'ehlo', 'mail', 'rcpt', 'data'],
      },
      { flags: '--max-size <bytes>', help: 'SIZE limit, enforced while the message streams in (default 25 MiB)' },
      { flags: '--idle-timeout <duration>', help: 'hang up on a client silent this long, with 421 4.4.2 (default 5m)' },
      { flags: '--max-sessions <n>', help: 'sessions at once; more get 421 4.7.0 (default 100)' },
      {
        flags: '--min-rate <rate[/window]>',
        help: 'hang up with 421 4.4.2 on a client sending under RATE bytes/s mid-line or mid-message, over WINDOW (default 100/30s; 0 = off)',
      },
      {
        flags: '--bare-newline <action>',
        help: 'a message with a bare LF or CR: note it, reject it (550 5.5.2, as Postfix 3.9 can) or normalize it to CRLF (default note)',
        choices: ['note', 'reject', 'normalize'],
      },
      {
        flags: '--rule <rule>',
        help: 'answer an address at a stage with a fixed reply, first match wins: rcpt:*@full.test=452 4.2.2 Mailbox full (stages mail, rcpt, data; * and ? in the address), repeatable',
        repeat: true,
      },
      {
        flags: '--rate-limit <rate>',
        help: 'messages per client address, e.g. 10/s, 100/m, 1000/h; past it MAIL gets 421 4.7.0 and a hang-up',
      },
      {
        flags: '--rate-limit-reply <where>',
        help: 'where a client past --rate-limit hears it: mail (421 4.7.0, hang up) or rcpt (450 4.7.1 at each RCPT)',
        fallback: 'mail',
        choices: ['mail', 'rcpt'],
      },
      { flags: '--count <n>', help: 'stop after N messages' },
      {
        flags: '--http <host:port>',
        help: 'serve the web page and the HTTP API (messages, raw, session, wait, events, rules, metrics) here, e.g. 127.0.0.1:8025; loopback unless --allow-remote with --http-token',
      },
      {
        flags: '--http-token <token>',
        help: 'require Authorization: Bearer TOKEN on the HTTP API (16+ visible characters; not /healthz or the page’s files); visible to other users: prefer SMTPKIT_HTTP_TOKEN or --http-token-file',
      },
      { flags: '--http-token-file <file>', help: 'read the --http-token from a file (one line)', complete: 'file' },
      { flags: '--max-messages <n>', help: 'messages the HTTP API keeps in memory; the oldest go first (default 500)' },
      // Where the HTTP API's DKIM check of each stored message looks its keys up.
      ...resolverOptions(),
    ],
    run: async (_args, flags) => (await import('./sink.js')).sinkCommand(flags),
  },
  {
    name: 'exporter',
    summary:
      'serve probes to Prometheus, the way blackbox_exporter does: /probe?target=host:port[&module=name] and /metrics',
    args: [],
    options: [
      {
        flags: '--listen <host:port>',
        help: 'address to serve on (port 0 picks a free one)',
        default: '127.0.0.1:9125',
      },
      {
        flags: '--config <file>',
        help: 'probe profiles (modules) as JSON: role, auth, tlsVerify, caFile, expectBanner, timeout',
        complete: 'file',
      },
      { flags: '--max-concurrent <n>', help: 'probes at once; further scrapes wait', default: '10' },
      {
        flags: '--timeout <duration>',
        help: 'a probe’s limit when Prometheus sends no scrape timeout',
        default: '10s',
      },
      { flags: '--allow-remote', help: 'allow a non-loopback --listen address' },
      {
        flags: '--audit-cache <duration>',
        help: 'how long an audit module’s result answers the scrapes of its domain (the module’s cacheFor wins)',
        default: '1h',
      },
    ],
    run: async (_args, flags) =>
      (await import('./exporter.js')).exporterCommand(
        flags,
        commandNamed('exporter')!.options,
        commandNamed('probe')!.options,
        commandNamed('audit')!.options,
      ),
  },
  {
    name: 'demo',
    summary:
      'start a test server in this process and run a probe and a send against it: see smtpkit work with no mail server of your own',
    args: [],
    options: [
      {
        flags: '-v, --verbose',
        help: 'also show the probe’s transcript (every connection it makes, each reply explained)',
      },
      { flags: '--no-color', help: 'no colours (also: NO_COLOR=1)' },
    ],
    run: async (_args, flags, main) => (await import('../commands/demo.js')).demo(outputSpec(flags), main),
  },
  {
    name: 'explain',
    summary:
      'explain a reply code, enhanced status code, pasted reply, or a whole bounce (DSN) on standard input, naming well-known causes',
    args: [
      {
        name: '[reply...]',
        help: 'e.g. 550 5.7.1, or 5.7.26, or "451 4.7.1 Greylisted"; - (or none) reads standard input',
      },
    ],
    options: [
      {
        flags: '--command <verb>',
        help: 'the command the reply answered (MAIL, RCPT, DATA, ., AUTH ...)',
        values: ['CONNECT', 'EHLO', 'HELO', 'STARTTLS', 'AUTH', 'MAIL', 'RCPT', 'DATA', '.', 'BDAT', 'RSET', 'QUIT'],
      },
      { flags: '--json', help: 'print JSON' },
      { flags: '--no-color', help: 'no colours (also: NO_COLOR=1)' },
    ],
    run: async ([words], flags) => (await import('./report-commands.js')).explain(words as string[], flags),
  },
  {
    name: 'completion',
    summary: 'print a shell completion script: smtpkit completion bash|zsh|fish (see README for installing it)',
    args: [{ name: '<shell>', help: 'bash, zsh or fish' }],
    options: [],
    run: async ([shell]) => (await import('./completion.js')).completionCommand(shell as string, COMMANDS),
  },
];

export const commandNamed = (name: string) => COMMANDS.find((c) => c.name === name);
