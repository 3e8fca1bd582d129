import type { Outcome } from '../errors.js';
import { SinkLog } from '../render/sink-log.js';
import type { SmtpEvent } from '../session/events.js';
import type { SaveFailure, SinkMessage, SinkOptions } from '../sink/server.js';
import type { KeyLookup } from '../dkim/key-lookup.js';
import type { TransportOptions } from '../dns/transport.js';
import { SinkStartError, startSinkService, type SinkService, type SinkServiceOptions } from '../sink/service.js';
import { processOutput, type OutputSpec } from '../render/output.js';
import { failureOutcome } from '../render/failure.js';

export interface SinkSpec {
  options: SinkOptions;
  /** --http: where the API listens, its token, and how many messages it keeps. */
  http: (Omit<NonNullable<SinkServiceOptions['http']>, 'keys'> & { resolver?: Readonly<TransportOptions> }) | undefined;
  /** --count: stop after this many messages. */
  stopAfter: number | undefined;
  output: OutputSpec;
  /** --cert, named in the listening line. */
  certFile: string | undefined;
  /** What is unwise but allowed (a secret on the command line), said on stderr at start. */
  warnings: readonly string[];
}

/** `smtpkit sink`: a local server that takes mail and shows what it got, explained. */
export async function sink(spec: Readonly<SinkSpec>): Promise<number> {
  const { options, stopAfter } = spec;
  const log = await sinkLog(spec.output, options.bareNewline);
  for (const w of spec.warnings) log.warning(w);
  // Catch Ctrl-C before announcing the port: a signal that comes in between would kill us.
  let interrupted: () => void = () => {};
  const signalled = new Promise<void>((resolve) => (interrupted = resolve));
  process.once('SIGINT', () => interrupted());
  process.once('SIGTERM', () => interrupted());
  const offer = { tls: !!options.tls, certFile: spec.certFile, authUser: options.auth?.user };
  const listening = (port: number) => log.listening(options.host, port, offer);
  let service: SinkService;
  try {
    const http = spec.http;
    service = await startSinkService({
      sink: options,
      // --resolver etc.: where the stored messages' DKIM keys are looked up.
      http: http && { ...http, keys: http.resolver && lazyKeys(http.resolver) },
    });
  } catch (err) {
    // SMTP was up when the API failed to listen: it was announced before, so it still is.
    if (err instanceof SinkStartError && err.smtpPort !== undefined) listening(err.smtpPort);
    const o = failureOutcome(err);
    log.error(o.message);
    return o.exitCode;
  }
  listening(service.smtpPort);
  if (service.httpUrl) log.httpListening(service.httpUrl, spec.http?.token !== undefined, service.restored);

  const server = service.sink;
  server.on('event', (id: number, e: SmtpEvent) => log.event(id, e));
  server.on('session-end', (id: number) => log.sessionEnd(id));
  server.on('save-failed', (f: SaveFailure) => log.saveFailed(f));
  server.on('session-refused', (max: number) => log.sessionRefused(max));
  let received = 0;
  await new Promise<void>((resolve) => {
    server.on('message', (m: SinkMessage) => {
      received++;
      log.message(m);
      if (stopAfter !== undefined && received >= stopAfter) setTimeout(resolve, 50);
    });
    void signalled.then(resolve);
  });
  await service.close();
  log.stopped(server.stats);
  return 0;
}

/**
 * DKIM keys looked up through a Resolver made at the first signed message: the DNS code (and
 * dns2 with it, ~3.5 MiB) stays unloaded in a sink that never sees a signature.
 */
function lazyKeys(transport: Readonly<TransportOptions>): KeyLookup {
  let resolver: Promise<KeyLookup> | undefined;
  return {
    txt: async (name) =>
      (await (resolver ??= import('../dns/resolver.js').then((m) => new m.Resolver(transport)))).txt(name),
  };
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
