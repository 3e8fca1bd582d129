import net from 'node:net';

export interface RawServer {
  port: number;
  /** Everything each connection sent us, as text. */
  received: string[];
  close(): Promise<void>;
}

/**
 * A plain TCP server that misbehaves on purpose: `onConnection` scripts the server side
 * of each connection. Listens on 127.0.0.1, port chosen by the OS.
 */
export async function rawServer(onConnection: (socket: net.Socket, index: number) => void): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const received: string[] = [];
  const server = net.createServer((socket) => {
    const index = received.push('') - 1;
    sockets.add(socket);
    socket.on('data', (d) => (received[index] += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    onConnection(socket, index);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Calls `fn` with each complete CRLF line and the text that arrived after it so far (what a
 * client sent in the same write); `fn` returns false to stop reading this chunk.
 */
export function eachLine(socket: net.Socket, fn: (line: string, ahead: string) => boolean | void) {
  let buffer = '';
  socket.on('data', (d) => {
    buffer += d.toString('latin1');
    let i: number;
    while ((i = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      if (fn(line, buffer) === false) return;
    }
  });
}

/** Answers each complete command line with `answer(line)`; null closes the connection. */
export function lineServer(socket: net.Socket, answer: (line: string) => string | null) {
  eachLine(socket, (line) => {
    const reply = answer(line);
    if (reply === null) {
      socket.end();
      return false;
    }
    socket.write(reply);
  });
}
