import type { ScanResult } from '../scan/scan.js';
import type { Output, OutputSpec } from './output.js';
import type { Paint } from './paint.js';
import { printable } from './printable.js';

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

/** The table for people; nothing for --json (the result goes in the document) or --quiet. */
export function writeScan(output: Output, show: Readonly<Pick<OutputSpec, 'json' | 'quiet'>>, r: ScanResult): void {
  if (show.json || show.quiet) return;
  output.stdout.write(scanReport(r, output.paint));
}

/** The scan in the outcome line: versions accepted, pairs tried, findings. */
export function scanSummary(r: ScanResult): string {
  const accepted = r.protocols.filter((p) => p.accepted).map((p) => p.version);
  const n = (s: string) => r.findings.filter((f) => f.severity === s).length;
  return `scan: ${accepted.join(', ') || 'no version'} accepted; ${r.protocols.reduce((a, p) => a + p.ciphers.length, 0)} version/suite pairs; ${n('fail')} failed, ${n('warn')} warnings`;
}
