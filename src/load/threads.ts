import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { usageError } from '../errors.js';
import type { MessageSpec } from '../message/build.js';
import type { Envelope } from '../flows/transaction.js';
import type { SessionOptions } from '../session/session.js';
import { runShard, type LoadSettings, type ShardOptions, type Stats } from './shard.js';

/** At most this many threads: past it the server, not smtpkit, is what a load test measures. */
const MAX_THREADS = 8;

/**
 * How many threads to spread the connections over: one per CPU but one (left for the
 * kernel's TCP work and, on loopback, the server: on 2 CPUs a second thread measured
 * slower, 3.3 s of CPU against 1.8 for 5000 messages), no more than there are
 * connections; one for small runs, where starting a thread (~50 ms) costs more than it
 * saves. SMTPKIT_LOAD_THREADS sets it.
 */
export function threadCount(load: LoadSettings, env = process.env): number {
  if (env.SMTPKIT_LOAD_THREADS !== undefined) {
    const n = Number(env.SMTPKIT_LOAD_THREADS);
    if (!Number.isInteger(n) || n < 1 || n > 64)
      throw usageError('SMTPKIT_LOAD_THREADS takes a whole number from 1 to 64');
    return Math.min(n, load.concurrency, load.count);
  }
  if (load.count < 200) return 1;
  return Math.max(1, Math.min(availableParallelism() - 1, load.concurrency, MAX_THREADS));
}

interface ShardData {
  entry: string;
  base: SessionOptions;
  spec: MessageSpec;
  envelope: Envelope;
  load: LoadSettings;
  connections: number;
  starttls: ShardOptions['starttls'];
  lean: ShardOptions['lean'];
  /** Its key is a KeyObject, which Node clones into a worker. */
  dkim: ShardOptions['dkim'];
  /** The login without its secret source (a function cannot cross threads)... */
  auth: Omit<NonNullable<ShardOptions['auth']>, 'secret'> | undefined;
  /** ...and the secret itself, asked for once before the threads start. */
  secret: string | undefined;
  counters: Int32Array;
  startedAt: number;
}

/**
 * A worker starts from the module that exports loadWorker: this file in tsc's output, the
 * whole CLI in the bundle (dist/smtpkit.cjs, where import.meta.url names the bundle; it is
 * required, as import() would first scan all of it for its exports).
 */
const WORKER = `const { workerData } = require('node:worker_threads');
const entry = workerData.entry;
(entry.endsWith('.cjs') ? Promise.resolve(require(require('node:url').fileURLToPath(entry))) : import(entry)).then((m) => m.loadWorker());`;

/** Runs the shards in `n` threads, the connections shared out among them; their figures come back. */
export async function runInThreads(
  n: number,
  base: SessionOptions,
  spec: MessageSpec,
  envelope: Envelope,
  load: LoadSettings,
  opts: ShardOptions,
  counters: Int32Array,
  startedAt: number,
): Promise<Stats[]> {
  const secret = opts.auth ? await opts.auth.secret() : undefined;
  const auth = opts.auth ? (({ secret: _, ...rest }) => rest)(opts.auth) : undefined;
  const workers: Worker[] = [];
  try {
    return await Promise.all(
      Array.from({ length: n }, (_, i) => {
        const connections = Math.floor(load.concurrency / n) + (i < load.concurrency % n ? 1 : 0);
        const workerData: ShardData = {
          entry: import.meta.url,
          base,
          spec,
          envelope,
          load,
          connections,
          starttls: opts.starttls,
          lean: opts.lean,
          dkim: opts.dkim,
          auth,
          secret,
          counters,
          startedAt,
        };
        const worker = new Worker(WORKER, { eval: true, workerData, stdout: true, stderr: true });
        workers.push(worker);
        return new Promise<Stats>((resolve, reject) => {
          let stats: Stats | undefined;
          worker.once('message', (s: Stats) => (stats = s));
          worker.once('error', reject);
          worker.once('exit', (code) =>
            stats ? resolve(stats) : reject(new Error(`a load thread stopped (exit ${code}) before reporting`)),
          );
        });
      }),
    );
  } finally {
    // One failed: the others stop too, rather than sending on unseen.
    for (const w of workers) void w.terminate();
  }
}

/** The worker thread's side: run one shard, post its figures. */
export async function loadWorker(): Promise<void> {
  const { parentPort, workerData } = await import('node:worker_threads');
  const d = workerData as ShardData;
  const auth = d.auth ? { ...d.auth, secret: () => Promise.resolve(d.secret ?? '') } : undefined;
  const stats = await runShard(
    d.base,
    d.spec,
    d.envelope,
    d.load,
    d.connections,
    { starttls: d.starttls, auth, dkim: d.dkim, lean: d.lean },
    d.counters,
    d.startedAt,
  );
  parentPort!.postMessage(stats);
}
