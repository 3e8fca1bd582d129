import type { Timings } from '../../session/events.js';
import type { Check } from '../result.js';
import { check, needed, type CheckContext, type ProbeCheck } from './context.js';

/**
 * The server's time against --warn-ms and --crit-ms ("total" or a phase). `ownMs` is
 * smtpkit's own wait (finding out that a silent port speaks TLS), left out of the total.
 */
export function judgeResponseTime(
  timings: Timings,
  elapsed: { responseMs: number; ownMs: number },
  warnMs: Record<string, number>,
  critMs: Record<string, number>,
): Check<'response-time'> {
  const { responseMs, ownMs } = elapsed;
  const over = (limits: Record<string, number>) =>
    Object.entries(limits).filter(([phase, limit]) => (phase === 'total' ? responseMs : (timings[phase] ?? 0)) > limit);
  const crit = over(critMs);
  const warn = over(warnMs);
  const describe = (list: [string, number][]) =>
    list.map(([p, l]) => `${p} ${p === 'total' ? responseMs : timings[p]} ms > ${l} ms`).join(', ');
  const own = ownMs ? ` (not counting ${ownMs} ms spent finding out that the port speaks implicit TLS)` : '';
  if (crit.length) return check('response-time', 'fail', describe(crit) + own);
  if (warn.length) return check('response-time', 'warn', describe(warn) + own);
  return check('response-time', 'pass', `${responseMs} ms in all${own}`);
}

export const responseTime: ProbeCheck<'response-time'> = {
  names: ['response-time'],
  stage: 'end',
  when: () => true,
  run: (ctx) => [
    judgeResponseTime(
      ctx.session.timings,
      needed(ctx.elapsed, 'the probe’s time'),
      ctx.settings.warnMs,
      ctx.settings.critMs,
    ),
  ],
};
