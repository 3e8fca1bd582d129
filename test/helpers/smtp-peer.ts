import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { TLS } from './paths.js';

export interface Peer {
  port: number;
  server: SMTPServer;
  close(): Promise<void>;
}

/** An in-process smtp-server on 127.0.0.1 and a free port, with the test CA's certificate. */
export async function smtpPeer(options: SMTPServerOptions = {}): Promise<Peer> {
  const server = new SMTPServer({
    name: 'mail.test',
    key: TLS.key(),
    cert: TLS.cert(),
    disableReverseLookup: true,
    logger: false,
    authOptional: true,
    ...options,
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    server,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
