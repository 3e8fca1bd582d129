/** One metric family in the Prometheus text format (0.0.4): HELP and TYPE once, then samples. */
export interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: { labels?: Record<string, string>; value: number }[];
}

/** Label values may hold anything a server sent: escape backslash, quote and line feed. */
const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const number = (v: number) => (Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN');

export function renderFamilies(families: Family[]): string {
  let out = '';
  for (const f of families) {
    if (!f.samples.length) continue;
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`;
    for (const s of f.samples) {
      const labels =
        s.labels && Object.keys(s.labels).length
          ? `{${Object.entries(s.labels)
              .map(([k, v]) => `${k}="${escape(v)}"`)
              .join(',')}}`
          : '';
      out += `${f.name}${labels} ${number(s.value)}\n`;
    }
  }
  return out;
}

/** The Content-Type of the text format. */
export const TEXT_FORMAT = 'text/plain; version=0.0.4; charset=utf-8';
