import type { RawHelloOutcome } from '../../scan/raw-hello.js';
import type { HelloProbe } from '../../scan/hello-probe.js';
import type { ServerHelloFacts } from '../../scan/server-hello.js';
import type { AuditCheck, Verdict } from '../check.js';
import { subjectOf, type AuditContext } from '../context.js';

// The transport questions Node's TLS client cannot answer, judged from our own hellos
// (src/scan/hello-probe.ts) as the NCSC TLS guidelines (2025-05) and internet.nl judge them:
// Good and Sufficient pass, Phase out warns, Insufficient fails.

type Judge = (facts: ServerHelloFacts, probe: HelloProbe) => Verdict;

/** Once per MX host, on the address that carries the cipher scan. */
async function perHost(ctx: AuditContext, judge: (p: HelloProbe) => Verdict): Promise<Verdict[]> {
  const addresses = (await ctx.mxAddresses()).filter((a) => a.scan);
  return Promise.all(addresses.map(async (a) => ({ subject: subjectOf(a), ...judge(await ctx.hello(a)) })));
}

const evidenceOf = (p: HelloProbe, o: RawHelloOutcome = p.main): string[] =>
  o.kind === 'hello'
    ? [
        `ServerHello: ${o.facts.version}, ${o.facts.suite}, compression ${o.facts.compression ? 'DEFLATE' : 'null'}` +
          `${o.facts.secureRenegotiation ? ', renegotiation_info' : ''}${o.facts.extendedMasterSecret ? ', extended_master_secret' : ''}`,
        ...(o.facts.signature ? [`ServerKeyExchange signed with ${o.facts.signature.name}`] : []),
      ]
    : [`our hello: ${o.reason}`];

/**
 * The main hello's answer decides: a server that refuses TLS 1.2 and older outright speaks
 * TLS 1.3 only, which has no compression, no renegotiation, a transcript-bound key schedule
 * and SHA-2 signatures; anything else unanswered is not tested, with the reason.
 */
function fromMain(tls13: string, judge: Judge): (p: HelloProbe) => Verdict {
  return (p) => {
    const m = p.main;
    if (m.kind === 'hello') return judge(m.facts, p);
    if (m.kind === 'refused' && m.alert === 'protocol version')
      return { status: 'pass', summary: `TLS 1.2 and older refused (TLS 1.3 only): ${tls13}`, evidence: evidenceOf(p) };
    const what = m.kind === 'refused' ? 'the server refused our TLS 1.2 hello' : 'no answer to our TLS 1.2 hello';
    return { status: 'not-tested', summary: `${what}: ${m.reason}`, evidence: evidenceOf(p) };
  };
}

export const helloChecks: AuditCheck[] = [
  {
    group: 'transport',
    name: 'tls-compression',
    title: 'TLS compression off',
    reference: 'NCSC TLS guidelines 2025-05 (compression: insufficient); CRIME (CVE-2012-4929)',
    fix: 'turn TLS compression off (OpenSSL has it off since 1.1.0; Postfix: tls_ssl_options = NO_COMPRESSION)',
    run: (ctx) =>
      perHost(
        ctx,
        fromMain('TLS 1.3 has no compression', (f, p) =>
          f.compression
            ? {
                status: 'fail',
                summary: 'the server chose DEFLATE compression when offered (CRIME): insufficient',
                evidence: evidenceOf(p),
              }
            : { status: 'pass', summary: 'offered DEFLATE, the server chose no compression', evidence: evidenceOf(p) },
        ),
      ),
  },
  {
    group: 'transport',
    name: 'secure-renegotiation',
    title: 'Secure renegotiation',
    reference: 'RFC 5746; NCSC TLS guidelines 2025-05 (insecure renegotiation: insufficient)',
    fix: 'update the TLS library: every OpenSSL since 0.9.8m answers with renegotiation_info (RFC 5746)',
    run: (ctx) =>
      perHost(
        ctx,
        fromMain('TLS 1.3 has no renegotiation', (f, p) =>
          f.secureRenegotiation
            ? { status: 'pass', summary: 'renegotiation_info in the ServerHello (RFC 5746)', evidence: evidenceOf(p) }
            : {
                status: 'fail',
                summary: 'no renegotiation_info in the ServerHello: renegotiation is insecure (CVE-2009-3555)',
                evidence: evidenceOf(p),
              },
        ),
      ),
  },
  {
    group: 'transport',
    name: 'client-renegotiation',
    title: 'Client-initiated renegotiation refused',
    reference: 'NCSC TLS guidelines 2025-05 §3.4.2 (allowed: insufficient; limited to 10: sufficient); internet.nl',
    fix: 'refuse client-initiated renegotiation (OpenSSL: SSL_OP_NO_RENEGOTIATION; Postfix: tls_ssl_options = NO_RENEGOTIATION)',
    run: (ctx) =>
      perHost(ctx, (p): Verdict => {
        const r = p.renegotiation;
        const limit = 10;
        if (r.kind === 'no-tls12')
          return { status: 'pass', summary: `no TLS 1.2 session (${r.reason}): TLS 1.3 has no renegotiation` };
        if (r.kind === 'failed')
          return { status: 'not-tested', summary: `no TLS 1.2 session to try it on: ${r.reason}` };
        if (r.kind === 'allowed')
          return {
            status: 'fail',
            summary: `the server allowed ${r.accepted} client-initiated renegotiations in a row (more than ${limit}: a denial-of-service lever)`,
          };
        if (r.accepted === 0)
          return { status: 'pass', summary: `the server refused our renegotiation (${r.reason})`, evidence: [] };
        return {
          status: 'pass',
          summary: `allowed but limited: ${r.accepted} went through, then refused (${r.reason}); at most ${limit} is sufficient`,
          evidence: [],
        };
      }),
  },
  {
    group: 'transport',
    name: 'extended-master-secret',
    title: 'Extended Master Secret',
    reference: 'RFC 7627; NCSC TLS guidelines 2025-05 (TLS 1.2 without it: phase out)',
    fix: 'update the TLS library (OpenSSL 1.1.0 and later support extended_master_secret)',
    run: (ctx) =>
      perHost(
        ctx,
        fromMain('TLS 1.3 binds the whole handshake into its keys', (f, p) =>
          f.extendedMasterSecret
            ? { status: 'pass', summary: 'extended_master_secret in the ServerHello', evidence: evidenceOf(p) }
            : {
                status: 'warn',
                summary: `no extended_master_secret in the ${f.version} ServerHello: to be phased out (session hash not bound, RFC 7627)`,
                evidence: evidenceOf(p),
              },
        ),
      ),
  },
  {
    group: 'transport',
    name: 'kex-hash',
    title: 'Hash function for key exchange',
    reference:
      'NCSC TLS guidelines 2025-05 §3.3.5 (SHA-2: good; SHA-224: phase out; SHA-1, MD5: insufficient); internet.nl',
    fix: 'sign the key exchange with SHA-2 only: OpenSSL SignatureAlgorithms without SHA1 and SHA224 (for Postfix, in the OpenSSL configuration its tls_config_file and tls_config_name select)',
    run: (ctx) => perHost(ctx, fromMain('TLS 1.3 signs with SHA-2 schemes', kexHash)),
  },
];

/**
 * As internet.nl does: a hello offering only SHA-1 schemes (then only SHA-224) that the
 * server completes with a signature of that hash shows it still signs with it. The main
 * hello (SHA-2 first) says what a modern client gets. Before TLS 1.2 the hash is fixed.
 */
function kexHash(f: ServerHelloFacts, p: HelloProbe): Verdict {
  const signedWith = (o: RawHelloOutcome, hashes: string[]) =>
    o.kind === 'hello' && o.facts.signature && hashes.includes(o.facts.signature.hash) ? o.facts.signature : null;
  const evidence = [
    ...evidenceOf(p),
    `offering only SHA-1: ${describe(p.sha1)}`,
    `offering only SHA-224: ${describe(p.sha224)}`,
  ];
  if (f.signature && /MD5|SHA-1/.test(f.signature.hash))
    return {
      status: 'fail',
      summary: `the key exchange is signed with ${f.signature.hash} (${f.version}): insufficient`,
      evidence,
    };
  const sha1 = signedWith(p.sha1, ['SHA-1']);
  if (sha1)
    return {
      status: 'fail',
      summary: `the server signs its key exchange with SHA-1 (${sha1.name}) when a client offers only that: insufficient`,
      evidence,
    };
  const sha224 = signedWith(p.sha224, ['SHA-224']);
  if (sha224)
    return {
      status: 'warn',
      summary: `the server signs its key exchange with SHA-224 (${sha224.name}) when a client offers only that: to be phased out`,
      evidence,
    };
  if (!f.signature)
    return {
      status: 'not-tested',
      summary: `the server chose ${f.suite}: an RSA key exchange signs nothing`,
      evidence,
    };
  return { status: 'pass', summary: `signed with ${f.signature.name}; SHA-1 and SHA-224 not used`, evidence };
}

function describe(o: RawHelloOutcome): string {
  if (o.kind !== 'hello') return o.reason;
  return o.facts.signature ? `signed with ${o.facts.signature.name}` : `${o.facts.suite}, no signature`;
}
