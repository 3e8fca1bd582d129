import { probe, type ProbeSettings, type ProbeTarget } from './probe.js';
import type { ProbeResult } from './result.js';

/**
 * Probes `count` targets (made by `targetAt` when their turn comes), `concurrency` at once, and hands each result to `done` in input order
 * as soon as every earlier one has been handed on; nothing is kept after that. Targets run
 * at most `window` ahead of the oldest unfinished one, so a slow target holds back a
 * bounded number of finished results, never the whole batch.
 */
export async function probeEach(
  count: number,
  targetAt: (index: number) => ProbeTarget,
  settings: ProbeSettings,
  concurrency: number,
  done: (r: ProbeResult, index: number) => void,
  window = Math.max(64, concurrency * 4),
): Promise<void> {
  const finished = new Map<number, ProbeResult>();
  let next = 0;
  let handed = 0;
  let waiting: Array<() => void> = [];
  const worker = async () => {
    for (;;) {
      while (next < count && next >= handed + window) await new Promise<void>((resolve) => waiting.push(resolve));
      if (next >= count) return;
      const i = next++;
      finished.set(i, await probe(targetAt(i), settings));
      for (let r = finished.get(handed); r; r = finished.get(handed)) {
        finished.delete(handed);
        done(r, handed++);
      }
      const wake = waiting;
      waiting = [];
      for (const w of wake) w();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
