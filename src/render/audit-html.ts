import {
  GROUP_TITLES,
  SEVERITY,
  testedText,
  type AuditFinding,
  type AuditReport,
  type AuditChange,
} from './audit-report.js';
import { AUDIT_MARKS, findingName } from './audit-text.js';
import { printable } from './printable.js';

/** Text for HTML: controls shown as \xNN (as on a terminal), then the five entities. */
const h = (s: string) =>
  printable(s).replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!,
  );

const STATUS_WORD = { pass: 'pass', warn: 'warning', fail: 'fail', 'not-tested': 'not tested' } as const;
const scoreText = (s: number | null) => (s === null ? 'no score' : `${s}/100`);

// No external resource, no script: the Content-Security-Policy forbids both, so the file
// opened anywhere (a mail attachment, a CI artefact) makes no request.
const CSS = `
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1b1b1b;background:#fff}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.25rem;margin:2rem 0 .6rem;border-bottom:2px solid #ddd}
h3{font-size:1rem;margin:0}
nav ol{padding-left:1.2rem}nav li{margin:.15rem 0}
.score{font-weight:700}
.finding{border-left:6px solid #999;padding:.4rem .8rem;margin:.5rem 0;background:#fafafa;break-inside:avoid}
.pass{border-color:#2e7d32}.warn{border-color:#ed6c02}.fail{border-color:#c62828}.not-tested{border-color:#9e9e9e}
.mark{display:inline-block;width:1.3em}.pass .mark{color:#2e7d32}.warn .mark{color:#ed6c02}.fail .mark{color:#c62828}
.meta{color:#555;font-size:.9em;margin:.2rem 0}
.evidence{margin:.3rem 0 0;padding-left:1.2rem;font:13px/1.35 ui-monospace,monospace;overflow-wrap:anywhere}
.fix{margin:.3rem 0 0}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
@media print{body{margin:0;max-width:none;font-size:11pt}nav{break-after:page}a{color:inherit;text-decoration:none}.finding{background:none}}
`;

function finding(f: AuditFinding, id: string): string {
  return `<article class="finding ${f.status}" id="${id}" data-check="${h(`${f.group}/${f.check}`)}">
<h3><span class="mark" aria-hidden="true">${AUDIT_MARKS[f.status]}</span>${h(findingName(f))} <small>(${STATUS_WORD[f.status]})</small></h3>
<p>${h(f.summary)}</p>
<p class="meta">Reference: ${h(f.reference)}</p>
${f.fix ? `<p class="fix"><strong>Fix:</strong> ${h(f.fix)}</p>` : ''}
${f.evidence.length ? `<ul class="evidence">${f.evidence.map((e) => `<li>${h(e)}</li>`).join('')}</ul>` : ''}
</article>`;
}

/**
 * The audit as one self-contained HTML file: a table of contents by group, the worst
 * findings first, then every finding with its evidence, reference and fix. Every value is
 * escaped; nothing is loaded from elsewhere and nothing needs a script.
 */
export function auditHtml(r: AuditReport, changes: AuditChange[] | null = null): string {
  const ids = new Map(r.findings.map((f, i) => [f, `f${i + 1}`] as const));
  const worst = r.findings
    .filter((f) => f.status === 'fail' || f.status === 'warn')
    .sort((a, b) => SEVERITY[a.status] - SEVERITY[b.status]);
  const title = `Mail audit of ${r.domain}`;
  const groups = r.groups
    .map(
      (g) => `<section id="group-${g.group}">
<h2>${h(GROUP_TITLES[g.group])} — <span class="score">${scoreText(g.score)}</span> (${testedText(g)})</h2>
<p class="meta">${g.pass} pass, ${g.warn} warning, ${g.fail} fail, ${g.notTested} not tested</p>
${r.findings
  .filter((f) => f.group === g.group)
  .map((f) => finding(f, ids.get(f)!))
  .join('\n')}
</section>`,
    )
    .join('\n');
  const changeTable = changes
    ? `<section id="changes"><h2>Changes since the baseline</h2>${
        changes.length
          ? `<table><tr><th>check</th><th>before</th><th>after</th><th></th></tr>${changes
              .map(
                (c) =>
                  `<tr><td>${h(c.key)}</td><td>${h(c.before ?? 'absent')}</td><td>${h(c.after ?? 'absent')}</td><td>${c.worse ? 'worse' : ''}</td></tr>`,
              )
              .join('')}</table>`
          : '<p>No change.</p>'
      }</section>`
    : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${h(title)}</h1>
<p>Overall score <span class="score" id="overall">${scoreText(r.score)}</span> · SMTP port ${r.port} · started ${h(r.startedAt)} · ${(r.durationMs / 1000).toFixed(1)} s${r.deadlineExceeded ? ' · <strong>the time limit ran out: cut checks are not tested</strong>' : ''}</p>
</header>
<nav aria-label="Contents"><h2>Contents</h2><ol>
<li><a href="#worst">Worst findings first</a> (${worst.length})</li>
${r.groups.map((g) => `<li><a href="#group-${g.group}">${h(GROUP_TITLES[g.group])}</a> — ${scoreText(g.score)} (${testedText(g)})</li>`).join('\n')}
${changes ? '<li><a href="#changes">Changes since the baseline</a></li>' : ''}
</ol></nav>
<section id="worst"><h2>Worst findings first</h2>
${worst.length ? `<ol>${worst.map((f) => `<li class="${f.status}"><a href="#${ids.get(f)}">${AUDIT_MARKS[f.status]} ${h(findingName(f))}</a>: ${h(f.summary)}</li>`).join('\n')}</ol>` : '<p>No failure and no warning.</p>'}
</section>
${groups}
${changeTable}
<footer><p class="meta">smtpkit audit · every finding names the rule it follows; “not tested” says why.</p></footer>
</body>
</html>
`;
}
