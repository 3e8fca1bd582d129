import { LineClient, MailboxStop, type LineClientOptions } from './line-client.js';

/** A service port to talk to: where, and whether TLS comes first (993, 995, 465) or by command. */
export interface ServiceEndpoint {
  host: string;
  address: string;
  port: number;
  implicitTls: boolean;
}

export interface Limits {
  waitMs: number;
  signal?: AbortSignal;
}

/** What one conversation with a mailbox port showed; the audit's check judges it. */
export interface MailboxConversation {
  /** Set when the conversation ended before the script did (refused, silent, a flood ...). */
  stop: MailboxStop | undefined;
  /** TCP (and for implicit TLS the handshake) succeeded. */
  connected: boolean;
  greeting: string | undefined;
  /** Before TLS: IMAP CAPABILITY atoms or POP3 CAPA tags, upper-cased; undefined when none were read. */
  capabilities: string[] | undefined;
  /** POP3: the server's answer to USER (a made-up user) before TLS. */
  userReply: string | undefined;
  /** STARTTLS/STLS: 'done' after a finished handshake, else the refusal or error; undefined when not tried. */
  tls: string | undefined;
  transcript: string[];
  /** Bytes the server sent. */
  bytes: number;
}

/** No real line of these protocols comes near: a greeting or capability flood ends here. */
export const MAX_LINE = 8 * 1024;
export const MAX_BYTES = 64 * 1024;

/** Opens, runs `script`, and always closes; a stop becomes data, never a throw. */
export async function converse(
  e: ServiceEndpoint,
  limits: Limits,
  script: (c: LineClient, facts: MailboxConversation) => Promise<void>,
): Promise<MailboxConversation> {
  const facts: MailboxConversation = {
    stop: undefined,
    connected: false,
    greeting: undefined,
    capabilities: undefined,
    userReply: undefined,
    tls: undefined,
    transcript: [],
    bytes: 0,
  };
  const options: LineClientOptions = {
    address: e.address,
    port: e.port,
    servername: e.host,
    implicitTls: e.implicitTls,
    waitMs: limits.waitMs,
    ...(limits.signal ? { signal: limits.signal } : {}),
    maxLine: MAX_LINE,
    maxBytes: MAX_BYTES,
  };
  let client: LineClient | undefined;
  try {
    client = await LineClient.open(options);
    facts.connected = true;
    await script(client, facts);
  } catch (err) {
    if (!(err instanceof MailboxStop)) throw err;
    facts.stop = err;
  } finally {
    if (client) {
      facts.transcript = client.transcript;
      facts.bytes = client.read;
      client.close();
    }
  }
  return facts;
}

/** Runs a step that starts TLS by command: 'done', or why not (a stop in the handshake is the answer, not the end). */
export async function upgrade(c: LineClient): Promise<string> {
  try {
    await c.startTls();
    return 'done';
  } catch (err) {
    if (err instanceof MailboxStop && err.kind === 'tls') return err.message;
    throw err;
  }
}
