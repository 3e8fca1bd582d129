import type { AddressInfo } from 'node:net';
import type { Outcome } from '../errors.js';
import { createExporter, type ExporterOptions } from '../exporter/server.js';
import { processOutput } from '../render/output.js';
import { commandLineError } from '../render/usage.js';
import { withBaselineCompilerOnly } from '../util/baseline-only.js';
import { withSmallYoungGeneration } from '../util/young-generation.js';

export interface ExporterSpec extends ExporterOptions {
  host: string;
  port: number;
  /** --listen as given, for the error when it cannot be had. */
  listen: string;
}

/** A mistake found before the exporter could start. */
export async function exporterFailed(o: Outcome): Promise<number> {
  (await processOutput({ color: false })).stderr.write(commandLineError(o.message));
  return o.exitCode;
}

/** `smtpkit exporter`: serve /probe and /metrics for Prometheus until SIGINT or SIGTERM. */
export function exporter(spec: Readonly<ExporterSpec>): Promise<number> {
  // Probes' short-lived objects made V8 grow the young generation; scavenges of a small one are short.
  return withSmallYoungGeneration(() => withBaselineCompilerOnly(() => serve(spec)));
}

async function serve(spec: Readonly<ExporterSpec>): Promise<number> {
  const output = await processOutput({ color: false });
  const { host, port } = spec;
  const server = createExporter(spec);
  const listening = await new Promise<AddressInfo | Error>((resolve) => {
    server.once('error', resolve);
    server.listen(port, host, () => resolve(server.address() as AddressInfo));
  });
  if (listening instanceof Error) {
    output.stderr.write(
      commandLineError(
        `cannot listen on ${spec.listen}: ${(listening as NodeJS.ErrnoException).code ?? listening.message}`,
      ),
    );
    return 4;
  }
  // Listening for the signals before saying so: a supervisor that stops the exporter as soon
  // as it reads the line must get a clean stop, not Node's default death by SIGTERM.
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      server.close(() => resolve());
      server.closeAllConnections();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  const shown = listening.family === 'IPv6' ? `[${listening.address}]` : listening.address;
  output.stdout.write(
    `smtpkit exporter listening on http://${shown}:${listening.port} (/probe?target=host:port, /metrics)\n`,
  );
  await stopped;
  return 0;
}
