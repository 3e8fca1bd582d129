import net from 'node:net';
import tls from 'node:tls';
import { TLS } from './paths.js';

/** Text no terminal should ever act on: screen clear, window title, clipboard, one-byte CSI, bidi override, BEL. */
export const CLEAR = '\x1b[2J\x1b[H';
export const TITLE = '\x1b]0;pwned\x07';
export const CLIPBOARD = '\x1b]52;c;cHduZWQ=\x07';
export const C1_CSI = '\u009b31m';
export const BIDI = '\u202egnp.exe\u202c\u2066x\u2069';
export const HOSTILE = `${CLEAR}${TITLE}${CLIPBOARD}${C1_CSI}${BIDI}\x07\x7f`;
const NOISE = HOSTILE;

const b64 = (s: string) => Buffer.from(s).toString('base64');

/**
 * An SMTP server whose every word is hostile: greeting, EHLO keywords and parameters (AUTH
 * mechanism names, LIMITS), SASL challenges, XOAUTH2 error JSON, and every reply text.
 * It speaks enough SMTP (STARTTLS with the test certificate, AUTH, DATA) for every command
 * to get far. Loopback, port 0.
 */
export async function hostileServer(friendly = false): Promise<{ port: number; close(): Promise<void> }> {
  // Friendly: the same server with plain words, for golden transcripts.
  const HOSTILE = friendly ? 'Ok' : NOISE;
  const sockets = new Set<net.Socket>();
  const serve = (socket: net.Socket, secure: boolean) => {
    let buffer = '';
    let inData = false;
    let auth: string | undefined;
    const send = (s: string) => socket.write(s);
    socket.on('error', () => {});
    const answer = (line: string): void => {
      if (auth) {
        // The SASL exchange after AUTH: LOGIN asks twice, XOAUTH2 gets its error JSON once.
        if (auth === 'LOGIN-user') {
          auth = 'LOGIN-pass';
          return void send(`334 ${b64(`Password:${HOSTILE}`)}\r\n`);
        }
        auth = undefined;
        return void send(friendly ? '235 2.7.0 Authentication successful\r\n' : `535 5.7.8 no ${HOSTILE}\r\n`);
      }
      const verb = line.split(' ')[0]!.toUpperCase();
      switch (verb) {
        case 'EHLO':
          return void send(
            (friendly
              ? [
                  '250-evil.test greets you',
                  '250-PIPELINING',
                  '250-SIZE 10240000',
                  ...(secure ? ['250-AUTH PLAIN LOGIN'] : []),
                  '250-ENHANCEDSTATUSCODES',
                  '250-8BITMIME',
                  '250-DSN',
                  secure ? '250 SMTPUTF8' : '250 STARTTLS',
                ]
              : [
                  `250-evil.test ${HOSTILE}`,
                  '250-PIPELINING',
                  '250-SIZE 1000000',
                  `250-AUTH PLAIN LOGIN XOAUTH2 X${TITLE}MECH${secure ? C1_CSI : ''}`,
                  `250-LIMITS RCPTMAX=5${CLIPBOARD} MAILMAX=${BIDI}`,
                  `250-X${CLEAR}EVIL ${BIDI}`,
                  ...(secure ? [`250-XNEW${TITLE}`] : []),
                  secure ? '250 8BITMIME' : '250 STARTTLS',
                ]
            ).join('\r\n') + '\r\n',
          );
        case 'HELO':
          return void send(`250 evil.test ${HOSTILE}\r\n`);
        case 'STARTTLS': {
          send(`220 2.0.0 go ${HOSTILE}\r\n`);
          socket.removeAllListeners('data');
          const upgraded = new tls.TLSSocket(socket, { isServer: true, key: TLS.key(), cert: TLS.cert() });
          return serve(upgraded, true);
        }
        case 'AUTH': {
          const mech = (line.split(' ')[1] ?? '').toUpperCase();
          if (mech === 'LOGIN') {
            auth = 'LOGIN-user';
            return void send(`334 ${b64(`Username:${HOSTILE}`)}\r\n`);
          }
          if (mech === 'XOAUTH2') {
            auth = 'XOAUTH2';
            return void send(
              `334 ${b64(JSON.stringify({ status: `401${HOSTILE}`, schemes: 'bearer', scope: HOSTILE }))}\r\n`,
            );
          }
          return void send(friendly ? '235 2.7.0 Authentication successful\r\n' : `535 5.7.8 ${HOSTILE}\r\n`);
        }
        case 'MAIL':
          return void send(`250 2.1.0 ${HOSTILE}\r\n`);
        case 'RCPT':
          return void send(`250 2.1.5 ${HOSTILE}\r\n`);
        case 'DATA':
          inData = true;
          return void send(`354 ${HOSTILE}\r\n`);
        case 'RSET':
        case 'NOOP':
          return void send(`250 2.0.0 ${HOSTILE}\r\n`);
        case 'QUIT':
          send(`221 2.0.0 ${HOSTILE}\r\n`);
          return void socket.end();
        default:
          return void send(`502 5.5.2 ${HOSTILE}\r\n`);
      }
    };
    socket.on('data', (d: Buffer) => {
      buffer += d.toString('latin1');
      let i: number;
      while ((i = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            send(`250 2.0.0 queued as EVIL1 ${HOSTILE}\r\n`);
          }
          continue;
        }
        answer(line);
        if (socket.listenerCount('data') === 0) return; // handed over to TLS
      }
    });
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.write(`220 evil.test ESMTP ${HOSTILE}\r\n`);
    serve(socket, false);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
