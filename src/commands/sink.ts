import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { usageError, type Outcome } from '../errors.js';
import { SinkLog } from '../render/sink-log.js';
import type { SmtpEvent } from '../session/events.js';
import { createSinkApi } from '../sink/http-api.js';
import { MessageStore } from '../sink/store.js';
import { Resolver } from '../dns/resolver.js';
import type { TransportOptions } from '../dns/transport.js';
import { formatTarget } from '../protocol/target.js';
import { Sink, type SaveFailure, type SinkMessage, type SinkOptions } from '../sink/server.js';
import { processOutput, type OutputSpec } from '../render/output.js';
import { failureOutcome } from '../render/failure.js';

export interface SinkSpec {
  options: SinkOptions;
  /** --http: where the API listens, its token, and how many messages it keeps. */
  http:
    | {
        host: string;
        port: number;
        token: string | undefined;
        maxMessages: number;
        /** --resolver etc.: where the DKIM keys of stored messages are looked up (none: not checked). */
        resolver?: Readonly<TransportOptions>;
      }
    | undefined;
  /** --count: stop after this many messages. */
  stopAfter: number | undefined;
  output: OutputSpec;
  /** --cert, named in the listening line. */
  certFile: string | undefined;
  /** What is unwise but allowed (a secret on the command line), said on stderr at start. */
  warnings: readonly string[];
}

function listenHttp(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

/** `smtpkit sink`: a local server that takes mail and shows what it got, explained. */
export async function sink(spec: Readonly<SinkSpec>): Promise<number> {
  const { options, http: httpApi, stopAfter } = spec;
  const log = await sinkLog(spec.output, options.bareNewline);
  for (const w of spec.warnings) log.warning(w);
  // Catch Ctrl-C before announcing the port: a signal that comes in between would kill us.
  let interrupted: () => void = () => {};
  const signalled = new Promise<void>((resolve) => (interrupted = resolve));
  process.once('SIGINT', () => interrupted());
  process.once('SIGTERM', () => interrupted());
  let server: Sink;
  let api: http.Server | undefined;
  try {
    server = new Sink(options);
    // What an earlier run saved is read back before the first new message can come.
    const store =
      httpApi &&
      new MessageStore({
        maxMessages: httpApi.maxMessages,
        keys: httpApi.resolver && new Resolver(httpApi.resolver),
      });
    const restored = store && options.saveDir ? await store.restore(options.saveDir) : 0;
    store?.attach(server);
    const port = await server.listen().catch((err: NodeJS.ErrnoException) => {
      throw usageError(
        `cannot listen on ${options.host}:${options.port}: ${err.code === 'EADDRINUSE' ? 'the port is taken by another program' : err.message}`,
      );
    });
    const features = [
      options.tls
        ? `STARTTLS (${spec.certFile ? spec.certFile : 'built-in localhost certificate, for local testing only'})`
        : 'no TLS',
      options.auth ? `AUTH for ${options.auth.user}` : 'no AUTH',
    ];
    log.listening(`${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`, features);
    if (httpApi && store) {
      api = createSinkApi(server, store, { token: httpApi.token });
      const bound = await listenHttp(api, httpApi.host, httpApi.port).catch(async (err: NodeJS.ErrnoException) => {
        await server.close();
        throw usageError(
          `cannot listen on ${formatTarget(httpApi.host, httpApi.port)} for --http: ${err.code === 'EADDRINUSE' ? 'the port is taken by another program' : err.message}`,
        );
      });
      log.httpListening(`http://${formatTarget(httpApi.host, bound)}`, httpApi.token !== undefined, restored);
    }
  } catch (err) {
    const o = failureOutcome(err);
    log.error(o.message);
    return o.exitCode;
  }

  server.on('event', (id: number, e: SmtpEvent) => log.event(id, e));
  server.on('session-end', (id: number) => log.sessionEnd(id));
  server.on('save-failed', (f: SaveFailure) => log.saveFailed(f));
  server.on('session-refused', (max: number) => log.sessionRefused(max));
  let received = 0;
  const done = new Promise<void>((resolve) => {
    server.on('message', (m: SinkMessage) => {
      received++;
      log.message(m);
      if (stopAfter !== undefined && received >= stopAfter) setTimeout(resolve, 50);
    });
    void signalled.then(resolve);
  });
  await done;
  if (api) {
    api.close();
    api.closeAllConnections();
  }
  await server.close();
  log.stopped(server.stats);
  return 0;
}

/** A mistake found before the sink could start, said as the sink says its failures. */
export async function sinkFailed(show: Readonly<OutputSpec>, bareNewline: string, o: Outcome): Promise<number> {
  (await sinkLog(show, bareNewline)).error(o.message);
  return o.exitCode;
}

async function sinkLog(show: Readonly<OutputSpec>, bareNewline: string): Promise<SinkLog> {
  const output = await processOutput(show);
  return new SinkLog(output.stdout, output.stderr, output.paint, {
    json: show.json,
    transcript: !show.json && !show.quiet,
    bareNewline,
  });
}
