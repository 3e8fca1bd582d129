import type { ChalkInstance } from 'chalk';

export type Paint = ChalkInstance;

/**
 * Whether colour is wanted: --no-color and NO_COLOR turn it off (chalk alone ignores
 * NO_COLOR), FORCE_COLOR turns it on, otherwise the terminal decides. Decided without
 * loading chalk, so runs without colour (CI, pipes) never pay for it.
 */
export function colorLevel(flags: { color?: boolean }): 0 | 1 | 2 | 3 {
  if (flags.color === false || process.env.NO_COLOR) return 0;
  const forced = process.env.FORCE_COLOR;
  if (forced !== undefined && forced !== '') return forced === '0' || forced === 'false' ? 0 : (Math.min(3, Math.max(1, Number(forced) || 1)) as 1 | 2 | 3);
  if (!process.stdout.isTTY) return 0;
  const depth = process.stdout.getColorDepth();
  return depth >= 24 ? 3 : depth >= 8 ? 2 : depth >= 4 ? 1 : 0;
}

/** Paints nothing: every style is the identity, however it is chained. */
const plain: Paint = new Proxy(((s: unknown) => String(s)) as unknown as Paint, {
  // Not a thenable: awaiting it must give it back, not call it.
  get: (_target, key) => (key === 'level' ? 0 : key === 'then' ? undefined : plain),
  apply: (_target, _this, args: unknown[]) => args.map(String).join(' '),
});

/** chalk at the wanted level, loaded only when there is colour to show. */
export async function paint(flags: { color?: boolean }): Promise<Paint> {
  const level = colorLevel(flags);
  if (!level) return plain;
  const { Chalk } = await import('chalk');
  return new Chalk({ level });
}
