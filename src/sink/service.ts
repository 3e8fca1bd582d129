import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SmtpkitError } from '../errors.js';
import { formatTarget } from '../protocol/target.js';
import { Sink, type SinkOptions } from './server.js';
import { MessageStore } from './store.js';
import type { KeyLookup } from '../dkim/key-lookup.js';

export interface SinkServiceOptions {
  sink: SinkOptions;
  /** The HTTP API: where it listens, its token, and how many messages it keeps. */
  http:
    | {
        host: string;
        port: number;
        token: string | undefined;
        maxMessages: number;
        /** Where the DKIM keys of stored messages are looked up (none: signatures not checked). */
        keys?: KeyLookup;
      }
    | undefined;
}

export interface SinkService {
  sink: Sink;
  smtpPort: number;
  /** The API's address (http://host:port), when it was asked for. */
  httpUrl: string | undefined;
  /** Messages read back from the save directory before the first new one could come. */
  restored: number;
  /** Stops the API and the SMTP server; resolves once every session has ended. */
  close(): Promise<void>;
}

/** A failure to start; `smtpPort` is set when SMTP was listening already (and has been closed). */
export class SinkStartError extends SmtpkitError {
  constructor(
    message: string,
    readonly smtpPort: number | undefined,
  ) {
    super('usage', message);
  }
}

const listenFailure = (err: NodeJS.ErrnoException) =>
  err.code === 'EADDRINUSE' ? 'the port is taken by another program' : err.message;

function listenHttp(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

/** Starts the sink's SMTP server and, if asked, its message store and HTTP API. Prints nothing. */
export async function startSinkService(options: Readonly<SinkServiceOptions>): Promise<SinkService> {
  const { sink: sinkOptions, http: httpApi } = options;
  const sink = new Sink(sinkOptions);
  // What an earlier run saved is read back before the first new message can come.
  const store = httpApi && new MessageStore({ maxMessages: httpApi.maxMessages, keys: httpApi.keys });
  const restored = store && sinkOptions.saveDir ? await store.restore(sinkOptions.saveDir) : 0;
  store?.attach(sink);
  const smtpPort = await sink.listen().catch((err: NodeJS.ErrnoException) => {
    throw new SinkStartError(
      `cannot listen on ${sinkOptions.host}:${sinkOptions.port}: ${listenFailure(err)}`,
      undefined,
    );
  });
  let api: http.Server | undefined;
  let httpUrl: string | undefined;
  if (httpApi && store) {
    // Loaded only with --http: a sink without it (a load test's) keeps its memory for sessions.
    const { createSinkApi } = await import('./http-api.js');
    api = createSinkApi(sink, store, { token: httpApi.token });
    const bound = await listenHttp(api, httpApi.host, httpApi.port).catch(async (err: NodeJS.ErrnoException) => {
      await sink.close();
      throw new SinkStartError(
        `cannot listen on ${formatTarget(httpApi.host, httpApi.port)} for --http: ${listenFailure(err)}`,
        smtpPort,
      );
    });
    httpUrl = `http://${formatTarget(httpApi.host, bound)}`;
  }
  return {
    sink,
    smtpPort,
    httpUrl,
    restored,
    async close() {
      if (api) {
        api.close();
        api.closeAllConnections();
      }
      await sink.close();
    },
  };
}
