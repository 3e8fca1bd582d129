/**
 * Preload (`node --import`) that records every module a process loads, for tests of the
 * start-up path: ES modules as the loader resolves them (record-loads-hooks.ts), CommonJS
 * files and Node built-ins when the process exits. One line each in $SMTPKIT_RECORD_LOADS:
 * a file: URL, a file path, or node:NAME.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.SMTPKIT_RECORD_LOADS;
if (out) {
  register(new URL('./record-loads-hooks.js', import.meta.url));
  const cjs = createRequire(import.meta.url).cache;
  process.on('exit', () => {
    // Undocumented but long-standing: what Node has loaded of itself, in order.
    const list = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
    const builtins = list
      .filter((m) => m.startsWith('NativeModule '))
      .map((m) => `node:${m.slice('NativeModule '.length)}`);
    appendFileSync(out, [...builtins, ...Object.keys(cjs)].map((l) => `${l}\n`).join(''));
  });
}
