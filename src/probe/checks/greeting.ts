import { replyText } from '../../protocol/reply.js';
import { boundedTest, MATCH_LIMIT_MS } from '../../util/bounded-match.js';
import type { ProbeSettings } from '../probe-input.js';
import type { Check } from '../result.js';
import { check, needed, type CheckContext, type ProbeCheck } from './context.js';

/** The greeting line against --expect-banner (a pattern, bounded in time) and --expect (text). */
export function judgeGreeting(
  banner: string,
  bannerMs: number,
  s: Pick<ProbeSettings, 'expectBanner' | 'expectText'>,
): Check<'greeting'> {
  const matched = s.expectBanner ? boundedTest(s.expectBanner, banner) : true;
  if (matched === undefined)
    return check(
      'greeting',
      'fail',
      `--expect-banner ${s.expectBanner} took over ${MATCH_LIMIT_MS} ms on "${banner}" (a pattern that backtracks): stopped`,
    );
  if (!matched) return check('greeting', 'fail', `"${banner}" does not match ${s.expectBanner}`);
  if (s.expectText !== undefined && !banner.includes(s.expectText))
    return check('greeting', 'fail', `"${banner}" does not contain "${s.expectText}" (--expect)`);
  return check('greeting', 'pass', `${banner} after ${bannerMs} ms`);
}

export function runGreeting(ctx: CheckContext): Check<'greeting'> {
  const greeting = needed(ctx.greeting, 'the greeting');
  return judgeGreeting(`${greeting.code} ${replyText(greeting)}`, ctx.session.timings.banner ?? 0, ctx.settings);
}

export const greeting: ProbeCheck<'greeting'> = {
  names: ['greeting'],
  when: () => true,
  run: (ctx) => [runGreeting(ctx)],
};
