import type { ProbeResult } from './result.js';

export { renderFamilies, type Family } from '../util/prometheus-text.js';
import type { Family } from '../util/prometheus-text.js';

const seconds = (ms: number) => Math.round(ms * 1000) / 1e6;

const STATUSES = ['pass', 'warn', 'fail', 'inconclusive'] as const;

/**
 * A probe's metrics as blackbox_exporter shapes them: success, durations, each check as a
 * state set (one sample per status, 1 for the one it has), TLS version, certificate expiry.
 * `extra` labels tell targets apart when several share one file (textfile collector).
 */
export function probeFamilies(
  results: ProbeResult[],
  extra: (r: ProbeResult) => Record<string, string> = () => ({}),
): Family[] {
  const fam = (name: string, help: string): Family => ({ name, help, type: 'gauge', samples: [] });
  const success = fam(
    'smtpkit_probe_success',
    'Whether the probe succeeded (1: no check failed and nothing stopped it)',
  );
  const duration = fam('smtpkit_probe_duration_seconds', 'How long the whole probe took');
  const exit = fam(
    'smtpkit_probe_exit_code',
    'The exit code smtpkit probe would give (0 ok, 1 a check failed, 4 connect, 5 protocol, 6 TLS ...)',
  );
  const phases = fam('smtpkit_probe_phase_duration_seconds', 'Duration of each phase of the probe');
  const checks = fam('smtpkit_probe_check', 'Each named check of the probe: 1 for its status, 0 for the others');
  const tls = fam('smtpkit_tls_version_info', 'The TLS version the probe negotiated');
  const expiry = fam(
    'smtpkit_certificate_expiry_timestamp_seconds',
    'When the server certificate (leaf) expires, in Unix seconds',
  );
  for (const r of results) {
    const base = extra(r);
    success.samples.push({ labels: base, value: r.exitCode === 0 ? 1 : 0 });
    duration.samples.push({ labels: base, value: seconds(r.totalMs) });
    exit.samples.push({ labels: base, value: r.exitCode });
    for (const [phase, ms] of Object.entries(r.timings))
      phases.samples.push({ labels: { ...base, phase }, value: seconds(ms) });
    const all = [
      ...r.checks.map((c) => ({ name: c.name, status: c.status as string })),
      ...(r.error ? [{ name: r.error.phase ?? 'probe', status: 'fail' }] : []),
    ];
    for (const c of all)
      for (const status of STATUSES)
        checks.samples.push({ labels: { ...base, check: c.name, status }, value: c.status === status ? 1 : 0 });
    // The last handshake's facts: the result keeps them, so its events need not be kept.
    const facts = r.tls;
    if (facts) {
      tls.samples.push({ labels: { ...base, version: facts.protocol, cipher: facts.cipher }, value: 1 });
      const leaf = facts.chain[0];
      if (leaf) expiry.samples.push({ labels: base, value: Math.floor(Date.parse(leaf.validTo) / 1000) });
    }
  }
  return [success, duration, exit, phases, checks, tls, expiry];
}
