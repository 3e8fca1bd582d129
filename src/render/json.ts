import { explainReply } from '../explain/explain.js';
import type { Capabilities } from '../protocol/capabilities.js';
import type { SmtpEvent, Timings } from '../session/events.js';
import type { TlsFacts } from '../session/tls-facts.js';
import type { Outcome } from './outcome.js';

/** Bumped when a field changes meaning or disappears; new fields do not bump it. */
export const JSON_SCHEMA = 'smtpkit/1';

export interface SessionReport {
  command: string;
  target: { host: string; port: number } | undefined;
  startedAt: string;
  outcome: Outcome;
  events: SmtpEvent[];
  capabilities: Capabilities | undefined;
  tls: TlsFacts | undefined;
  timings: Timings;
  /** Command-specific findings (send: recipients, queue id). */
  result: Record<string, unknown>;
}

/** One JSON document per run; replies carry their explanation so machines get it too. */
export function jsonReport(r: SessionReport, version: string): string {
  const events = r.events.map((e) => (e.type === 'reply' ? { ...e, explanation: explainReply(e.reply, e.command, e.tls) } : e));
  const caps = r.events.filter((e): e is Extract<SmtpEvent, { type: 'capabilities' }> => e.type === 'capabilities');
  const greeting = r.events.find((e) => e.type === 'reply' && e.command === 'CONNECT');
  return `${JSON.stringify(
    {
      schema: JSON_SCHEMA,
      tool: { name: 'smtpkit', version },
      command: r.command,
      target: r.target ?? null,
      startedAt: r.startedAt,
      outcome: r.outcome,
      greeting: greeting?.type === 'reply' ? greeting.reply : null,
      capabilities: r.capabilities ?? null,
      capabilitiesBeforeTls: caps.length > 1 ? (caps.find((c) => !c.tls)?.capabilities ?? null) : null,
      tls: r.tls ?? null,
      timings: r.timings,
      result: r.result,
      events,
    },
    null,
    2,
  )}\n`;
}
