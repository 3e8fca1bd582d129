/**
 * Whether the user gave Node one of these V8 flags (on its command line or in NODE_OPTIONS),
 * in any of V8's spellings (--max_opt, --no-opt, --noopt). Flags we change for a while are
 * then left alone: set back to V8's defaults, not to the user's values, they changed the
 * flags the compile cache keys its entries by, and every start refused its entry.
 */
export function v8FlagGiven(names: readonly string[]): boolean {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return given.some((arg) => {
    const m = /^--(?:no-?)?([\w-]+)/.exec(arg.replaceAll('_', '-'));
    return !!m && names.includes(m[1]!);
  });
}
