import { createHash, X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { dnsServer, type DnsServer, type Zone } from './dns-server.js';
import { MTA_STS_TLS, TLS } from './paths.js';
import { lineServer, rawServer, type RawServer } from './raw-server.js';
import { smtpPeer, type Peer } from './smtp-peer.js';

/**
 * A loopback bed for smtpkit audit: a test DNS server holding a well-kept domain (good.test,
 * MX mail.test on smtp-server with TLS, DANE with a rollover pair, MTA-STS, TLS-RPT, DMARC
 * with an authorised outside rua) and a careless one (bad.test: CNAME MX, p=none, no SPF,
 * no _domainkey, a raw server with no STARTTLS that relays, tells users apart and shows its
 * version), and domains with no MX, a null MX and a bogus signature (EDE 6).
 */
const spki = (pem: string) =>
  createHash('sha256')
    .update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }))
    .digest();
const tlsa = (usage: number, selector: number, matching: number, data: Buffer) =>
  Buffer.concat([Buffer.from([usage, selector, matching]), data]);

/** SRV "." for every submission and mailbox service (RFC 6186 §3): not offered, so no audit tries 587 or 143 of this machine. */
const notOffered = (domain: string): Zone =>
  Object.fromEntries(
    ['submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s'].map((s) => [
      `_${s}._tcp.${domain}`,
      [{ type: 'SRV', priority: 0, weight: 0, port: 0, target: '.' }],
    ]),
  );

export const AUDIT_ZONE: Zone = {
  ...notOffered('good.test'),
  ...notOffered('bad.test'),
  'good.test': [
    { type: 'MX', exchange: 'mail.test', priority: 10 },
    { type: 'TXT', data: 'v=spf1 ip4:127.0.0.1 -all' },
    { type: 'NS', ns: 'ns1.good.test' },
  ],
  'ns1.good.test': [
    { type: 'A', address: '127.0.0.1' },
    { type: 'AAAA', address: '::1' },
  ],
  '_dmarc.good.test': [{ type: 'TXT', data: 'v=DMARC1; p=reject; rua=mailto:dmarc@good.test,mailto:d@reports.test' }],
  'good.test._report._dmarc.reports.test': [{ type: 'TXT', data: 'v=DMARC1' }],
  '_domainkey.good.test': [],
  '_mta-sts.good.test': [{ type: 'TXT', data: 'v=STSv1; id=20261206' }],
  'mta-sts.good.test': [{ type: 'A', address: '127.0.0.1' }],
  '_smtp._tls.good.test': [{ type: 'TXT', data: 'v=TLSRPTv1; rua=mailto:tls@good.test' }],
  'mail.test': [
    { type: 'A', address: '127.0.0.1' },
    { type: 'CAA', flags: 0, tag: 'issue', value: 'ca.test' },
  ],
  '1.0.0.127.in-addr.arpa': [{ type: 'PTR', domain: 'mail.test' }],
  '_25._tcp.mail.test': [
    { type: 'TLSA', data: tlsa(3, 1, 1, spki(TLS.cert())) },
    { type: 'TLSA', data: tlsa(3, 1, 1, spki(TLS.wrongNameCert())) },
  ],
  // Careless: MX through an alias, no SPF/DMARC/_domainkey, a server with no STARTTLS that relays.
  'bad.test': [
    { type: 'MX', exchange: 'alias.bad.test', priority: 10 },
    { type: 'NS', ns: 'ns.bad.test' },
  ],
  'ns.bad.test': [{ type: 'A', address: '127.0.0.1' }],
  'alias.bad.test': [{ type: 'CNAME', domain: 'host.bad.test' }],
  'host.bad.test': [{ type: 'A', address: '127.0.0.1' }],
  '_dmarc.bad.test': [{ type: 'TXT', data: 'v=DMARC1; p=none; rua=mailto:x@elsewhere.test' }],
  'nothing.test': [{ type: 'TXT', data: 'hello' }],
  'nullmx.test': [{ type: 'MX', exchange: '.', priority: 0 }],
  // A validating resolver's answer to a record altered after signing.
  'bogus.test': [
    { type: 'FAIL', of: 'MX', rcode: 'SERVFAIL', ede: { code: 6, text: 'signature invalid' } },
    { type: 'FAIL', of: 'TXT', rcode: 'SERVFAIL', ede: { code: 6, text: 'signature invalid' } },
  ],
};

/** Signature schemes of SHA-256 and up: what a well-kept server signs its key exchange with. */
export const GOOD_SIGALGS =
  'ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:RSA+SHA256:RSA+SHA384:RSA+SHA512';

export interface AuditBed {
  dns: DnsServer;
  good: Peer;
  bad: RawServer;
  policyPort: number;
  close(): Promise<void>;
}

export async function auditBed(extra: Zone = {}): Promise<AuditBed> {
  const dns = await dnsServer({ ...AUDIT_ZONE, ...extra });
  const good = await smtpPeer({
    // Port 25 between MTAs: no AUTH; TLS 1.2+ with forward-secret AEAD suites only, in the server's order.
    disabledCommands: ['AUTH'],
    minVersion: 'TLSv1.2',
    ciphers: 'ECDHE+AESGCM:ECDHE+CHACHA20',
    honorCipherOrder: true,
    // Key exchange signed with SHA-2 only, whatever a client offers (NCSC: SHA-224 phase out, SHA-1 insufficient).
    sigalgs: GOOD_SIGALGS,
    onRcptTo(address, _s, cb) {
      // Only its own domain: no relay; every local part accepted, so nobody is told apart.
      cb(
        /@good\.test$/i.test(address.address)
          ? undefined
          : Object.assign(new Error('Relay access denied'), { responseCode: 554 }),
      );
    },
  });
  const bad = await rawServer((socket) => {
    socket.write('220 host.bad.test ESMTP Postfix 3.4.1\r\n');
    lineServer(socket, (line) => {
      if (/^QUIT/i.test(line)) return null;
      if (/^EHLO/i.test(line)) return '250-host.bad.test\r\n250-AUTH PLAIN LOGIN\r\n250 PIPELINING\r\n';
      if (/^VRFY smtpkit-nobody/i.test(line)) return '550 5.1.1 no such user\r\n';
      if (/^VRFY/i.test(line)) return '250 2.0.0 <postmaster@bad.test>\r\n';
      if (/^EXPN/i.test(line)) return '502 5.5.1 EXPN not available\r\n';
      return '250 2.0.0 Ok\r\n';
    });
  });
  const policy = https.createServer({ key: MTA_STS_TLS.key(), cert: MTA_STS_TLS.cert() }, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('version: STSv1\r\nmode: enforce\r\nmx: mail.test\r\nmax_age: 86400\r\n');
  });
  await new Promise<void>((resolve) => policy.listen(0, '127.0.0.1', resolve));
  const policyPort = (policy.address() as AddressInfo).port;
  return {
    dns,
    good,
    bad,
    policyPort,
    close: async () => {
      await Promise.all([dns.close(), good.close(), bad.close(), new Promise((r) => policy.close(r))]);
    },
  };
}

/**
 * An MX for the smuggling test, as raw as the bug: after DATA it reads bytes, and ends the
 * data at <CRLF>.<CRLF>, or (vulnerable) also at a bare <LF>.<LF>, as the servers of the 2023
 * research did. Each end it finds is answered 250 at once; `ends` lists what it took.
 */
export async function smugglingServer(
  vulnerable: boolean,
  /** A slow queue (a before-queue filter): each end-of-data answer comes this long after the end the server saw. */
  /** refuseBareLf: as Postfix's smtpd_forbid_bare_newline = reject, a message holding a bare LF is refused at <CRLF>.<CRLF>. */
  { replyDelayMs = 0, refuseBareLf = false } = {},
): Promise<RawServer & { ends: string[] }> {
  const ends: string[] = [];
  const server = await rawServer((socket) => {
    socket.write('220 smug.test ESMTP\r\n');
    let inData = false;
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (;;) {
        if (inData) {
          const real = buf.indexOf('\r\n.\r\n');
          const bare = vulnerable ? /(^|[^\r])\n\.\n/.exec(buf) : null;
          const at = bare && (real < 0 || bare.index < real) ? bare.index + bare[1]!.length : real;
          if (at < 0) return;
          const len = bare && at !== real ? 3 : 5;
          ends.push(bare && at !== real ? 'bare' : 'crlf');
          const answer =
            refuseBareLf && /(^|[^\r])\n/.test(buf.slice(0, at))
              ? '550 5.5.2 smug.test Error: bare <LF> received\r\n'
              : '250 2.0.0 Ok: queued\r\n';
          buf = buf.slice(at + len);
          inData = false;
          if (replyDelayMs) setTimeout(() => socket.write(answer), replyDelayMs);
          else socket.write(answer);
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (/^QUIT/i.test(line)) {
          socket.end('221 2.0.0 Bye\r\n');
          return;
        }
        if (/^EHLO/i.test(line)) socket.write('250-smug.test\r\n250 8BITMIME\r\n');
        else if (/^DATA/i.test(line)) {
          inData = true;
          socket.write('354 End data with <CR><LF>.<CR><LF>\r\n');
        } else socket.write(line ? '250 2.0.0 Ok\r\n' : '500 5.5.2 Error: bad syntax\r\n');
      }
    });
  });
  return Object.assign(server, { ends });
}
