import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { explainReply } from '../explain/explain.js';
import { durationMs } from '../util/duration.js';
import { renderFamilies, TEXT_FORMAT, type Family } from '../util/prometheus-text.js';
import { readMessage, attachmentData } from './mime-read.js';
import { parseRules } from './rules.js';
import type { Sink } from './server.js';
import type { MessageFilter, MessageStore, MessageSummary, StoreChange } from './store.js';
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from './web-page.js';
import { attachmentDisposition } from './download-name.js';
import { inertTags, inlineImages, messageFrameCsp, remoteImageCount } from './message-frame.js';

export interface SinkApiOptions {
  /** When set, every request but /healthz needs `Authorization: Bearer <token>`. */
  token: string | undefined;
  /** Requests served at once (a waiting /wait counts); one more gets 503. */
  maxConcurrent: number;
  /** Bytes of request line and headers; more gets 431. */
  maxHeaderBytes: number;
  /** Bytes of request body (only POST /api/v1/rules takes one); more gets 413. */
  maxBodyBytes: number;
  /** A client that has not sent its whole header block (or request) in this time gets 408. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** The longest /wait a client may ask for. */
  maxWaitMs: number;
  /** Bytes of events an /api/v1/events client may leave unread; past them its stream is cut. */
  maxEventBacklog: number;
}

export const SINK_API_DEFAULTS: SinkApiOptions = {
  token: undefined,
  maxConcurrent: 64,
  maxHeaderBytes: 16 * 1024,
  maxBodyBytes: 64 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  maxWaitMs: 300_000,
  maxEventBacklog: 1024 * 1024,
};

const DEFAULT_WAIT_MS = 10_000;
/** An idle event stream gets a comment this often, so proxies and the page see it is alive. */
const EVENT_KEEPALIVE_MS = 15_000;

/** The page's own answers: its files only, from this origin only; no inline script or style; never framed. */
const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** Everything else the API answers is data: nothing in it may run or be framed, if a browser is pointed at it. */
const DATA_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox";
/** The page and its two files: they hold no message data, so they need no token. */
const PAGE_FILES: Record<string, [body: string, type: string]> = {
  '/': [PAGE_HTML, 'text/html; charset=utf-8'],
  '/app.js': [PAGE_JS, 'text/javascript; charset=utf-8'],
  '/app.css': [PAGE_CSS, 'text/css; charset=utf-8'],
};
/** A Host header naming this machine's loopback (with a port or not). */
const LOOPBACK_HOST = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost)(?::\d{1,5})?$/i;
/** A message's parts the page links to (an iframe, a download) carry a key, as no header can go with them. */
const KEYED = /^\/api\/v1\/messages\/([^/]+)\/(?:html|raw|attachments\/\d{1,6})$/;
const DEFAULT_LIST_LIMIT = 100;
const FILTERS = ['to', 'from', 'subject', 'since'];

/**
 * JSON for the API: JSON.stringify escapes quotes and controls; `<`, `>`, `&`, U+2028/9,
 * DEL, C1 and the bidi controls become \u escapes too, so text a client sent can neither be
 * read as markup by a browser that sniffs nor reorder a terminal line that shows it.
 */
export function apiJson(value: unknown): string {
  // eslint-disable-next-line no-control-regex
  return JSON.stringify(value).replace(
    /[<>&\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

interface Route {
  pattern: RegExp;
  /** Method → handler; GET routes answer HEAD too. */
  methods: Record<
    string,
    (req: http.IncomingMessage, res: http.ServerResponse, url: URL, params: string[]) => void | Promise<void>
  >;
}

/**
 * The sink's HTTP API (for CI jobs that assert on the mail an app sent): messages newest
 * first, one message parsed or byte-exact, the SMTP conversation that delivered it with
 * every reply explained, a long-poll for the next matching message, deletes, health and
 * Prometheus metrics. Same discipline as the exporter: bounded headers and bodies, timeouts
 * on slow clients, bounded concurrency; every answer, errors included, is JSON (metrics and
 * raw messages aside).
 */
export function createSinkApi(sink: Sink, store: MessageStore, init: Partial<SinkApiOptions> = {}): http.Server {
  const o: SinkApiOptions = { ...SINK_API_DEFAULTS, ...init };
  const counts = { requests: 0, busy: 0, unauthorized: 0 };
  let inFlight = 0;
  const tokenHash = o.token === undefined ? undefined : createHash('sha256').update(o.token).digest();

  const rawJson = (res: http.ServerResponse, status: number, text: string, headers: Record<string, string> = {}) => {
    const body = `${text}\n`;
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      ...headers,
    });
    res.end(body);
  };
  const json = (res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) =>
    rawJson(res, status, apiJson(value), headers);
  const rendered = new WeakMap<MessageSummary, string>();
  const summaryJson = (m: MessageSummary) => {
    let text = rendered.get(m);
    if (text === undefined) rendered.set(m, (text = apiJson(m)));
    return text;
  };

  const message = (id: string) => {
    const m = store.get(id);
    if (!m)
      throw new HttpError(
        404,
        `no message ${JSON.stringify(id)} (deleted, evicted past --max-messages, or never received)`,
      );
    return m;
  };

  const messageKey = (id: string) =>
    createHmac('sha256', tokenHash!).update(`message:${id}`).digest('hex').slice(0, 32);
  const keyFits = (url: URL): boolean => {
    const id = KEYED.exec(url.pathname)?.[1];
    const key = url.searchParams.get('key');
    if (!tokenHash || id === undefined || key === null || url.searchParams.getAll('key').length !== 1) return false;
    let decoded: string;
    try {
      decoded = decodeURIComponent(id);
    } catch {
      return false;
    }
    const want = Buffer.from(messageKey(decoded));
    const got = Buffer.from(key);
    return got.length === want.length && timingSafeEqual(got, want);
  };
  const streams = new Set<http.ServerResponse>();

  const routes: Route[] = [
    { pattern: /^\/healthz$/, methods: { GET: (_q, res) => json(res, 200, { status: 'ok', messages: store.size }) } },
    { pattern: /^\/metrics$/, methods: { GET: (_q, res) => send(res, 200, renderFamilies(metrics()), TEXT_FORMAT) } },
    {
      pattern: /^\/api\/v1\/messages$/,
      methods: {
        GET: (_q, res, url) => {
          const q = query(url, [...FILTERS, 'limit']);
          const limit = q.limit === undefined ? DEFAULT_LIST_LIMIT : wholeNumber(q.limit, 'limit');
          const { total, messages } = store.list(filterOf(q), limit);
          // Each summary is rendered once and kept: a list of 1,000 is then a join, not 1,000 renderings.
          const head = apiJson({ total, count: messages.length, stored: store.size, evicted: store.counts.evicted });
          rawJson(res, 200, `${head.slice(0, -1)},"messages":[${messages.map(summaryJson).join(',')}]}`);
        },
        DELETE: (_q, res, url) =>
          json(res, 200, { deleted: store.delete(filterOf(query(url, FILTERS))), stored: store.size }),
      },
    },
    {
      pattern: /^\/api\/v1\/messages\/([^/]+)$/,
      methods: {
        GET: (_q, res, url, [id]) => {
          query(url, []);
          const m = message(id!);
          const read = readMessage(m.raw);
          json(res, 200, {
            ...m.summary,
            headers: read.headers.map(([name, value]) => ({ name, value })),
            text: read.text,
            html: read.html,
            remoteImages: read.html === null ? 0 : remoteImageCount(read.html),
            attachments: read.attachments,
            unreadParts: read.unreadParts,
            // With --http-token: what /html, /raw and /attachments/N take as ?key= in place of the header.
            ...(tokenHash ? { key: messageKey(id!) } : {}),
          });
        },
        DELETE: (_q, res, url, [id]) => {
          query(url, []);
          message(id!);
          store.deleteOne(id!);
          json(res, 200, { deleted: 1, stored: store.size });
        },
      },
    },
    {
      pattern: /^\/api\/v1\/messages\/([^/]+)\/raw$/,
      methods: {
        // The bytes as received; text/plain with nosniff so a browser shows, never renders, them.
        GET: (_q, res, url, [id]) => {
          query(url, []);
          send(res, 200, message(id!).raw, 'text/plain');
        },
      },
    },
    {
      pattern: /^\/api\/v1\/messages\/([^/]+)\/html$/,
      methods: {
        // The HTML part alone, for the page's sandboxed iframe, under a policy that lets nothing in it run or load.
        GET: (req, res, url, [id]) => {
          const q = query(url, ['images']);
          if (q.images !== undefined && q.images !== '1')
            throw new HttpError(400, 'images takes 1 (show remote images)');
          const read = readMessage(message(id!).raw);
          if (read.html === null) throw new HttpError(404, `message ${id} has no HTML part`);
          const parts = new Map(
            read.attachments.flatMap((a) => (a.contentId ? [[a.contentId.toLowerCase(), a.index] as const] : [])),
          );
          const html = inlineImages(
            read.html,
            parts,
            (n) =>
              `/api/v1/messages/${encodeURIComponent(id!)}/attachments/${n}${tokenHash ? `?key=${messageKey(id!)}` : ''}`,
          );
          // A CSP source names the host: the one this request named, if it is a plain host[:port].
          const host = req.headers.host ?? '';
          const own = /^[a-z0-9.-]+(?::\d{1,5})?$|^\[[0-9a-f:.]+\](?::\d{1,5})?$/i.test(host)
            ? `http://${host}/api/v1/messages/${encodeURIComponent(id!)}/attachments/`
            : undefined;
          res.setHeader('content-security-policy', messageFrameCsp(q.images === '1', own));
          res.setHeader('referrer-policy', 'no-referrer');
          res.setHeader('x-frame-options', 'SAMEORIGIN');
          send(res, 200, inertTags(html), 'text/html; charset=utf-8');
        },
      },
    },
    {
      pattern: /^\/api\/v1\/events$/,
      methods: {
        // Server-sent events for the page's live list: `message` (a summary) and `deleted` (ids).
        GET: (req, res, url) => {
          query(url, []);
          res.writeHead(200, {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-store',
            connection: 'keep-alive',
          });
          res.write(`retry: 2000\n: ${store.size} message(s) stored\n\n`);
          const unwatch = store.watch((c: StoreChange) => {
            // A client that stops reading (a suspended tab) must not make the sink hold every event
            // for it: past the backlog its stream ends, and the page reconnects and reloads the list.
            if (res.writableEnded || res.destroyed) return; // ended by close(), its 'close' not yet come
            if (res.writableLength > o.maxEventBacklog) return res.destroy();
            res.write(
              `event: ${c.type}\ndata: ${c.type === 'message' ? summaryJson(c.message) : apiJson({ ids: c.ids })}\n\n`,
            );
          });
          const alive = setInterval(() => res.writableEnded || res.write(': keep-alive\n\n'), EVENT_KEEPALIVE_MS);
          streams.add(res);
          res.once('close', () => {
            unwatch();
            clearInterval(alive);
            streams.delete(res);
          });
          // Held open like a wait: the request's own timeout must not cut it.
          req.socket.setTimeout(0);
        },
      },
    },
    {
      pattern: /^\/api\/v1\/messages\/([^/]+)\/attachments\/(\d{1,6})$/,
      methods: {
        GET: (_q, res, url, [id, n]) => {
          query(url, []);
          const raw = message(id!).raw;
          const data = attachmentData(raw, Number(n));
          if (!data) throw new HttpError(404, `message ${id} has no attachment ${n} (they are numbered from 0)`);
          const part = readMessage(raw).attachments[Number(n)];
          res.setHeader('content-disposition', attachmentDisposition(part?.name ?? null, `attachment-${Number(n)}`));
          // A download, never a document: a sandbox here could stop the browser saving it.
          res.setHeader('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
          // A raster image keeps its type, so the message frame can show it (a cid: link); the
          // browser would refuse octet-stream as an image. Anything else (SVG too) is bytes.
          const type = part?.type.toLowerCase() ?? '';
          send(
            res,
            200,
            data,
            /^image\/(?:png|gif|jpeg|webp|avif|bmp)$/.test(type) ? type : 'application/octet-stream',
          );
        },
      },
    },
    {
      pattern: /^\/api\/v1\/messages\/([^/]+)\/session$/,
      methods: {
        GET: (_q, res, url, [id]) => {
          query(url, []);
          message(id!);
          const t = store.transcript(id!)!;
          const events = t.events.map((e) =>
            e.type === 'reply' ? { ...e, explanation: explainReply(e.reply, e.command, e.tls) } : e,
          );
          json(res, 200, { ...t, events });
        },
      },
    },
    {
      pattern: /^\/api\/v1\/rules$/,
      methods: {
        GET: (_q, res, url) => {
          query(url, []);
          json(res, 200, rulesView());
        },
        // Replaces the whole list (so one sink serves many test cases); a bad rule changes nothing.
        POST: async (req, res, url) => {
          query(url, []);
          // Also what keeps a web page elsewhere from posting here: a JSON body needs a CORS preflight, which gets no yes.
          if (!/^application\/json\s*(?:;|$)/i.test(req.headers['content-type'] ?? ''))
            throw new HttpError(415, `POST /api/v1/rules takes Content-Type: application/json, ${RULES_EXAMPLE}`);
          const body = await readBody(req);
          let value: unknown;
          try {
            value = JSON.parse(body.toString('utf8'));
          } catch {
            throw new HttpError(400, `the body is not JSON; send ${RULES_EXAMPLE}`);
          }
          const texts = (value as { rules?: unknown } | null)?.rules;
          if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string'))
            throw new HttpError(400, `send {"rules": [...]}, a list of rule strings, e.g. ${RULES_EXAMPLE}`);
          try {
            sink.setRules(parseRules(texts));
          } catch (err) {
            throw new HttpError(400, (err as Error).message);
          }
          json(res, 200, rulesView());
        },
      },
    },
    {
      pattern: /^\/api\/v1\/wait$/,
      methods: {
        GET: async (req, res, url) => {
          const q = query(url, [...FILTERS, 'timeout']);
          const timeoutMs = q.timeout === undefined ? DEFAULT_WAIT_MS : duration(q.timeout);
          if (timeoutMs > o.maxWaitMs)
            throw new HttpError(400, `timeout ${q.timeout} is over the limit of ${o.maxWaitMs / 1000}s`);
          const gone = new AbortController();
          res.once('close', () => gone.abort());
          const found = await store.wait(filterOf(q), timeoutMs, gone.signal);
          if (res.destroyed) return;
          if (!found)
            return json(
              res,
              408,
              { error: `no matching message within ${q.timeout ?? `${DEFAULT_WAIT_MS / 1000}s`}`, status: 408 },
              { connection: 'close' },
            );
          json(res, 200, { message: found });
        },
      },
    },
  ];

  const rulesView = () => ({
    rules: sink.rules.map((r) => ({ ...r, refused: sink.ruleRefusals.get(r.rule) ?? 0 })),
  });

  const metrics = (): Family[] => {
    const s = sink.stats;
    const counter = (name: string, help: string, value: number): Family => ({
      name,
      help,
      type: 'counter',
      samples: [{ value }],
    });
    return [
      counter('smtpkit_sink_messages_received_total', 'Messages accepted (answered 250)', s.messages),
      counter('smtpkit_sink_received_bytes_total', 'Bytes of accepted messages', s.bytes),
      counter('smtpkit_sink_sessions_total', 'SMTP sessions served', s.sessions),
      {
        name: 'smtpkit_sink_refused_total',
        help: 'Commands, messages or sessions refused, by the fault or limit that refused them',
        type: 'counter',
        samples: [
          { labels: { fault: 'reject-rcpt' }, value: s.rejected },
          { labels: { fault: 'tempfail-rate' }, value: s.tempfailed },
          { labels: { fault: 'max-size' }, value: s.oversized },
          { labels: { fault: 'save-failed' }, value: s.saveFailed },
          { labels: { fault: 'max-sessions' }, value: s.refusedSessions },
          { labels: { fault: 'min-rate' }, value: s.slowSessions },
          { labels: { fault: 'rate-limit' }, value: s.rateLimited },
          ...[...sink.ruleRefusals].map(([rule, value]) => ({ labels: { fault: 'rule', rule }, value })),
        ],
      },
      counter(
        'smtpkit_sink_bare_line_end_messages_total',
        'Messages with a bare LF or CR line end (--bare-newline says what became of them)',
        s.bareLineEnds,
      ),
      {
        name: 'smtpkit_sink_messages_stored',
        help: 'Messages held for the API now',
        type: 'gauge',
        samples: [{ value: store.size }],
      },
      {
        name: 'smtpkit_sink_stored_bytes',
        help: 'Bytes of messages held for the API now',
        type: 'gauge',
        samples: [{ value: store.storedBytes }],
      },
      counter(
        'smtpkit_sink_messages_evicted_total',
        'Stored messages dropped to stay within --max-messages',
        store.counts.evicted,
      ),
      counter('smtpkit_sink_messages_deleted_total', 'Stored messages deleted through the API', store.counts.deleted),
      {
        name: 'smtpkit_sink_api_waiting',
        help: 'Requests waiting in /api/v1/wait now',
        type: 'gauge',
        samples: [{ value: store.waiting }],
      },
      {
        name: 'smtpkit_sink_dkim_checks',
        help: 'DKIM checks of stored messages now: running (at most 4 at once), queued for their turn',
        type: 'gauge',
        samples: [
          { labels: { state: 'running' }, value: store.dkimChecks.running },
          { labels: { state: 'queued' }, value: store.dkimChecks.queued },
        ],
      },
      counter('smtpkit_sink_api_requests_total', 'API requests received', counts.requests),
      counter('smtpkit_sink_api_busy_total', 'API requests refused with 503 (too many at once)', counts.busy),
      counter(
        'smtpkit_sink_api_unauthorized_total',
        'API requests refused with 401 (no or a wrong --http-token)',
        counts.unauthorized,
      ),
    ];
  };

  const authorized = (req: http.IncomingMessage): boolean => {
    if (!tokenHash) return true;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    return !!m && timingSafeEqual(createHash('sha256').update(m[1]!).digest(), tokenHash);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    // Glued to a fixed origin: a path starting with // must not be read as a host.
    const url = new URL(`http://sink${req.url?.startsWith('/') ? req.url : '/'}`);
    // DNS rebinding: a web page elsewhere that points its own name at 127.0.0.1 could read every
    // message through the visitor's browser; its requests name that host, so with no token only
    // a loopback name is served. (A token it cannot know guards an API open to the network.)
    if (!tokenHash && !LOOPBACK_HOST.test(req.headers.host ?? ''))
      throw new HttpError(
        403,
        `Host ${JSON.stringify(req.headers.host ?? '')} is not a loopback name: open the sink as 127.0.0.1, [::1] or localhost`,
      );
    const page = Object.hasOwn(PAGE_FILES, url.pathname) ? PAGE_FILES[url.pathname] : undefined;
    if (page) {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        throw new HttpError(405, `${req.method} is not allowed here: GET, HEAD`, { allow: 'GET, HEAD' });
      res.setHeader('content-security-policy', PAGE_CSP);
      res.setHeader('x-frame-options', 'DENY');
      res.setHeader('referrer-policy', 'no-referrer');
      return send(res, 200, page[0], page[1]);
    }
    const route = routes.find((r) => r.pattern.test(url.pathname));
    if (!route)
      throw new HttpError(
        404,
        `not found: ${url.pathname} (the API is under /api/v1/messages, /api/v1/wait, /api/v1/events; also /healthz, /metrics; the web page is /)`,
      );
    if (keyFits(url)) url.searchParams.delete('key');
    else if (url.pathname !== '/healthz' && !authorized(req)) {
      counts.unauthorized++;
      throw new HttpError(401, 'this sink wants Authorization: Bearer <the --http-token>', {
        'www-authenticate': 'Bearer realm="smtpkit sink"',
      });
    }
    const method =
      req.method === 'HEAD' && route.methods.GET && !/^\/api\/v1\/(wait|events)$/.test(url.pathname)
        ? 'GET'
        : (req.method ?? '');
    const handler = Object.hasOwn(route.methods, method) ? route.methods[method] : undefined;
    if (!handler) {
      const allow = Object.keys(route.methods)
        .flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]))
        .join(', ');
      throw new HttpError(405, `${req.method} is not allowed here: ${allow}`, { allow });
    }
    const params = route.pattern
      .exec(url.pathname)!
      .slice(1)
      .map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          throw new HttpError(400, `${JSON.stringify(p)} is not a valid percent-encoded path segment`);
        }
      });
    await handler(req, res, url, params);
  };

  // The timeouts go in as options: Node reads them once, when it sets up its checks of slow clients.
  const checkEvery = Math.max(10, Math.min(1000, o.headersTimeoutMs / 2));
  const server = http.createServer(
    {
      maxHeaderSize: o.maxHeaderBytes,
      headersTimeout: o.headersTimeoutMs,
      requestTimeout: o.requestTimeoutMs,
      connectionsCheckingInterval: checkEvery,
    },
    (req, res) => {
      counts.requests++;
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('cache-control', 'no-store');
      // Replaced by the page's own policy and the message frame's; everything else is data.
      res.setHeader('content-security-policy', DATA_CSP);
      const fail = (err: unknown) => {
        if (res.headersSent || res.destroyed) return;
        const e = err instanceof HttpError ? err : new HttpError(500, `internal error: ${(err as Error).message}`);
        json(res, e.status, { error: e.message, status: e.status }, e.headers);
      };
      // A body over the limit is refused before it is read (or cut off once it gets there); the rest drained.
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > o.maxBodyBytes) {
        res.shouldKeepAlive = false;
        return fail(
          new HttpError(413, `request bodies are limited to ${o.maxBodyBytes} bytes`, {
            connection: 'close',
          }),
        );
      }
      let got = 0;
      req.on('data', (chunk: Buffer) => {
        if ((got += chunk.length) > o.maxBodyBytes) req.destroy();
      });
      if (inFlight >= o.maxConcurrent) {
        counts.busy++;
        return fail(
          new HttpError(503, `${o.maxConcurrent} requests are being served (waits included): try again`, {
            'retry-after': '1',
          }),
        );
      }
      inFlight++;
      res.once('close', () => inFlight--);
      handle(req, res).catch(fail);
    },
  );
  server.keepAliveTimeout = 5000;
  // Idle keep-alive sockets are bounded too: past this many connections new ones are dropped.
  server.maxConnections = o.maxConcurrent * 4;
  server.on('close', () => store.close());
  // Event streams never end by themselves: a server asked to close ends them.
  const close = server.close.bind(server);
  server.close = (cb?: (err?: Error) => void) => {
    for (const res of streams) res.end();
    return close(cb);
  };
  return server;

  function send(res: http.ServerResponse, status: number, body: string | Buffer, type: string) {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
}

const RULES_EXAMPLE = '{"rules": ["rcpt:*@full.test=452 4.2.2 Mailbox full"]}';

/** A request's body; the server's own limit (maxBodyBytes) cuts off one too long, which rejects this. */
function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('close', () => reject(new HttpError(400, 'the request body did not arrive whole')));
  });
}

/** The query's parameters, each at most once; an unknown one is refused (a typo must not match everything). */
function query(url: URL, allowed: string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of url.searchParams) {
    if (!allowed.includes(key))
      throw new HttpError(
        400,
        `unknown parameter ${JSON.stringify(key)}${allowed.length ? ` (this endpoint takes ${allowed.join(', ')})` : ' (this endpoint takes none)'}`,
      );
    if (out[key] !== undefined) throw new HttpError(400, `parameter ${key} given twice`);
    out[key] = value;
  }
  return out;
}

function filterOf(q: Record<string, string | undefined>): MessageFilter {
  const f: MessageFilter = {};
  if (q.to !== undefined) f.to = q.to;
  if (q.from !== undefined) f.from = q.from;
  if (q.subject !== undefined) f.subject = q.subject;
  if (q.since !== undefined) {
    // An ISO 8601 time (2026-12-06T11:00:00Z) or milliseconds since the epoch.
    const ms = /^\d{1,15}$/.test(q.since)
      ? Number(q.since)
      : /^\d{4}-\d\d-\d\d/.test(q.since)
        ? Date.parse(q.since)
        : NaN;
    if (!Number.isFinite(ms))
      throw new HttpError(
        400,
        `since ${JSON.stringify(q.since)}: give an ISO 8601 time (2026-12-06T11:00:00Z) or milliseconds since the epoch`,
      );
    f.sinceMs = ms;
  }
  return f;
}

function wholeNumber(text: string, name: string): number {
  const n = Number(text);
  if (!/^\d{1,6}$/.test(text) || n < 1)
    throw new HttpError(400, `${name} takes a whole number from 1 to 999999, not ${JSON.stringify(text)}`);
  return n;
}

function duration(text: string): number {
  try {
    return durationMs(text, 'timeout');
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
}
