import { setFlagsFromString } from 'node:v8';
import { v8FlagGiven } from './v8-flags-given.js';

/**
 * What `--max-opt=1` turns off by implication and must be turned on again: V8 keys the compile
 * cache's entry by its flags (see young-generation.ts), and setting --max-opt back alone left
 * TurboFan off, so every entry the exporter saved was refused by the next start. V8 12 (Node
 * 22) also turns off OSR from Maglev, and Maglev is turned off by name below: flags V8 11
 * (Node 20) does not know (it prints an error), and off there by default. compile-cache.test
 * checks that the entry survives, on each Node the CI runs.
 */
const RESTORE = ['--max-opt=999', '--turbofan', '--opt'];
const RESTORE_V8_12 = ['--osr-from-maglev', '--maglev'];
/** Flags that choose V8's compilers: given by the user, theirs is the choice (see v8-flags-given.ts). */
const COMPILER_FLAGS = ['jitless', 'lite-mode', 'opt', 'turbofan', 'maglev', 'max-opt', 'sparkplug', 'osr-from-maglev'];

/**
 * Runs the exporter with V8's optimizing compilers off (Maglev, TurboFan: `--max-opt=1` keeps
 * Sparkplug's baseline code). A probe's time is OpenSSL's and the kernel's; the little
 * JavaScript in it did not repay TurboFan: over 200 probes it cost more CPU than it saved
 * (5.3 against 4.6 ms a probe, Node 20; even at 800) and left its own code, about 9 MiB,
 * resident for good (peak under 10 concurrent probes 70 MiB, 59 without). V8 13 (Node 24)
 * still optimizes with TurboFan when the flag is set at run time: 3 MiB less there, not 9.
 */
export async function withBaselineCompilerOnly<T>(run: () => Promise<T>): Promise<T> {
  if (v8FlagGiven(COMPILER_FLAGS)) return run();
  const v8Major = Number(process.versions.v8.split('.')[0]);
  setFlagsFromString('--max-opt=1');
  // Set at run time, --max-opt=1 does not stop Maglev on V8 13 (Node 24): it is turned off by name.
  if (v8Major >= 12) setFlagsFromString('--no-maglev');
  try {
    return await run();
  } finally {
    for (const flag of v8Major >= 12 ? [...RESTORE, ...RESTORE_V8_12] : RESTORE) setFlagsFromString(flag);
  }
}
