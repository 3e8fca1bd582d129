import type { Finding } from '../dns/checks/finding.js';
import type { MxReport } from '../dns/mx.js';
import type { Paint } from './paint.js';
import { printable } from './printable.js';

/** mx-lookup for people: the mail hosts with their addresses, then each check's finding. */
const MARK = { pass: '✔', warn: '⚠', fail: '✖', absent: '–' };

export function renderMx(r: MxReport | undefined, findings: Finding[], c: Paint): string {
  const out: string[] = [];
  if (r) out.push(...renderHosts(r, c));
  for (const f of findings) {
    const paint = { pass: c.green, warn: c.yellow, fail: c.red, absent: c.dim }[f.status];
    out.push(paint(`${MARK[f.status]} ${f.check.padEnd(8)} ${printable(f.summary)}`));
    for (const rec of f.records) out.push(c.dim(`    record: ${printable(rec)}`));
    for (const d of f.details) out.push(c.dim(`    # ${printable(d)}`));
  }
  return `${out.join('\n')}\n`;
}

function renderHosts(r: MxReport, c: Paint): string[] {
  const out: string[] = [];
  out.push(
    c.blue(`=== Mail hosts of ${printable(r.domain)}${r.authenticated ? ' (DNSSEC-validated by the resolver)' : ''}`),
  );
  if (r.adCaveat) out.push(c.yellow(`!!! ${printable(r.adCaveat)}`));
  if (r.kind === 'null') out.push(`    0 .   null MX: this domain declares that it accepts no mail`);
  let previous: number | undefined;
  for (const h of r.hosts) {
    const same = previous === h.preference ? c.dim('  (same preference: senders pick among these at random)') : '';
    previous = h.preference;
    out.push(
      `  ${String(h.preference).padStart(5)}  ${printable(h.exchange)}${h.ttl !== undefined ? c.dim(`  TTL ${h.ttl}`) : c.dim('  (implicit MX)')}${same}`,
    );
    for (const a of h.addresses) {
      const ptr = a.ptr
        ? `  PTR ${a.ptr.length ? printable(a.ptr.join(', ')) : '(none)'}${a.fcrdns ? ' (forward-confirmed)' : ''}`
        : '';
      out.push(
        `           ${a.family === 4 ? 'A   ' : 'AAAA'}  ${printable(a.address)}${c.dim(`  TTL ${a.ttl}`)}${ptr}`,
      );
    }
    for (const p of h.problems) out.push(c.yellow(`!!! ${printable(h.exchange)}: ${printable(p)}`));
  }
  return out;
}
