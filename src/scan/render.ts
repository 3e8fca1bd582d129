import type { Paint } from '../render/paint.js';
import { printable } from '../render/printable.js';
import type { ScanResult } from './scan.js';

/** The scan as a table for people, in sslscan's vocabulary (Accepted/Preferred, bits, names). */
export function scanReport(r: ScanResult, c: Paint): string {
  let out = `${c.bold('TLS scan')}\n  protocols:\n`;
  for (const p of r.protocols) {
    const state =
      p.accepted === null
        ? c.dim('not tested')
        : p.accepted
          ? p.version === 'TLSv1.0' || p.version === 'TLSv1.1'
            ? c.yellow('accepted (deprecated)')
            : c.green('accepted')
          : 'refused';
    out += `    ${p.version.padEnd(8)} ${state}${p.accepted === null && p.note ? c.dim(` (${printable(p.note)})`) : ''}\n`;
  }
  for (const p of r.protocols) {
    if (!p.ciphers.length) continue;
    const order = p.serverOrder === true ? 'server order' : p.serverOrder === false ? 'client order' : 'order unknown';
    out += `  ${p.version} cipher suites (${p.ciphers.length}, ${order}):\n`;
    const ranked = p.serverOrder
      ? p.preferred.map((n) => p.ciphers.find((x) => x.name === n)!).filter(Boolean)
      : p.ciphers;
    const width = Math.max(...ranked.map((x) => x.name.length));
    for (const [i, x] of ranked.entries()) {
      const mark = p.serverOrder && i === 0 ? 'Preferred' : 'Accepted ';
      const line = `    ${mark} ${String(x.bits).padStart(3)} bits  ${x.name.padEnd(width)}  ${(x.group ?? '').padEnd(12)}`;
      out += x.weak ? `${c.yellow(line)}  ${c.yellow(x.weaknesses.join(', '))}\n` : `${line}\n`;
    }
  }
  if (r.groups.length) out += `  key exchange groups: ${r.groups.map((g) => `${g.version} ${g.name}`).join(', ')}\n`;
  if (r.certificate) out += `  certificate key: ${r.certificate.key}\n`;
  out += `  findings:\n`;
  const paint = { fail: c.red, warn: c.yellow, info: c.dim };
  for (const f of r.findings)
    out += `    ${paint[f.severity](`${f.severity.toUpperCase().padEnd(4)} ${f.code}`)}: ${printable(f.message)}\n`;
  if (!r.findings.length) out += '    none\n';
  out += c.dim(`  ${r.handshakes} handshakes in ${r.durationMs} ms\n`);
  return out;
}
