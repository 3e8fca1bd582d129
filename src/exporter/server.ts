import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { SmtpkitError } from '../errors.js';
import { probeFamilies, renderFamilies, type Family } from '../probe/metrics.js';
import { allowsDomain, allowsTarget, CACHE_MAX_HOURS, DEFAULT_MODULE, type Module } from './modules.js';
import type { AuditCache, AuditDefaults } from './audit-role.js';
import { moduleProbe, type ModuleDefaults } from './profile.js';
import { clampDelay, clampedTimeout } from '../util/timer.js';
import { TEXT_FORMAT } from '../util/prometheus-text.js';
import { durationMs } from '../util/duration.js';

class SlotsBusy extends Error {}

export interface ExporterOptions extends ModuleDefaults {
  modules: Record<string, Module>;
  /** Probes at once; further scrapes wait for a free slot. */
  maxConcurrent: number;
  /** Taken off the scrape timeout so the answer reaches Prometheus in time (blackbox_exporter's timeout_offset). */
  offsetMs: number;
  /** For modules of role audit: smtpkit audit's defaults and the exporter's cache interval. */
  audit: AuditDefaults;
}

export const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;
const CHECK_EVERY_MS = 500;

/** A slot pool: at most `size` holders, the rest wait in turn, each until its own deadline. */
class Slots {
  private busy = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}
  get inUse() {
    return this.busy;
  }
  get queued() {
    return this.waiting.length;
  }
  acquire(deadlineMs: number): Promise<boolean> {
    if (this.busy < this.size) {
      this.busy++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const go = () => {
        clearTimeout(timer);
        this.busy++;
        resolve(true);
      };
      const timer = clampedTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(go), 1);
        resolve(false);
      }, deadlineMs);
      this.waiting.push(go);
    });
  }
  release() {
    this.busy--;
    this.waiting.shift()?.();
  }
}

/**
 * The exporter, the way blackbox_exporter works: Prometheus asks /probe?target=host:port
 * (&module=name), one probe runs, its metrics are the answer. /metrics is about the
 * exporter itself.
 */
export function createExporter(o: ExporterOptions): http.Server {
  const slots = new Slots(o.maxConcurrent);
  // Loaded with the first probe: an idle exporter holds none of the probe's code (TLS, SASL,
  // the checks), about 3 MiB resident in V8's heap and Node's built-ins.
  let probing: Promise<typeof import('../probe/probe.js')> | undefined;
  const counts = { success: 0, failure: 0, rejected: 0, timedOutWaiting: 0 };
  const started = Date.now();

  const bad = (message: string) => {
    counts.rejected++;
    return { status: 400, body: `${message}\n` };
  };

  const probeOnce = async (url: URL, headers: http.IncomingHttpHeaders): Promise<{ status: number; body: string }> => {
    const target = url.searchParams.get('target');
    if (!target) return bad('the target parameter is missing: /probe?target=host:port');
    const name = url.searchParams.get('module');
    const module = name === null ? DEFAULT_MODULE : Object.hasOwn(o.modules, name) ? o.modules[name] : undefined;
    if (!module)
      return bad(`unknown module ${JSON.stringify(name)} (configured: ${Object.keys(o.modules).join(', ') || 'none'})`);
    const scrape = Number(headers['x-prometheus-scrape-timeout-seconds']);
    // Whatever the header says, the limit stays one a timer can hold (a huge value is "long", never "now").
    const limitMs =
      Number.isFinite(scrape) && scrape > 0
        ? clampDelay(Math.max(500, scrape * 1000 - o.offsetMs))
        : o.defaultTimeoutMs;
    const started = performance.now();
    if (module.role === 'audit') return auditOnce(name!, module, target, limitMs, started);
    let settings;
    let options;
    try {
      ({ settings, options } = await moduleProbe(module, target, o));
      settings.totalMs = Math.min(settings.totalMs, limitMs);
    } catch (err) {
      return bad(err instanceof SmtpkitError ? err.message : String(err));
    }
    // A module's credentials go only to the servers it lists: checked before any connection.
    if (!allowsTarget(module, options.host, options.port)) {
      counts.rejected++;
      return {
        status: 403,
        body: `module ${JSON.stringify(name)} may not be used with ${JSON.stringify(target)}: its "targets" are ${module.targets!.join(', ')}\n`,
      };
    }
    if (!(await slots.acquire(limitMs - (performance.now() - started)))) {
      counts.timedOutWaiting++;
      return { status: 503, body: `all ${o.maxConcurrent} probe slots stayed busy for the whole scrape timeout\n` };
    }
    try {
      settings.totalMs = Math.max(100, settings.totalMs - (performance.now() - started));
      const { probe } = await (probing ??= import('../probe/probe.js'));
      const result = await probe({ label: target, options }, settings);
      counts[result.exitCode === 0 ? 'success' : 'failure']++;
      return { status: 200, body: renderFamilies(probeFamilies([result])) };
    } finally {
      slots.release();
    }
  };

  // Loaded with the first audit module's scrape: a probe-only exporter never holds the audit's code.
  let audits: { cache: AuditCache; role: typeof import('./audit-role.js') } | undefined;
  const auditOnce = async (
    name: string,
    module: Module,
    target: string,
    limitMs: number,
    started: number,
  ): Promise<{ status: number; body: string }> => {
    const role = await import('./audit-role.js');
    audits ??= { cache: new role.AuditCache(), role };
    let options;
    try {
      options = role.auditOptions(module, target, o.audit);
    } catch (err) {
      return bad(err instanceof SmtpkitError ? err.message : String(err));
    }
    if (!allowsDomain(module, options.domain)) {
      counts.rejected++;
      return {
        status: 403,
        body: `module ${JSON.stringify(name)} may not be used with ${JSON.stringify(target)}: its "targets" are ${module.targets!.join(', ')}\n`,
      };
    }
    const cacheForMs =
      module.cacheFor === undefined ? o.audit.cacheForMs : durationMs(module.cacheFor, 'cacheFor', CACHE_MAX_HOURS);
    const key = `${name}\n${options.domain}`;
    const render = (s: import('./audit-role.js').AuditSummary) => ({
      status: 200,
      body: renderFamilies(role.auditFamilies(s, Date.now())),
    });
    const cached = audits.cache.fresh(key, cacheForMs, Date.now(), Math.min(options.timeoutMs, limitMs));
    if (cached) return render(cached);
    // The scrape's time is the audit's deadline: what has not finished by then is "not tested".
    const left = () => limitMs - (performance.now() - started);
    const running = audits.cache.run(key, async () => {
      if (!(await slots.acquire(left()))) throw new SlotsBusy();
      try {
        options.timeoutMs = Math.max(100, Math.min(options.timeoutMs, left()));
        const summary = await role.auditDomain(options);
        counts[summary.exitCode === 0 ? 'success' : 'failure']++;
        return summary;
      } finally {
        slots.release();
      }
    });
    // A scrape that joined an audit started by another waits only as long as its own timeout.
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      running.then(render, (err: unknown) => {
        if (!(err instanceof SlotsBusy)) throw err;
        counts.timedOutWaiting++;
        return { status: 503, body: `all ${o.maxConcurrent} probe slots stayed busy for the whole scrape timeout\n` };
      }),
      new Promise<{ status: number; body: string }>((resolve) => {
        timer = clampedTimeout(
          () =>
            resolve({
              status: 503,
              body: `the audit of ${options.domain} is still running; it answers a later scrape\n`,
            }),
          Math.max(0, left()) + o.offsetMs / 2,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    return outcome;
  };

  const selfMetrics = (): string => {
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    const families: Family[] = [
      {
        name: 'smtpkit_exporter_probes_total',
        help: 'Probes run, by result',
        type: 'counter',
        samples: [
          { labels: { result: 'success' }, value: counts.success },
          { labels: { result: 'failure' }, value: counts.failure },
        ],
      },
      {
        name: 'smtpkit_exporter_bad_requests_total',
        help: 'Scrapes refused for a bad target, module or setting',
        type: 'counter',
        samples: [{ value: counts.rejected }],
      },
      {
        name: 'smtpkit_exporter_slot_timeouts_total',
        help: 'Scrapes that found no free probe slot within their timeout',
        type: 'counter',
        samples: [{ value: counts.timedOutWaiting }],
      },
      {
        name: 'smtpkit_exporter_probes_in_flight',
        help: 'Probes running now',
        type: 'gauge',
        samples: [{ value: slots.inUse }],
      },
      {
        name: 'smtpkit_exporter_probes_waiting',
        help: 'Scrapes waiting for a probe slot',
        type: 'gauge',
        samples: [{ value: slots.queued }],
      },
      {
        name: 'smtpkit_exporter_max_concurrent_probes',
        help: 'The --max-concurrent limit',
        type: 'gauge',
        samples: [{ value: o.maxConcurrent }],
      },
      {
        name: 'process_resident_memory_bytes',
        help: 'Resident memory size in bytes',
        type: 'gauge',
        samples: [{ value: mem.rss }],
      },
      {
        name: 'process_cpu_seconds_total',
        help: 'User and system CPU time spent in seconds',
        type: 'counter',
        samples: [{ value: (cpu.user + cpu.system) / 1e6 }],
      },
      {
        name: 'process_start_time_seconds',
        help: 'Start time of the process since the Unix epoch in seconds',
        type: 'gauge',
        samples: [{ value: Math.floor(started / 1000) }],
      },
      { name: 'nodejs_heap_used_bytes', help: 'V8 heap in use', type: 'gauge', samples: [{ value: mem.heapUsed }] },
      {
        name: 'nodejs_heap_space_size_total_bytes',
        help: 'Size of each V8 heap space (new_space: the young generation, kept small on purpose)',
        type: 'gauge',
        samples: getHeapSpaceStatistics().map((h) => ({ labels: { space: h.space_name }, value: h.space_size })),
      },
    ];
    return renderFamilies(families);
  };

  // A client that trickles its request holds nothing for long (receiving only; a probe's answer
  // may take longer). Node enforces these only every connectionsCheckingInterval (30 s by
  // default), so the check runs often enough for the limits to hold as set.
  const server = http.createServer(
    {
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: CHECK_EVERY_MS,
    },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'http://exporter');
      const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
        res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'only GET\n');
      if (url.pathname === '/probe') {
        probeOnce(url, req.headers).then(
          (r) => send(r.status, r.body, r.status === 200 ? TEXT_FORMAT : undefined),
          (err) => send(500, `internal error: ${(err as Error).message}\n`),
        );
        return;
      }
      if (url.pathname === '/metrics') return send(200, selfMetrics(), TEXT_FORMAT);
      if (url.pathname === '/') return send(200, 'smtpkit exporter: /probe?target=host:port[&module=name], /metrics\n');
      return send(404, 'not found: try /probe?target=host:port or /metrics\n');
    },
  );
  return server;
}
