import { readFileSync } from 'node:fs';

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
