import net from 'node:net';
import tls from 'node:tls';

/**
 * Clients that misbehave on purpose, for testing servers (the sink): each is named for what
 * it does wrong. They speak raw bytes over `net`, count what comes back without keeping all
 * of it (a flood of replies must not fill the test's own memory), and never wait without a
 * limit.
 */

/** What a raw client has seen. */
export interface RawClient {
  socket: net.Socket;
  /** All received text while it is under 1 MiB; after that the last 64 KiB. */
  text(): string;
  /** Reply lines received so far (counted, not kept). */
  lines(): number;
  bytes(): number;
  /** Writes and resolves once the bytes are handed to the kernel (honours backpressure). */
  send(data: string | Buffer): Promise<void>;
  /** Resolves with the text once `re` matches it; rejects after `ms`. */
  waitFor(re: RegExp, ms?: number): Promise<string>;
  /** Resolves when the server has closed the connection. */
  closed: Promise<void>;
  /** The next complete reply after the last one taken (short sessions: under 1 MiB of replies). */
  nextReply(ms?: number): Promise<string>;
  /** Starts reading (for a client made with `read: false`). */
  read(): void;
  destroy(): void;
}

const KEEP_ALL = 1024 * 1024;
const KEEP_TAIL = 64 * 1024;

/** `localAddress`: another loopback address to come from (127.0.0.2: another client to the server). */
export async function rawClient(
  port: number,
  opts: { read?: boolean; localAddress?: string } = {},
): Promise<RawClient> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: opts.localAddress });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let text = '';
  let lines = 0;
  let bytes = 0;
  let waiters: Array<() => void> = [];
  const onData = (d: Buffer) => {
    bytes += d.length;
    for (let i = d.indexOf(0x0a); i >= 0; i = d.indexOf(0x0a, i + 1)) lines++;
    text += d.toString('latin1');
    if (bytes > KEEP_ALL && text.length > KEEP_TAIL) text = text.slice(-KEEP_TAIL);
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  let ended = false;
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      ended = true;
      resolve();
      waiters.forEach((f) => f());
    }),
  );
  let reading = false;
  const read = () => {
    if (reading) return;
    reading = true;
    socket.on('data', onData);
    socket.resume(); // after an explicit pause(), a listener alone does not start the flow
  };
  if (opts.read !== false) read();
  else socket.pause();
  let cursor = 0;
  const nextReply = async (ms = 10_000): Promise<string> => {
    const tail = /^(?:\d{3}-.*\r\n)*\d{3}(?: .*)?\r\n/;
    const found = await waitUntil(
      () => tail.exec(text.slice(cursor)),
      ms,
      () => `no reply within ${ms} ms; got ${JSON.stringify(text.slice(cursor, cursor + 500))}`,
    );
    cursor += found[0].length;
    return found[0];
  };
  const waitUntil = <T>(probe: () => T | null | undefined, ms: number, why: () => string) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(why())), ms);
      const check = () => {
        const v = probe();
        if (v) {
          clearTimeout(timer);
          resolve(v);
        } else if (ended) {
          clearTimeout(timer);
          reject(new Error(`closed: ${why()}`));
        } else waiters.push(check);
      };
      check();
    });
  return {
    socket,
    nextReply,
    text: () => text,
    lines: () => lines,
    bytes: () => bytes,
    send: (data) =>
      new Promise((resolve, reject) => {
        if (socket.destroyed) return reject(new Error('the connection is closed'));
        socket.write(data, (err) => (err ? reject(err) : resolve()));
      }),
    waitFor: (re, ms = 10_000) =>
      waitUntil(
        () => (re.test(text) ? text : null),
        ms,
        () => `no ${re} within ${ms} ms; got ${JSON.stringify(text.slice(-2000))}`,
      ),
    closed,
    read,
    destroy: () => socket.destroy(),
  };
}

/** Greeting, EHLO, MAIL and RCPT: a client ready for DATA or BDAT. */
export async function envelope(c: RawClient, to = 'b@example.test'): Promise<void> {
  await c.waitFor(/^220 /m);
  await c.send(`EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<${to}>\r\n`);
  await c.waitFor(/^250 2\.1\.5 /m);
}

/** Writes `total` bytes of message lines (no dots at line starts) in 1 MiB pieces, honouring backpressure. */
export async function streamLines(c: RawClient, total: number): Promise<void> {
  const line = `${'x'.repeat(76)}\r\n`;
  const piece = Buffer.from(line.repeat(Math.ceil((1024 * 1024) / line.length)));
  for (let sent = 0; sent < total; sent += piece.length)
    await c.send(sent + piece.length > total ? piece.subarray(0, total - sent) : piece);
}

/** Talks before the greeting (postscreen calls it PREGREET): the sink must refuse it. */
export async function earlyTalker(port: number): Promise<RawClient> {
  const c = await rawClient(port);
  await c.send('EHLO early.test\r\nMAIL FROM:<a@client.test>\r\n');
  return c;
}

/**
 * Pipelines `total` bytes of one command and never reads a reply. Returns once the last
 * command is written: only when the server keeps reading (or the test gives up).
 */
export async function neverReads(
  port: number,
  total: number,
  command = `NOOP ${'n'.repeat(94)}\r\n`,
): Promise<{ client: RawClient; commands: number; written: Promise<void> }> {
  const client = await rawClient(port, { read: false });
  // By default a NOOP with an argument (RFC 5321 §4.1.1.9): long commands, fewer replies to
  // wait for. "HELP\r\n" asks for 20 times its size in replies: the flood that fills buffers.
  const perPiece = Math.floor((1024 * 1024) / command.length);
  const piece = Buffer.from(command.repeat(perPiece));
  const pieces = Math.ceil(total / piece.length);
  const written = (async () => {
    for (let i = 0; i < pieces; i++) await client.send(piece);
  })();
  written.catch(() => {});
  return { client, commands: pieces * perPiece, written };
}

/** One command line `length` bytes long, then a NOOP: one 500 for the first, 250 for the second. */
export async function longLine(port: number, length: number): Promise<RawClient> {
  const c = await rawClient(port);
  await c.waitFor(/^220 /m);
  const piece = Buffer.alloc(1024 * 1024, 0x41);
  for (let sent = 0; sent < length; sent += piece.length)
    await c.send(piece.subarray(0, Math.min(piece.length, length - sent)));
  await c.send('\r\nNOOP\r\n');
  return c;
}

/** DATA with `size` bytes and no SIZE= on MAIL: the limit must hold while it streams. */
export async function oversizedData(port: number, size: number): Promise<RawClient> {
  const c = await rawClient(port);
  await envelope(c);
  await c.send('DATA\r\n');
  await c.waitFor(/^354 /m);
  await streamLines(c, size);
  await c.send('\r\n.\r\nQUIT\r\n');
  return c;
}

/** Connects, reads the greeting, and says nothing more. */
export async function idleClient(port: number): Promise<RawClient> {
  const c = await rawClient(port);
  await c.waitFor(/^220 /m);
  return c;
}

/** Asks for STARTTLS, gets 220, and never starts the handshake. */
export async function stalledHandshake(port: number): Promise<RawClient> {
  const c = await rawClient(port);
  await c.waitFor(/^220 /m);
  await c.send('EHLO client.test\r\nSTARTTLS\r\n');
  await c.waitFor(/^220 2\.0\.0 /m);
  return c;
}

/**
 * STARTTLS with a plaintext command in the same packet (CVE-2011-0411 and kin): the server
 * must throw it away, not run it inside the TLS session. Returns what came back over TLS
 * after the handshake, once the server has answered `after`.
 */
export async function starttlsInjection(port: number, after = 'QUIT'): Promise<string> {
  const c = await rawClient(port);
  await c.waitFor(/^220 /m);
  await c.send('EHLO client.test\r\n');
  await c.waitFor(/^250 /m);
  await c.send('STARTTLS\r\nNOOP injected before the handshake\r\n');
  await c.waitFor(/^220 2\.0\.0 /m);
  c.socket.removeAllListeners('data');
  const secure = tls.connect({ socket: c.socket, rejectUnauthorized: false, servername: 'localhost' });
  secure.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', () => resolve());
    secure.once('error', reject);
  });
  let text = '';
  secure.on('data', (d: Buffer) => (text += d.toString('latin1')));
  secure.write(`${after}\r\n`);
  await new Promise<void>((resolve) => secure.once('close', () => resolve()));
  return text;
}

/**
 * Starts AUTH (PLAIN, or LOGIN and answers the user name) and answers the next question with
 * one line `length` bytes long, then NOOP: the 500 for the line must end the exchange, so the
 * NOOP is a command again (250), not a password (535) or a user name (334).
 */
export async function longAuthAnswer(
  port: number,
  mech: 'PLAIN' | 'LOGIN',
  length: number,
  user = 'tester',
): Promise<RawClient> {
  const c = await rawClient(port);
  await c.waitFor(/^220 /m);
  await c.send(`EHLO client.test\r\nAUTH ${mech}\r\n`);
  await c.waitFor(/^334 /m);
  if (mech === 'LOGIN') {
    await c.send(`${Buffer.from(user).toString('base64')}\r\n`);
    await c.waitFor(/^334 UGFzc3dvcmQ6/m);
  }
  const piece = Buffer.alloc(1024 * 1024, 0x41);
  for (let sent = 0; sent < length; sent += piece.length)
    await c.send(piece.subarray(0, Math.min(piece.length, length - sent)));
  await c.send('\r\nNOOP\r\n');
  return c;
}

/**
 * A sender with bare line ends in its message (a bare LF, a bare CR, one CR whose LF comes in
 * the next write), ended properly with CRLF "." CRLF: the sink must say so, and refuse or mend
 * it when asked. `bdat`: the same content in two BDAT chunks, split between the CR and its LF.
 */
export const BARE_MESSAGE = 'Subject: bare\r\n\r\nlf\nthen cr\rsplit\r';
export async function bareNewlineSender(port: number, opts: { bdat?: boolean } = {}): Promise<RawClient> {
  const c = await rawClient(port);
  await envelope(c);
  const rest = '\nend\r\n';
  if (opts.bdat) {
    await c.send(`BDAT ${BARE_MESSAGE.length}\r\n${BARE_MESSAGE}`);
    await c.waitFor(/octets received\r\n/);
    await c.send(`BDAT ${rest.length} LAST\r\n${rest}`);
  } else {
    await c.send(`DATA\r\n`);
    await c.waitFor(/^354 /m);
    await c.send(BARE_MESSAGE);
    await new Promise((r) => setTimeout(r, 20));
    await c.send(`${rest}.\r\n`);
  }
  return c;
}

/**
 * Sends `text` one byte every `everyMs`, never silent long enough for an idle timeout, as
 * commands or (`inMessage`) after DATA; `done` resolves when all is sent or the server closed.
 */
export async function trickler(
  port: number,
  everyMs: number,
  opts: { inMessage?: boolean } = {},
  text = 'NOOP trickle trickle trickle trickle trickle\r\n'.repeat(20),
): Promise<{ client: RawClient; done: Promise<void> }> {
  const client = await rawClient(port);
  await client.waitFor(/^220 /m);
  if (opts.inMessage) {
    await envelope(client);
    await client.send('DATA\r\n');
    await client.waitFor(/^354 /m);
  }
  const done = (async () => {
    for (const ch of text) {
      if (client.socket.destroyed) return;
      await client.send(ch).catch(() => {});
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return { client, done };
}

/**
 * Slowloris: sends `text` one byte every `everyMs` ms, never faster, and after it stays
 * silent. A server must cut it at its own limit, however slowly the bytes keep coming.
 */
export async function slowloris(port: number, text: string, everyMs: number): Promise<RawClient> {
  const c = await rawClient(port);
  let i = 0;
  const timer = setInterval(() => {
    if (i < text.length && !c.socket.destroyed) c.socket.write(text[i++]!);
  }, everyMs);
  void c.closed.then(() => clearInterval(timer));
  return c;
}

/**
 * A message of nothing but bare CRs (`total` bytes in 1 MiB pieces), ended properly with CRLF
 * "." CRLF: every byte is a line end to find and, with --bare-newline normalize, to mend, so
 * what it costs the sink per byte is what it attacks.
 */
export async function bareCrFlood(port: number, total: number): Promise<RawClient> {
  const c = await rawClient(port);
  await envelope(c);
  await c.send('DATA\r\n');
  await c.waitFor(/^354 /m);
  const piece = Buffer.alloc(1024 * 1024, 0x0d);
  for (let sent = 0; sent < total; sent += piece.length)
    await c.send(sent + piece.length > total ? piece.subarray(0, total - sent) : piece);
  await c.send('\r\n.\r\n');
  return c;
}

/**
 * A message of nothing but dot-stuffed lines ("..\r\n", `total` bytes on the wire in 1 MiB
 * pieces): the sink cuts its input at every CRLF "." to take the stuffed dot off, so each
 * 4-byte line reaches the store as a span of its own. What the sink holds per span while it
 * keeps a message (--http) is what this attacks.
 */
export async function dotStuffedFlood(port: number, total: number): Promise<RawClient> {
  const c = await rawClient(port);
  await envelope(c);
  await c.send('DATA\r\n');
  await c.waitFor(/^354 /m);
  const piece = Buffer.from('..\r\n'.repeat(256 * 1024));
  for (let sent = 0; sent < total; sent += piece.length)
    await c.send(sent + piece.length > total ? piece.subarray(0, total - sent) : piece);
  await c.send('.\r\n');
  return c;
}
