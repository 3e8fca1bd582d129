import { spawn } from 'node:child_process';
import { ownChild } from './process-group.js';
import { readFileSync } from 'node:fs';
import { BIN } from './paths.js';

/** A process's peak resident memory in bytes, from /proc (VmHWM is a high-water mark); 0 once it is gone. */
export function peakRss(pid: number): number {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Samples a child's peak RSS until `stop()`; the peak is read one last time then. */
export function watchPeakRss(pid: number, everyMs = 25): { stop(): number; peak(): number } {
  let peak = 0;
  const sample = () => (peak = Math.max(peak, peakRss(pid)));
  const timer = setInterval(sample, everyMs);
  return {
    peak: () => (sample(), peak),
    stop: () => {
      clearInterval(timer);
      return sample();
    },
  };
}

export const MiB = 1024 * 1024;

/** The CPU time (user + system, seconds) a process has used so far, from /proc; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    // Fields 14 and 15 of /proc/PID/stat, after the command name in parentheses (which may hold spaces).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /s, '')
      .split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

/**
 * Runs smtpkit with `args` to its end, sampling its peak RSS meanwhile: its exit code, peak
 * and output (stdout and stderr). `stdin` feeds standard input (closed otherwise); past
 * `limitMs` the child is killed.
 */
export async function measuredRun(
  args: string[],
  opts: {
    env?: NodeJS.ProcessEnv;
    stdin?: (w: NodeJS.WritableStream) => void | Promise<void>;
    limitMs?: number;
    collectEvery?: number;
    /** false: V8's optimizing compilers stay off in the child (see below). */
    optimize?: boolean;
  } = {},
) {
  // collectEvery: a full GC in the child every N ms (test/helpers/gc-often.ts), so the peak is what it holds.
  const gcFlags =
    opts.collectEvery === undefined
      ? []
      : ['--expose-gc', '--max-semi-space-size=1', '--import', new URL('./gc-often.js', import.meta.url).href];
  // optimize: false keeps V8 to its interpreter and baseline compiler (Sparkplug). Its optimizing
  // tiers (Maglev, TurboFan) warm up once a run has done a few hundred of the same thing and cost
  // a fixed 4-12 MiB then, the most on Node 24, half of it the node binary's own compiler code
  // paged in: the same at 2,000 probes as at 6,000, so nothing held per item, yet more than a
  // bound of 10 MiB between a short run (still cold) and a long one. Measured in issue 25.
  const jitFlags = opts.optimize === false ? ['--max-opt=1'] : [];
  const env = {
    ...(opts.env ?? process.env),
    ...(opts.collectEvery === undefined ? {} : { SMTPKIT_TEST_GC_MS: String(opts.collectEvery) }),
  };
  const child = ownChild(
    spawn(process.execPath, [...gcFlags, ...jitFlags, BIN, ...args], {
      stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env,
    }),
  );
  const rss = watchPeakRss(child.pid!, 20);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  if (opts.stdin) {
    child.stdin!.on('error', () => {});
    void opts.stdin(child.stdin!);
  }
  const killer = opts.limitMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.limitMs);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(killer);
  return { code, peak: rss.stop(), out };
}

/**
 * What a Node newer than 22 adds to any peak: Node 24 settles ~40 MiB higher on the same work
 * (measured: send --dry-run of 64 and 128 MiB of bare CRs peaks at 135 and 142 MiB against 93
 * and 95 MiB on Node 20: flat on both). A bound written for Node 20 and 22 gets this on top.
 */
export const NODE_HEADROOM = Number(process.versions.node.split('.')[0]) >= 24 ? 40 * MiB : 0;
