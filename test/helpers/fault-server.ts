import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { SessionOptions } from '../../src/session/session.js';
import { SmtpSession } from '../../src/session/session.js';
import type { SmtpEvent } from '../../src/session/events.js';
import { rawServer, type RawServer } from './raw-server.js';
import { TLS } from './paths.js';

/** What a scripted server can do on one connection. */
export interface Ctx {
  socket: net.Socket | tls.TLSSocket;
  write(text: string | Buffer): void;
  /** Starts TLS on the server side with these options (after the 220 to STARTTLS). */
  upgrade(options?: tls.TlsOptions): void;
}

/**
 * A scripted SMTP server: a greeting, EHLO with `extensions`, QUIT, RSET, MAIL, RCPT and
 * DATA answered as a friendly server would, a message taken up to the dot; `answer`
 * overrides any command (return undefined to leave it to the defaults, '' to stay silent).
 */
export interface Script {
  greeting?: string;
  extensions?: string[];
  answer?: (line: string, ctx: Ctx) => string | undefined;
  /** The reply after the message's dot. */
  afterDot?: (ctx: Ctx) => string;
  /** Called when the server sends the 354. */
  onData?: (ctx: Ctx) => void;
  /** Called right after the greeting is written. */
  onConnect?: (ctx: Ctx) => void;
  /** Every reply goes out one byte at a time, each in its own segment (a client must put them together). */
  dribble?: boolean;
}

const DEFAULT_EXTENSIONS = [
  'PIPELINING',
  'SIZE 100000000',
  '8BITMIME',
  'STARTTLS',
  'AUTH PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256',
];

export function scripted(script: Script): (socket: net.Socket) => void {
  return (plain) => {
    let socket: net.Socket | tls.TLSSocket = plain;
    let inData = false;
    let buffer = Buffer.alloc(0);
    // Dribbled bytes leave in order, a millisecond apart, so each is read on its own.
    let dribbling = Promise.resolve();
    const dribble = (t: string | Buffer) =>
      (dribbling = dribbling.then(async () => {
        for (const b of Buffer.from(t)) {
          if (socket.destroyed) return;
          socket.write(Buffer.of(b));
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      }));
    if (script.dribble) plain.setNoDelay(true);
    const ctx: Ctx = {
      get socket() {
        return socket;
      },
      write: (t) => {
        if (script.dribble) void dribble(t);
        else if (!socket.destroyed) socket.write(t);
      },
      upgrade: (options = {}) => {
        plain.removeAllListeners('data');
        const secure = new tls.TLSSocket(plain, { isServer: true, key: TLS.key(), cert: TLS.cert(), ...options });
        secure.on('error', () => {});
        socket = secure;
        buffer = Buffer.alloc(0);
        secure.on('data', onData);
      },
    };
    const defaults = (line: string): string => {
      const verb = line.split(/[\s:]/)[0]!.toUpperCase();
      switch (verb) {
        case 'EHLO':
          return [`250-fake.test`, ...(script.extensions ?? DEFAULT_EXTENSIONS)]
            .map((l, i, a) => `250${i === a.length - 1 ? ' ' : '-'}${l}\r\n`)
            .join('');
        case 'HELO':
        case 'MAIL':
        case 'RCPT':
        case 'RSET':
        case 'NOOP':
          return '250 2.0.0 ok\r\n';
        case 'DATA':
          inData = true;
          script.onData?.(ctx);
          return '354 go ahead\r\n';
        case 'QUIT':
          // Dribbled: once the replies before it and the 221 itself are out.
          setImmediate(() => void dribbling.then(() => socket.end()));
          return '221 2.0.0 bye\r\n';
        default:
          return '500 5.5.2 what?\r\n';
      }
    };
    function onData(chunk: Buffer) {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) {
            // Keep only what could still hold the end of the message.
            if (buffer.length > 8) buffer = buffer.subarray(buffer.length - 8);
            return;
          }
          buffer = buffer.subarray(end + 5);
          inData = false;
          ctx.write(script.afterDot?.(ctx) ?? '250 2.0.0 queued as FAKE1\r\n');
          continue;
        }
        const i = buffer.indexOf('\r\n');
        if (i < 0) return;
        const line = buffer.subarray(0, i).toString('utf8');
        buffer = buffer.subarray(i + 2);
        const custom = script.answer?.(line, ctx);
        const reply = custom ?? defaults(line);
        if (reply) ctx.write(reply);
        if (socket !== plain && custom !== undefined && /^STARTTLS/i.test(line)) return;
      }
    }
    plain.on('data', onData);
    plain.on('error', () => {});
    ctx.write(script.greeting ?? '220 fake.test ESMTP\r\n');
    script.onConnect?.(ctx);
  };
}

/** Named faults: each is the one thing a test server does wrong. */
export const faults = {
  /** A greeting that never ends: continuation lines, one every few ms, forever. */
  endlessGreeting: (): Script => ({
    greeting: '220-fake.test\r\n',
    onConnect: (ctx) => {
      const timer = setInterval(
        () => (ctx.socket.destroyed ? clearInterval(timer) : ctx.write('220-still greeting\r\n')),
        3,
      );
    },
  }),
  /** After the 354, stops reading, says 552 and hangs up while the client is still writing. */
  refuseMidMessage: (): Script => ({
    answer: (l, ctx) => {
      if (!/^DATA/i.test(l)) return undefined;
      setTimeout(() => {
        ctx.socket.pause();
        ctx.write('552 5.3.4 message too big for us\r\n');
        setTimeout(() => ctx.socket.destroy(), 200);
      }, 20);
      return '354 go ahead\r\n';
    },
  }),
  /** A second reply in the same write as the greeting. */
  unsolicitedAfterGreeting: (): Script => ({ greeting: '220 fake.test ESMTP\r\n250 surprise\r\n' }),
  /** A 421 sent unasked after EHLO: the server is closing. */
  unsolicited421AfterEhlo: (): Script => ({
    answer: (l, ctx) =>
      /^EHLO/i.test(l)
        ? (setTimeout(() => ctx.write('421 4.4.2 idle too long, closing\r\n'), 50), undefined)
        : undefined,
  }),
  /** DATA answered with the 354 and a "queued" 250 in one write; the real verdict after the dot is 554. */
  earlyQueuedReply: (): Script => ({
    answer: (l) => (/^DATA/i.test(l) ? '354 go ahead\r\n250 2.0.0 queued as EARLY\r\n' : undefined),
    afterDot: () => '554 5.7.1 rejected after all\r\n',
  }),
  /** One reply too many to a pipelined batch (an extra 250 after the last RCPT). */
  extraPipelinedReply: (): Script => ({
    answer: (l) => (/^RCPT/i.test(l) ? '250 2.1.5 ok\r\n250 2.1.5 ok again\r\n' : undefined),
  }),
  /** A pipelined MAIL and RCPT answered together in one write, with a stray 250 after them. */
  strayAfterPipelinedBatch: (): Script => ({
    answer: (l) =>
      /^MAIL/i.test(l)
        ? ''
        : /^RCPT/i.test(l)
          ? '250 2.1.0 sender ok\r\n250 2.1.5 rcpt ok\r\n250 2.0.0 stray\r\n'
          : undefined,
  }),
  /** The last RCPT of a pipelined batch never answered. */
  missingPipelinedReply: (lastRcpt: string): Script => ({ answer: (l) => (l.includes(lastRcpt) ? '' : undefined) }),
  /** 250 lines as fast as the socket takes them, from the 354 on. */
  floodWhileWriting: (): Script => ({
    answer: (l, ctx) => {
      if (!/^DATA/i.test(l)) return undefined;
      const block = Buffer.from('250 2.0.0 ok\r\n'.repeat(4096));
      const pump = () => {
        while (!ctx.socket.destroyed && ctx.socket.write(block));
        if (!ctx.socket.destroyed) ctx.socket.once('drain', pump);
      };
      setImmediate(pump);
      return '354 go ahead\r\n';
    },
  }),
  /** The 220 to STARTTLS followed by plaintext, and no TLS at all. */
  garbageAfterStartTls: (): Script => ({
    answer: (l, ctx) => {
      if (!/^STARTTLS/i.test(l)) return undefined;
      ctx.socket.removeAllListeners('data');
      ctx.socket.on('data', () => ctx.write('this is not TLS\r\n'));
      return '220 2.0.0 go ahead\r\nthis is not TLS either\r\n';
    },
  }),
  /** The 220 to STARTTLS, then silence: the handshake never completes. */
  handshakeStall: (): Script => ({
    answer: (l, ctx) =>
      /^STARTTLS/i.test(l) ? (ctx.socket.removeAllListeners('data'), '220 2.0.0 go ahead\r\n') : undefined,
  }),
  /** STARTTLS to a server that speaks only TLS 1.0. */
  tls10Only: (): Script => ({
    answer: (l, ctx) => {
      if (!/^STARTTLS/i.test(l)) return undefined;
      ctx.write('220 2.0.0 go ahead\r\n');
      ctx.upgrade({ minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' });
      return '';
    },
  }),
  /** LOGIN asks for the user name, the password, and then a third thing ("Token:"). */
  loginThirdQuestion: (): Script => {
    const questions = ['VXNlcm5hbWU6', 'UGFzc3dvcmQ6', 'VG9rZW46'];
    let step = -1;
    return {
      answer: (l) => {
        if (/^AUTH LOGIN/i.test(l)) step = 0;
        else if (step >= 0 && step < questions.length - 1) step++;
        else if (step >= 0) return ((step = -1), l === '*' ? '501 5.7.0 cancelled\r\n' : '235 2.7.0 ok\r\n');
        else return undefined;
        return `334 ${questions[step]}\r\n`;
      },
    };
  },
  /** CRAM-MD5 with an empty challenge (a fixed challenge makes the digest replayable). */
  cramEmptyChallenge: (): Script => {
    let asked = false;
    return {
      answer: (l) => {
        if (/^AUTH CRAM-MD5/i.test(l)) return ((asked = true), '334 \r\n');
        if (asked) return ((asked = false), l === '*' ? '501 5.7.0 cancelled\r\n' : '235 2.7.0 ok\r\n');
        return undefined;
      },
    };
  },
  /** SCRAM-SHA-256 with an iteration count far above any server's. */
  scramHugeIterations: (iterations = 10_000_000): Script => {
    let asked = false;
    return {
      answer: (l) => {
        const m = /^AUTH SCRAM-SHA-256 (\S+)/i.exec(l);
        if (m) {
          asked = true;
          const nonce = /r=([^,]+)/.exec(Buffer.from(m[1]!, 'base64').toString())![1];
          return `334 ${Buffer.from(`r=${nonce}server,s=${Buffer.from('salt').toString('base64')},i=${iterations}`).toString('base64')}\r\n`;
        }
        if (asked) return ((asked = false), l === '*' ? '501 5.7.0 cancelled\r\n' : '535 5.7.8 no\r\n');
        return undefined;
      },
    };
  },
  /**
   * A gateway that refuses every recipient and every VRFY/EXPN the same way, whoever they
   * are (relay denied, authentication required): answers that say nothing about a user.
   */
  refusesEveryoneAlike: (
    rcpt = '554 5.7.1 Relay access denied',
    vrfy = '530 5.7.0 Authentication required',
  ): Script => ({
    answer: (l) => (/^RCPT/i.test(l) ? `${rcpt}\r\n` : /^(VRFY|EXPN)/i.test(l) ? `${vrfy}\r\n` : undefined),
  }),
  /** A 334 whose text is not base64. */
  nonBase64Challenge: (): Script => {
    let asked = false;
    return {
      answer: (l) => {
        if (/^AUTH LOGIN/i.test(l)) return ((asked = true), '334 Username, please!\r\n');
        if (asked) return ((asked = false), l === '*' ? '501 5.7.0 cancelled\r\n' : '235 2.7.0 ok\r\n');
        return undefined;
      },
    };
  },
};

/**
 * A server that speaks only implicit TLS on an ordinary port: silent to a plaintext client,
 * it greets after the handshake (what a 465-style port on another number does).
 */
export async function implicitTlsOnlyServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = tls.createServer({ key: TLS.key(), cert: TLS.cert() }, (s) => {
    s.on('error', () => {});
    s.write('220 tls.test ESMTP\r\n');
    s.on('data', (d) => s.write(/^QUIT/i.test(d.toString()) ? '221 bye\r\n' : '250 tls.test\r\n'));
  });
  server.on('tlsClientError', () => {});
  const sockets = new Set<net.Socket>();
  server.on('connection', (c) => (sockets.add(c), c.on('close', () => sockets.delete(c))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const c of sockets) c.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface Harness {
  server: RawServer;
  session: SmtpSession;
  events: SmtpEvent[];
  close(): Promise<void>;
}

/** A scripted server and a session pointed at it, with short timeouts. */
export async function harness(script: Script, options: Partial<SessionOptions> = {}): Promise<Harness> {
  const server = await rawServer(scripted(script));
  const events: SmtpEvent[] = [];
  const session = new SmtpSession(
    {
      host: '127.0.0.1',
      port: server.port,
      family: undefined,
      localAddress: undefined,
      tlsOnConnect: false,
      ehloName: 'client.test',
      timeouts: { connect: 2000, greeting: 1000, command: 1000, tls: 1000 },
      tls: {
        sni: undefined,
        ca: readFileSync(TLS.ca, 'utf8'),
        minVersion: undefined,
        maxVersion: undefined,
        cert: undefined,
        key: undefined,
        verify: false,
      },
      raw: false,
      ...options,
    },
    (e) => events.push(e),
  );
  return {
    server,
    session,
    events,
    close: async () => {
      session.close();
      await server.close();
    },
  };
}
