import { isIP } from 'node:net';
import { fieldValue, headerText, type HeaderField } from '../dkim/fields.js';

/** What the receiving side wrote about its client in the topmost Received: field (RFC 5321 §4.4). */
export interface ReceivedClient {
  /** The client's address from the "from" clause's address literal, e.g. `from x (x [192.0.2.1])`. */
  ip: string | undefined;
  /** The name the client gave in HELO/EHLO: the first word of the "from" clause, or Exim's `helo=`. */
  helo: string | undefined;
  /** The field, unfolded, so the reader sees what it was taken from. */
  field: string;
}

/**
 * The topmost Received: field is the one the receiving side wrote (each hop adds its own
 * on top); its "from" clause names the client as the receiver saw it (the TCP address in
 * brackets) and as it named itself (the HELO name). Anything further down was written by
 * hosts the receiver cannot vouch for.
 */
export function receivedClient(fields: HeaderField[]): ReceivedClient | undefined {
  const top = fields.find((f) => f.name.toLowerCase() === 'received');
  if (!top) return undefined;
  const value = headerText(fieldValue(top)).replace(/\s+/g, ' ');
  // The "from" clause: up to " by ", " via ", " with ", " id ", " for " or ";".
  const from = /^\s*from\s+(.*?)(?:\s+(?:by|via|with|id|for)\s|;|$)/i.exec(value);
  if (!from) return { ip: undefined, helo: undefined, field: value };
  const clause = from[1]!;
  let ip: string | undefined;
  for (const m of clause.matchAll(/\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]/g)) {
    if (isIP(m[1]!)) {
      ip = m[1]!;
      break;
    }
  }
  const first = /^(\S+)/.exec(clause)?.[1];
  const exim = /\bhelo=([^\s)\]]+)/i.exec(clause)?.[1];
  const helo = exim ?? (first && !first.startsWith('[') && !first.startsWith('(') ? first : undefined);
  return { ip, helo, field: value };
}

/** The Return-Path: field the delivering MTA adds with the envelope sender (RFC 5321 §4.4); `<>` is the null sender. */
export function returnPath(fields: HeaderField[]): string | undefined {
  const f = fields.find((x) => x.name.toLowerCase() === 'return-path');
  if (!f) return undefined;
  const v = headerText(fieldValue(f));
  return (/<([^<>]*)>/.exec(v)?.[1] ?? v).trim();
}
