import { explainReply } from '../explain/explain.js';
import type { Capabilities } from '../protocol/capabilities.js';
import type { SmtpEvent, Timings } from '../session/events.js';
import type { TlsFacts } from '../session/tls-facts.js';
import { version } from '../version.js';
import type { Outcome } from './outcome.js';

/** Bumped when a field changes meaning or disappears; new fields do not bump it. */
export const JSON_SCHEMA = 'smtpkit/1';

/** What every JSON document starts with, whatever the command. */
export interface Envelope {
  schema: typeof JSON_SCHEMA;
  tool: { name: 'smtpkit'; version: string };
  command: string;
  /** The server, domain or targets the command was about; null when there is none. */
  target: unknown;
  outcome: Outcome;
}

/**
 * One JSON document: the envelope, then the command's own fields. JSON.stringify leaves
 * DEL, C1 and the bidi controls raw; they become \u escapes here, so a document shown on a
 * terminal is as safe as the transcript and still parses to the same strings.
 */
export function jsonDocument(
  command: string,
  target: unknown,
  outcome: Outcome,
  fields: Record<string, unknown>,
  indent: number | undefined = 2,
): string {
  const envelope: Envelope = {
    schema: JSON_SCHEMA,
    tool: { name: 'smtpkit', version: version() },
    command,
    target: target ?? null,
    outcome,
  };
  return `${jsonText({ ...envelope, ...fields }, indent)}\n`;
}

/**
 * One JSON document written as it is made (probe's thousands of results): the envelope and
 * `head` first, then the items of the array `name` one at a time, and `tail` last, the
 * outcome among it (known only at the end). It parses to what jsonDocument would give.
 */
export function jsonStream(command: string, target: unknown, head: Record<string, unknown>, name: string) {
  let items = 0;
  const opening = jsonText(
    { schema: JSON_SCHEMA, tool: { name: 'smtpkit', version: version() }, command, target: target ?? null, ...head },
    2,
  );
  return {
    start: () => `${opening.slice(0, -2)},\n  ${JSON.stringify(name)}: [`,
    item: (value: unknown) => `${items++ ? ',' : ''}\n    ${jsonText(value, 2).replace(/\n/g, '\n    ')}`,
    end: (tail: { outcome: Outcome } & Record<string, unknown>) =>
      `${items ? '\n  ' : ''}],\n${jsonText(tail, 2).slice(2)}\n`,
  };
}

/** JSON text with every character a terminal could act on written as a \u escape. */
export function jsonText(value: unknown, indent?: number): string {
  // eslint-disable-next-line no-control-regex
  return JSON.stringify(value, null, indent).replace(
    /[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Command-specific findings of a session (send: recipients, queue id): JSON's `result`. */
export type SessionResult = Record<string, unknown>;

export interface SessionReport {
  command: string;
  target: { host: string; port: number } | undefined;
  startedAt: string;
  outcome: Outcome;
  events: SmtpEvent[];
  capabilities: Capabilities | undefined;
  tls: TlsFacts | undefined;
  timings: Timings;
  result: SessionResult;
}

/** One JSON document per session; replies carry their explanation so machines get it too. */
export function jsonReport(r: SessionReport, _version?: string): string {
  const events = r.events.map((e) =>
    e.type === 'reply' ? { ...e, explanation: explainReply(e.reply, e.command, e.tls) } : e,
  );
  const caps = r.events.filter((e): e is Extract<SmtpEvent, { type: 'capabilities' }> => e.type === 'capabilities');
  const greeting = r.events.find((e) => e.type === 'reply' && e.command === 'CONNECT');
  return jsonDocument(r.command, r.target, r.outcome, {
    startedAt: r.startedAt,
    greeting: greeting?.type === 'reply' ? greeting.reply : null,
    capabilities: r.capabilities ?? null,
    capabilitiesBeforeTls: caps.length > 1 ? (caps.find((c) => !c.tls)?.capabilities ?? null) : null,
    tls: r.tls ?? null,
    timings: r.timings,
    result: r.result,
    events,
  });
}
