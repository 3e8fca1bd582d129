import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import type { Outcome } from '../errors.js';
import { createExporter, type ExporterOptions } from '../exporter/server.js';
import { processOutput } from '../render/output.js';
import { commandLineError } from '../render/usage.js';

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
export async function exporter(spec: Readonly<ExporterSpec>): Promise<number> {
  const output = await processOutput({ color: false });
  // A long-running server's young generation stays at V8's starting size (1 MiB semi-spaces):
  // left to grow, probes' short-lived objects made V8 double it up to 16 MiB, resident for good
  // (+10 MiB after 100 probes). Scavenges of a small space are short; the flag is read at each
  // growth decision, so it holds when set now (--max-semi-space-size is read only at start).
  setFlagsFromString('--semi-space-growth-factor=1');
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
  const shown = listening.family === 'IPv6' ? `[${listening.address}]` : listening.address;
  output.stdout.write(
    `smtpkit exporter listening on http://${shown}:${listening.port} (/probe?target=host:port, /metrics)\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      server.close(() => resolve());
      server.closeAllConnections();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
