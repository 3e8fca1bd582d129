/**
 * The sink as a mail catcher in tests: a sink with its store and HTTP API in this process,
 * a message delivered over SMTP, JSON read back, the API's address of a sink run as a process.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';
import {
  createSinkApi,
  MessageStore,
  Sink,
  withSinkDefaults,
  type SinkApiOptions,
  type SinkOptions,
  type StoreOptions,
} from '../../src/index.js';
import { envelope, rawClient } from './abusive-clients.js';
import type { SinkProcess } from './sink-process.js';

export interface Catcher {
  sink: Sink;
  store: MessageStore;
  api: http.Server;
  smtpPort: number;
  base: string;
  close(): Promise<void>;
}

const open = new Set<Catcher>();
after(async () => {
  for (const c of open) await c.close();
});

/** A sink with its store and HTTP API, in this process, both on free loopback ports. */
export async function catcher(
  opts: { sink?: Partial<SinkOptions>; store?: Partial<StoreOptions>; api?: Partial<SinkApiOptions> } = {},
): Promise<Catcher> {
  const sink = new Sink(withSinkDefaults({ transcript: true, keepMessages: true, ...opts.sink }));
  const smtpPort = await sink.listen();
  const store = new MessageStore(opts.store);
  store.attach(sink);
  const api = createSinkApi(sink, store, opts.api);
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const c: Catcher = {
    sink,
    store,
    api,
    smtpPort,
    base: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
    close: async () => {
      open.delete(c);
      api.close();
      api.closeAllConnections();
      await sink.close();
    },
  };
  open.add(c);
  return c;
}

/** One message over SMTP (`data` has no line starting with a dot); resolves with its queue id. */
export async function deliver(port: number, to: string, data: string): Promise<string> {
  const c = await rawClient(port);
  try {
    await envelope(c, to);
    await c.send('DATA\r\n');
    await c.waitFor(/^354 /m);
    await c.send(`${data}\r\n.\r\n`);
    const id = /queued as ([0-9A-F]+)/.exec(await c.waitFor(/queued as [0-9A-F]+/))![1]!;
    await c.send('QUIT\r\n');
    return id;
  } finally {
    c.destroy();
  }
}

export const message = (subject: string, extra = '') =>
  `From: App <app@shop.test>\r\nTo: Customer <c@example.test>\r\nSubject: ${subject}\r\n${extra}\r\nHello.\r\n`;

export async function getJson(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: any; headers: Headers; text: string }> {
  const r = await fetch(url, init);
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined, headers: r.headers, text };
}

/** The API's address, from the line the sink prints after its SMTP port. */
export async function apiBase(sink: SinkProcess): Promise<string> {
  const until = Date.now() + 5000;
  for (;;) {
    const m = /HTTP API on (http:\/\/(?:127\.0\.0\.1|\[::1\]):\d+)\/api\/v1\/messages/.exec(
      sink.stdout() + sink.stderr(),
    );
    if (m) return m[1]!;
    if (Date.now() > until) throw new Error(`no HTTP API line: ${sink.stdout()}${sink.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
