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

export interface RecordingServer extends RawServer {
  /**
   * Each message exactly as it came: for DATA the bytes after the 354 up to and including
   * the sequence the server took as its end; for BDAT the chunks joined.
   */
  messages: Buffer[];
  /** Every command line, over all connections, in order (what the server took for commands). */
  commands: string[];
}

export interface RecordingOptions {
  /** Offer CHUNKING (BDAT, RFC 3030). */
  chunking?: boolean;
  /**
   * The fault: DATA ends at any "." line between any line ends (the end-of-data variants of
   * the SMTP smuggling research: "\n.\n", "\r.\r\n", "\r\n.\r" ...), as a vulnerable server
   * reads it; what follows is taken as commands. A client that keeps its data to CRLF with
   * dots stuffed is read the same by it as by a strict server.
   */
  lenientEndOfData?: boolean;
  /**
   * The fault: NUL bytes are dropped before the end of data is looked for, so "\r\n\0.\r\n"
   * ends DATA (the NUL variant of the SMTP smuggling research); what follows is taken as commands.
   */
  dropsNul?: boolean;
}

const LENIENT_END = /(?:\r\n|\r|\n)\.(?:\r\n|\r|\n)/;
/** CRLF "." CRLF as a server that drops NULs reads it: with any NULs between its bytes. */
const NUL_BLIND_END = /(?:^|\r\0*\n)\0*\.\0*\r\0*\n/;

/** Where the message ends in `buf` (just past its end-of-data sequence), or -1 while it has not. */
function endOfData(buf: Buffer, lenient: boolean, dropsNul = false): number {
  if (dropsNul) {
    const m = NUL_BLIND_END.exec(buf.toString('latin1'));
    return m ? m.index + m[0].length : -1;
  }
  if (buf.subarray(0, 3).toString('latin1') === '.\r\n') return 3;
  if (!lenient) {
    const i = buf.indexOf('\r\n.\r\n');
    return i < 0 ? -1 : i + 5;
  }
  const m = LENIENT_END.exec(buf.toString('latin1'));
  // A CR at the very end may be the start of CRLF: wait for the next byte.
  if (!m || (m.index + m[0].length === buf.length && m[0].endsWith('\r'))) return -1;
  return m.index + m[0].length;
}

/**
 * A raw SMTP server that records every message byte for byte, for asserting on exactly what
 * a client put on the wire after DATA or BDAT (the lines of loggingServer lose the bytes).
 * Offers PIPELINING and 8BITMIME (and CHUNKING when asked); any login is not offered.
 */
export async function recordingServer(options: RecordingOptions = {}): Promise<RecordingServer> {
  const messages: Buffer[] = [];
  const commands: string[] = [];
  const server = await rawServer((s) => {
    s.write('220 recording.test ESMTP\r\n');
    let buf = Buffer.alloc(0);
    let inData = false;
    let bdat: { left: number; last: boolean } | undefined;
    let chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (bdat) {
          const n = Math.min(bdat.left, buf.length);
          chunks.push(buf.subarray(0, n));
          buf = buf.subarray(n);
          bdat.left -= n;
          if (bdat.left) return;
          const { last } = bdat;
          bdat = undefined;
          if (last) {
            messages.push(Buffer.concat(chunks));
            chunks = [];
          }
          s.write(last ? '250 2.0.0 queued as REC1\r\n' : '250 2.0.0 chunk taken\r\n');
          continue;
        }
        if (inData) {
          const end = endOfData(buf, !!options.lenientEndOfData, !!options.dropsNul);
          if (end < 0) return;
          messages.push(Buffer.from(buf.subarray(0, end)));
          buf = buf.subarray(end);
          inData = false;
          s.write('250 2.0.0 queued as REC1\r\n');
          continue;
        }
        const i = buf.indexOf('\r\n');
        if (i < 0) return;
        const line = buf.subarray(0, i).toString('latin1');
        buf = buf.subarray(i + 2);
        commands.push(line);
        const verb = (line.split(/[\s:]/)[0] ?? '').toUpperCase();
        const chunk = /^BDAT (\d+)( LAST)?$/i.exec(line);
        if (verb === 'EHLO')
          s.write(
            `250-recording.test\r\n250-PIPELINING\r\n${options.chunking ? '250-CHUNKING\r\n' : ''}250 8BITMIME\r\n`,
          );
        else if (verb === 'DATA') {
          inData = true;
          s.write('354 End data with <CR><LF>.<CR><LF>\r\n');
        } else if (chunk) bdat = { left: Number(chunk[1]), last: !!chunk[2] };
        else if (verb === 'QUIT') {
          s.write('221 2.0.0 Bye\r\n');
          s.end();
          return;
        } else if (['HELO', 'MAIL', 'RCPT', 'RSET', 'NOOP'].includes(verb)) s.write('250 2.0.0 ok\r\n');
        else s.write('500 5.5.2 Error: command not recognized\r\n');
      }
    });
  });
  return Object.assign(server, { messages, commands });
}
