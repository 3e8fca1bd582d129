import type { SMTPServerOptions } from 'smtp-server';
import { smtpPeer, type Peer } from './smtp-peer.js';

export interface Received {
  from: string;
  to: string[];
  data: Buffer;
  envelope: unknown;
  user: string | undefined;
}

export interface CapturePeer extends Peer {
  messages: Received[];
  logins: Array<{ method: string; username: string | undefined; ok: boolean }>;
}

export const USER = 'tester';
export const PASSWORD = 'S3cr3t-Pa55!';
export const TOKEN = 'ya29.token-XYZ-123';

/**
 * smtp-server that keeps what it received and accepts USER with PASSWORD (PLAIN, LOGIN,
 * CRAM-MD5) or TOKEN (XOAUTH2). Addresses starting with "reject" are refused.
 */
export async function capturePeer(options: SMTPServerOptions = {}): Promise<CapturePeer> {
  const messages: Received[] = [];
  const logins: CapturePeer['logins'] = [];
  const peer = await smtpPeer({
    authMethods: ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2'],
    hideDSN: false,
    onAuth(auth, _session, callback) {
      const ok =
        auth.username === USER &&
        (auth.method === 'XOAUTH2'
          ? auth.accessToken === TOKEN
          : auth.method === 'CRAM-MD5'
            ? auth.validatePassword(PASSWORD)
            : auth.password === PASSWORD);
      logins.push({ method: auth.method, username: auth.username, ok });
      if (ok) callback(null, { user: auth.username });
      else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onMailFrom(address, _session, callback) {
      if (address.address.startsWith('reject'))
        callback(Object.assign(new Error('Sender refused'), { responseCode: 550 }));
      else callback();
    },
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('reject'))
        callback(
          Object.assign(new Error(`<${address.address}>: Recipient address rejected: User unknown`), {
            responseCode: 550,
          }),
        );
      else callback();
    },
    onData(stream, session, callback) {
      const parts: Buffer[] = [];
      stream.on('data', (d: Buffer) => parts.push(d));
      stream.on('end', () => {
        const data = Buffer.concat(parts);
        if (data.includes('REJECT-THIS-MESSAGE'))
          return callback(Object.assign(new Error('Message content rejected'), { responseCode: 554 }));
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data,
          envelope: session.envelope,
          user: session.user as string | undefined,
        });
        callback(null, 'OK: queued as TEST123');
      });
    },
    ...options,
  });
  return Object.assign(peer, { messages, logins });
}
