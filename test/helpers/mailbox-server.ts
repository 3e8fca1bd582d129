import type net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { TLS } from './paths.js';
import { eachLine, rawServer, type RawServer } from './raw-server.js';

/**
 * IMAP and POP3 servers for the audit's mailbox-access and submission checks, well kept or
 * careless on purpose, on 127.0.0.1 and a port chosen by the OS. `received` holds what each
 * connection sent in plaintext (a PASS there would be a password the audit gave away).
 */

/** An answer, or `tls`: the answer, then a TLS handshake on the same socket; `drip`: its lines one every `everyMs`. */
type Answer = string | { tls: string } | { drip: string[]; everyMs: number } | null;

function serve(
  socket: net.Socket,
  greeting: string,
  answer: (line: string, secure: boolean) => Answer,
  secure = false,
) {
  socket.write(greeting);
  eachLine(socket, (line) => {
    const a = answer(line, secure);
    if (a === null) {
      socket.end();
      return false;
    }
    if (typeof a === 'string') return void socket.write(a);
    if ('drip' in a) {
      const timer = setInterval(() => {
        const next = a.drip.shift();
        if (next === undefined) clearInterval(timer);
        else socket.write(next);
      }, a.everyMs);
      socket.on('close', () => clearInterval(timer));
      return;
    }
    socket.write(a.tls);
    socket.removeAllListeners('data');
    const t = new tls.TLSSocket(socket, { isServer: true, key: TLS.key(), cert: TLS.cert() });
    t.on('error', () => {});
    eachLine(t as unknown as net.Socket, (l) => {
      const b = answer(l, true);
      if (typeof b === 'string') t.write(b);
      else t.end();
    });
    return false;
  });
}

async function implicitServer(onSocket: (s: net.Socket) => void): Promise<RawServer> {
  const received: string[] = [];
  const server = tls.createServer({ key: TLS.key(), cert: TLS.cert() }, (s) => {
    s.on('error', () => {});
    onSocket(s as unknown as net.Socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface ImapOptions {
  /** The capabilities before TLS (default: a Dovecot with disable_plaintext_auth = yes). */
  capability?: string;
  implicitTls?: boolean;
  /** Made-up untagged lines (* X-PAD-1 ...) before the tagged answer to this command: a reply longer than a real server's. */
  padding?: { verb: 'CAPABILITY' | 'STARTTLS'; lines: number };
}

export function imapServer(o: ImapOptions = {}): Promise<RawServer> {
  const before = o.capability ?? 'IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS LOGINDISABLED';
  const pad = (verb: string) =>
    o.padding?.verb === verb.toUpperCase()
      ? Array.from({ length: o.padding.lines }, (_, i) => `* X-PAD-${i + 1}\r\n`).join('')
      : '';
  const answer = (line: string, secure: boolean): Answer => {
    const [tag, verb] = line.split(' ');
    if (/^LOGOUT$/i.test(verb ?? '')) return null;
    if (/^CAPABILITY$/i.test(verb ?? ''))
      return `${pad(verb!)}* CAPABILITY ${secure ? 'IMAP4rev1 AUTH=PLAIN' : before}\r\n${tag} OK Pre-login capabilities listed\r\n`;
    if (/^STARTTLS$/i.test(verb ?? '') && !secure)
      return { tls: `${pad(verb!)}${tag} OK Begin TLS negotiation now.\r\n` };
    return `${tag} BAD Error in IMAP command\r\n`;
  };
  const greeting = '* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n';
  return o.implicitTls
    ? implicitServer((s) => serve(s, greeting, answer, true))
    : rawServer((s) => serve(s, greeting, answer));
}

export interface Pop3Options {
  /** USER is taken before STLS (a careless server; the next step would be the password). */
  userBeforeStls?: boolean;
  stls?: boolean;
  implicitTls?: boolean;
  /** Made-up tags (X-PAD-1 ...) listed before the real ones: a CAPA list longer than a real server's. */
  capaPadding?: number;
  /** The CAPA list's lines (after its +OK) are sent one every this many ms. */
  capaEveryMs?: number;
}

export function pop3Server(o: Pop3Options = {}): Promise<RawServer> {
  const stls = o.stls ?? true;
  const padding = Array.from({ length: o.capaPadding ?? 0 }, (_, i) => `X-PAD-${i + 1}\r\n`).join('');
  const answer = (line: string, secure: boolean): Answer => {
    if (/^QUIT$/i.test(line)) return null;
    if (/^CAPA$/i.test(line)) {
      const list = `${padding}TOP\r\nUIDL\r\nRESP-CODES\r\n${stls && !secure ? 'STLS\r\n' : ''}${o.userBeforeStls || secure ? 'USER\r\n' : ''}.\r\n`;
      if (o.capaEveryMs === undefined) return `+OK\r\n${list}`;
      return { drip: ['+OK\r\n', ...list.split(/(?<=\r\n)/).filter(Boolean)], everyMs: o.capaEveryMs };
    }
    if (/^USER /i.test(line))
      return o.userBeforeStls || secure
        ? '+OK\r\n'
        : '-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n';
    if (/^STLS$/i.test(line) && stls && !secure) return { tls: '+OK Begin TLS negotiation now.\r\n' };
    return '-ERR Unknown command.\r\n';
  };
  const greeting = '+OK Dovecot ready.\r\n';
  return o.implicitTls
    ? implicitServer((s) => serve(s, greeting, answer, true))
    : rawServer((s) => serve(s, greeting, answer));
}

/** Accepts and never says a word: every wait of the client must end on its own; `open()` counts connections still open. */
export async function silentServer(): Promise<RawServer & { open: () => number; accepted: () => number }> {
  let open = 0;
  let accepted = 0;
  const server = await rawServer((socket) => {
    open++;
    accepted++;
    socket.on('close', () => open--);
  });
  return Object.assign(server, { open: () => open, accepted: () => accepted });
}

/** Greets with `mib` MiB and no line end, as fast as the client reads: the client must stop reading. */
export function floodServer(mib: number): Promise<RawServer & { sent: () => number }> {
  let sent = 0;
  const chunk = Buffer.alloc(64 * 1024, 'A');
  return rawServer((socket) => {
    let left = mib * 16;
    const pump = () => {
      while (left > 0) {
        left--;
        sent += chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
    };
    socket.write('* OK ');
    pump();
  }).then((s) => Object.assign(s, { sent: () => sent }));
}

/** Submission as Postfix's smtpd_tls_auth_only = yes does it: STARTTLS first, AUTH listed only after it. */
export function submissionServer(): Promise<RawServer> {
  return rawServer((s) =>
    serve(s, '220 submit.test ESMTP\r\n', (line, secure) => {
      if (/^QUIT/i.test(line)) return null;
      if (/^EHLO/i.test(line)) return `250-submit.test\r\n250 ${secure ? 'AUTH PLAIN LOGIN' : 'STARTTLS'}\r\n`;
      if (/^STARTTLS/i.test(line) && !secure) return { tls: '220 2.0.0 Ready to start TLS\r\n' };
      return '530 5.7.0 Must issue a STARTTLS command first\r\n';
    }),
  );
}

/** Greets one byte at a time, every `everyMs`: a line that never ends in time (a slowloris in reverse). */
export function dripServer(everyMs: number): Promise<RawServer> {
  return rawServer((socket) => {
    const timer = setInterval(() => socket.write('*'), everyMs);
    socket.on('close', () => clearInterval(timer));
  });
}
