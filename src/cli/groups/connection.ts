import type { OptionSpec } from '../declare.js';
import type { Target } from '../../protocol/target.js';
import type { SessionOptions } from '../../session/session.js';
import { sessionOptions, type SessionFlags } from '../../flows/options.js';
import { checkSaveCert } from '../../flows/save-cert.js';

/** The connection group: where to connect, TLS and timeouts, for every command that talks to a server. */

export type ConnectionFlags = SessionFlags;

/** A server to talk to, checked before any connection: bad input never reaches a server. */
export interface ConnectionSpec {
  target: Target;
  options: SessionOptions;
  /** --save-cert: where to write the chain the server presents (checked writable). */
  saveCert: string | undefined;
}

const TLS_VERSIONS = ['1.0', '1.1', '1.2', '1.3'] as const;

/** `timeout`: the declared default of --timeout (probe's is shorter). */
export function connectionOptions(timeout = '30s'): OptionSpec[] {
  return [
    { flags: '-p, --port <port>', help: 'server port (overrides host:port)' },
    { flags: '-4, --ipv4', help: 'connect over IPv4 only' },
    { flags: '-6, --ipv6', help: 'connect over IPv6 only' },
    { flags: '--local-address <addr>', help: 'local address to connect from', aliases: ['--local-interface', '-li'] },
    {
      flags: '--ehlo <name>',
      help: 'name to send with EHLO/HELO (default: this machine’s host name)',
      aliases: ['--helo'],
    },
    {
      flags: '--tls-on-connect',
      help: 'implicit TLS: handshake before the greeting (default on port 465 and for smtps://)',
    },
    { flags: '--timeout <duration>', help: 'time limit for every wait: 30s, 500ms, 2m', default: timeout },
    { flags: '--connect-timeout <duration>', help: 'time limit for the TCP connection (default: --timeout)' },
    { flags: '--greeting-timeout <duration>', help: 'time limit for the greeting (default: --timeout)' },
    { flags: '--command-timeout <duration>', help: 'time limit for each reply (default: --timeout)' },
    { flags: '--tls-timeout <duration>', help: 'time limit for the TLS handshake (default: --timeout)' },
    {
      flags: '--sni <name>',
      help: 'TLS server name to send (default: the host, when it is a name)',
      aliases: ['--tls-sni'],
    },
    { flags: '--no-sni', help: 'send no TLS server name' },
    {
      flags: '--ca-file <file>',
      help: 'extra trusted CA certificates (PEM), besides the system roots',
      complete: 'file',
    },
    { flags: '--tls-verify', help: 'fail (exit 6) when the certificate is untrusted or does not match the name' },
    { flags: '--tls-min <version>', help: 'lowest TLS version to offer: 1.0, 1.1, 1.2, 1.3', values: TLS_VERSIONS },
    { flags: '--tls-max <version>', help: 'highest TLS version to offer', values: TLS_VERSIONS },
    { flags: '--cert <file>', help: 'client certificate (PEM)', complete: 'file', aliases: ['--tls-cert'] },
    { flags: '--key <file>', help: 'client certificate key (PEM)', complete: 'file', aliases: ['--tls-key'] },
  ];
}

export const SAVE_CERT: OptionSpec = {
  flags: '--save-cert <file>',
  help: 'write the certificate chain the server presents to FILE as PEM, leaf first',
  complete: 'file',
};

/** The server as given (host[:port] or a URL) and the group's flags, read once. */
export function connectionSpec(server: string, flags: ConnectionFlags, defaultPort = 25): Readonly<ConnectionSpec> {
  const { target, options } = sessionOptions(server, flags, defaultPort);
  checkSaveCert(flags.saveCert);
  return { target, options, saveCert: flags.saveCert };
}
