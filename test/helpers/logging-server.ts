import { lineServer, rawServer, type RawServer } from './raw-server.js';

export interface LoggingServer extends RawServer {
  /** Every line the server received, over all connections, in order. */
  lines: string[];
}

export interface LoggingOptions {
  /** Reply to a command instead of the default (return undefined for the default). */
  answer?: (line: string) => string | undefined;
  /** Wait this long after 221 before closing, so a client that writes again is seen. */
  closeDelayMs?: number;
}

/**
 * A small plaintext SMTP server that logs every line it receives, for asserting exactly
 * what went on the wire: EHLO with AUTH PLAIN LOGIN, any login accepted, MAIL/RCPT/DATA.
 * Anything it does not know gets 500, as a real server answers a stray line.
 */
export async function loggingServer(options: LoggingOptions = {}): Promise<LoggingServer> {
  const lines: string[] = [];
  const server = await rawServer((s) => {
    s.write('220 logging.test ESMTP\r\n');
    let state: '' | 'data' | 'plain' | 'login-user' | 'login-pass' = '';
    lineServer(s, (line) => {
      lines.push(line);
      return reply(line);
    });
    const reply = (line: string): string => {
      if (state === 'data') {
        if (line === '.') state = '';
        return line === '.' ? '250 2.0.0 queued as LOG1\r\n' : '';
      }
      if (state === 'plain' || state === 'login-pass') {
        state = '';
        return line === '*' ? '501 5.0.0 cancelled\r\n' : '235 2.7.0 Authentication successful\r\n';
      }
      if (state === 'login-user') {
        state = 'login-pass';
        return '334 UGFzc3dvcmQ6\r\n';
      }
      const custom = options.answer?.(line);
      if (custom !== undefined) return custom;
      const [verb = '', mech, initial] = line.split(' ');
      switch (verb.toUpperCase()) {
        case 'EHLO':
          return '250-logging.test\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n';
        case 'HELO':
        case 'MAIL':
        case 'RCPT':
        case 'NOOP':
        case 'RSET':
          return '250 2.0.0 ok\r\n';
        case 'AUTH':
          if (initial) return '235 2.7.0 Authentication successful\r\n';
          state = mech?.toUpperCase() === 'LOGIN' ? 'login-user' : 'plain';
          return state === 'plain' ? '334 \r\n' : '334 VXNlcm5hbWU6\r\n';
        case 'DATA':
          state = 'data';
          return '354 End data with <CR><LF>.<CR><LF>\r\n';
        case 'QUIT':
          setTimeout(() => s.end(), options.closeDelayMs ?? 0);
          return '221 2.0.0 Bye\r\n';
        default:
          return '500 5.5.2 Error: command not recognized\r\n';
      }
    };
  });
  return Object.assign(server, { lines });
}
