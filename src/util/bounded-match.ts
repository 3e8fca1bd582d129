import type { Context, Script } from 'node:vm';

/** Limit for one match: a regular expression runs without yielding, so no timer could stop it. */
export const MATCH_LIMIT_MS = 500;

let compiled: { script: Script; context: Context } | undefined;

/**
 * A user's pattern (--expect-banner, --reject-rcpt) against text a peer chose, with a time
 * limit: a backtracking pattern and hostile text must not freeze the process (a probe past
 * --timeout, the whole exporter, the sink). undefined: the limit was hit. node:vm is loaded
 * only when a pattern is used, and one context serves every match.
 */
export function boundedTest(re: RegExp, text: string, ms = MATCH_LIMIT_MS): boolean | undefined {
  if (!compiled) {
    const vm = process.getBuiltinModule('node:vm');
    compiled = { script: new vm.Script('re.test(text)'), context: vm.createContext({}) };
  }
  compiled.context.re = re;
  compiled.context.text = text;
  try {
    return compiled.script.runInContext(compiled.context, { timeout: ms }) as boolean;
  } catch {
    return undefined;
  } finally {
    compiled.context.re = compiled.context.text = undefined;
  }
}
