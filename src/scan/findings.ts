import { SUITES, weaknesses } from './ciphers.js';
import type { Finding, ScanResult } from './result.js';

/** The verdicts on a scan: what a reviewer would flag, worst first. */
export function judge(r: Omit<ScanResult, 'findings'>): Finding[] {
  const out: Finding[] = [];
  const accepted = r.protocols.filter((p) => p.accepted).map((p) => p.version);
  const old = accepted.filter((v) => v === 'TLSv1.0' || v === 'TLSv1.1');
  if (!accepted.includes('TLSv1.2') && !accepted.includes('TLSv1.3'))
    out.push({
      severity: 'fail',
      code: 'no-modern-protocol',
      check: 'tls-protocols',
      message: accepted.length
        ? `neither TLS 1.2 nor 1.3 is accepted (only ${accepted.join(', ')})`
        : 'no TLS version is accepted',
    });
  if (old.length)
    out.push({
      severity: 'warn',
      code: 'deprecated-protocol',
      check: 'tls-protocols',
      message: `${old.join(' and ')} accepted: deprecated by RFC 8996`,
    });
  for (const p of r.protocols)
    if (p.accepted === null)
      out.push({
        severity: 'info',
        code: 'untested-protocol',
        check: 'tls-protocols',
        message: `${p.version} ${p.note ?? 'not tested'}`,
      });

  // One finding per weakness, naming the suites (once, whichever versions carry them).
  const byReason = new Map<string, { severity: 'fail' | 'warn'; names: Set<string> }>();
  for (const p of r.protocols) {
    for (const c of p.ciphers) {
      const suite = SUITES.find((s) => s.name === c.name);
      for (const { reason, severity } of suite ? weaknesses(suite) : []) {
        const entry = byReason.get(reason) ?? { severity, names: new Set<string>() };
        entry.names.add(c.name);
        byReason.set(reason, entry);
      }
    }
  }
  for (const [reason, { severity, names }] of byReason) {
    const list = [...names];
    const code = reason.startsWith('no forward secrecy') ? 'no-forward-secrecy' : 'weak-cipher';
    out.push({
      severity,
      code,
      check: 'tls-ciphers',
      message: `${reason}: ${list.length} suite${list.length === 1 ? '' : 's'} accepted (${list.slice(0, 6).join(', ')}${list.length > 6 ? ', ...' : ''})`,
    });
  }
  const rsa = /^RSA (\d+)/.exec(r.certificate?.key ?? '');
  if (rsa && Number(rsa[1]) < 2048)
    out.push({
      severity: 'fail',
      code: 'weak-key',
      check: 'tls-ciphers',
      message: `the certificate key is ${r.certificate!.key}: RSA keys need at least 2048 bits`,
    });
  if (r.untested.length)
    out.push({
      severity: 'info',
      code: 'untested-ciphers',
      check: 'tls-ciphers',
      message: `${r.untested.length} legacy suites could not be offered by this OpenSSL and were not tested (${r.untested.slice(0, 4).join(', ')}${r.untested.length > 4 ? ', ...' : ''})`,
    });
  const rank = { fail: 0, warn: 1, info: 2 };
  return out.sort((a, b) => rank[a.severity] - rank[b.severity]);
}

/** A probe check's verdict from the findings that belong to it. */
export function checkVerdict(findings: Finding[], check: Finding['check']): 'pass' | 'warn' | 'fail' {
  const mine = findings.filter((f) => f.check === check);
  return mine.some((f) => f.severity === 'fail') ? 'fail' : mine.some((f) => f.severity === 'warn') ? 'warn' : 'pass';
}
