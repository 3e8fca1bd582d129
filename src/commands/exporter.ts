import type { AddressInfo } from 'node:net';
import { usageError } from '../errors.js';
import { createExporter } from '../exporter/server.js';
import { loadModules } from '../exporter/modules.js';
import { parseDuration } from '../session/timeouts.js';
import { failureOutcome } from '../flows/run.js';
import { processOutput } from '../render/output.js';
import { commandLineError } from '../render/usage.js';
import { parseListen } from '../util/listen-address.js';

export interface ExporterFlags {
  listen?: string;
  config?: string;
  maxConcurrent?: string;
  timeout?: string;
  allowRemote?: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** `smtpkit exporter`: serve /probe and /metrics for Prometheus until SIGINT or SIGTERM. */
export async function exporter(flags: ExporterFlags): Promise<number> {
  const output = await processOutput({ color: false });
  let server;
  let host: string;
  let port: number;
  try {
    ({ host, port } = parseListen(flags.listen ?? '127.0.0.1:9125', '--listen', 9125));
    if (!LOOPBACK.has(host) && !flags.allowRemote)
      throw usageError(
        `--listen ${host}: not a loopback address; add --allow-remote to serve probes to other machines (anyone who reaches it can make this host connect to any server)`,
      );
    const maxConcurrent = flags.maxConcurrent === undefined ? 10 : Number(flags.maxConcurrent);
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1 || maxConcurrent > 1000)
      throw usageError('--max-concurrent takes a whole number from 1 to 1000');
    const modules = flags.config ? loadModules(flags.config) : {};
    server = createExporter({
      modules,
      maxConcurrent,
      defaultTimeoutMs: parseDuration(flags.timeout ?? '10s', '--timeout'),
      offsetMs: 500,
    });
  } catch (err) {
    const o = failureOutcome(err);
    output.stderr.write(commandLineError(o.message));
    return o.exitCode;
  }
  const listening = await new Promise<AddressInfo | Error>((resolve) => {
    server.once('error', resolve);
    server.listen(port, host, () => resolve(server.address() as AddressInfo));
  });
  if (listening instanceof Error) {
    output.stderr.write(
      commandLineError(
        `cannot listen on ${flags.listen}: ${(listening as NodeJS.ErrnoException).code ?? listening.message}`,
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
