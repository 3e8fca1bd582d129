'use strict';
// Loads the bundle with V8's compiled code kept from an earlier run: most of a start is
// parsing and compiling JavaScript, and a cache hit skips it. vm.Script's cached data, made
// after the run, on every Node: Node's own compile cache (module.enableCompileCache, 22.1+)
// serializes a file's code right after compiling it, before it runs, so it keeps only the
// top level; every function a command calls was compiled again on every run, and all
// commands shared its one entry.
// The cache lives in the user's own cache directory, never a shared one: compiled code
// read from a place others can write would run as whoever runs smtpkit. Everything here
// fails quietly: without a cache smtpkit only starts a little slower.
// NODE_DISABLE_COMPILE_CACHE=1 (Node's own switch) turns it off.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');
const { isAscii } = require('node:buffer');

const { createRequire } = Module;

/** $XDG_CACHE_HOME/smtpkit or ~/.cache/smtpkit, created private; undefined when unusable. */
function cacheDir(env = process.env) {
  if (env.NODE_DISABLE_COMPILE_CACHE || typeof process.getuid !== 'function') return undefined;
  const base = env.XDG_CACHE_HOME || (env.HOME && path.join(env.HOME, '.cache'));
  if (!base || !path.isAbsolute(base)) return undefined;
  const dir = path.join(base, 'smtpkit');
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    return privateDir(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** Ours alone: owned by this user, and nobody else may write into it. */
function privateDir(dir) {
  const st = fs.statSync(dir);
  return st.isDirectory() && st.uid === process.getuid() && (st.mode & 0o022) === 0;
}

/** FNV-1a: a short stable name for the bundle's path (crypto costs more than it saves here). */
function fnv1a(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * Each command keeps its own compiled code: one run compiles only the functions its command
 * calls, and an entry shared by two commands held the code of whichever wrote it. The names
 * are the command table's (src/cli/commands.ts; compile-cache.test checks they agree); a
 * word not listed (a typo, help) shares 'other'.
 */
const COMMANDS = new Set([
  'connect',
  'repl',
  'ehlo',
  'auth',
  'starttls',
  'send',
  'mx-lookup',
  'audit',
  'spf',
  'dkim-verify',
  'check-message',
  'probe',
  'sink',
  'exporter',
  'demo',
  'explain',
  'completion',
]);
// Load mode (send with --count, --concurrency, --per-connection or --rate) runs other code
// than a single send: sharing send's entry, a load run left one a single send found lacking.
const LOAD_FLAGS = /^--(count|concurrency|per-connection|rate)(=|$)/;

/** The cache entry a command line uses. */
function slotFor(argv) {
  const [command] = argv;
  if (!COMMANDS.has(command)) return 'other';
  return command === 'send' && argv.some((a) => LOAD_FLAGS.test(a)) ? 'send-load' : command;
}

/**
 * Requires `file` (a CommonJS bundle) through the cache. `slot` names the cache entry (the
 * command): each keeps the functions its own runs compiled. Returns the module's exports
 * and a function to call once the work is done, which saves the cache when it was missing,
 * stale, or written by a run that stopped sooner (see `reach`).
 */
function load(file, slot, env = process.env) {
  const dir = cacheDir(env);
  if (!dir) return { exports: require(file), save: () => {} };
  return loadWithCachedData(file, dir, `${fnv1a(file)}-`, slot);
}

/**
 * How far a run went, in built-in modules loaded: a send that could not connect loads no
 * TLS, SASL or message code, one that delivered does. V8 keeps only the functions a run
 * compiled, so an entry written by a run that stopped early (a refused connection, a typo
 * in an address) lacked what every later full run needed, for good: it was saved once. An
 * entry is now written again by a run that went further than the one that wrote it, and
 * only then (saving costs a few milliseconds), so it settles after the first full run.
 */
const reach = () => (Array.isArray(process.moduleLoadList) ? process.moduleLoadList.length : 0);

/**
 * Each install of smtpkit (another path: npx keeps each version apart) leaves entries of its
 * own; those of other installs not rewritten for a month go when an entry is saved, so the
 * directory does not grow for ever. An install still in use only compiles again once.
 */
const STALE_MS = 30 * 24 * 3600 * 1000;
function prune(dir, ownPrefix) {
  const before = Date.now() - STALE_MS;
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith(ownPrefix) || !/\.v8(\.\d+\.tmp)?$/.test(name)) continue;
    const entry = path.join(dir, name);
    try {
      if (fs.lstatSync(entry).mtimeMs < before) fs.unlinkSync(entry);
    } catch {
      // Gone already (another run pruned it).
    }
  }
}

/**
 * V8 checks an entry's header and length but, in a release build, not its code: a damaged
 * entry of the right length (a disk error, a stray write) was deserialized and crashed Node
 * (SIGSEGV). So the entry carries the CRC-32 of its code (hex), checked before V8 sees it. Not V8's
 * own check (--verify-snapshot-checksum): a V8 flag set at run time makes Node compile each
 * of its own modules loaded later afresh (their cached code is keyed by the flags), 20 ms
 * more per start. zlib's CRC-32 is native (Node 20.15+): 0.2 ms for an entry, and loading
 * zlib 0.6 more once streams are loaded (the bin has loaded them: stdout); a sum in JavaScript
 * over the same 400 KB took 2.8 ms, run once and so never optimized.
 */
const codeSum = (bytes, zlib) => zlib.crc32(bytes).toString(16);

function loadWithCachedData(file, dir, prefix, slot) {
  // Loaded whether or not an entry exists, so a run's reach (below) does not depend on it.
  const zlib = require('node:zlib');
  const cacheFile = path.join(dir, `${prefix}${slot}.v8`);
  // The bundle is ASCII (startup.test checks it): read as such, it skips UTF-8 decoding and V8
  // gets a one-byte string, half the size (2 ms less per start, measured).
  const bytes = fs.readFileSync(file);
  const source = isAscii(bytes) ? bytes.latin1Slice(0, bytes.length) : bytes.toString('utf8');
  const st = fs.statSync(file);
  // V8 checks the cache against the source only by length: a rebuilt bundle of the same
  // length would take stale code. So the entry names the file's size and times, and Node's;
  // then the reach of the run that wrote it. Not the modification time alone: npm gives every
  // file it installs the same one (1985-10-26), so an upgrade to a bundle of the same size
  // ran the old version's code. Writing the file anew changes its inode change time (ctime),
  // which nobody can set back.
  const stamp = `${process.version} ${process.arch} ${st.size} ${st.mtimeMs} ${st.ctimeMs} `;
  let cachedData;
  let reached = 0;
  try {
    const fd = fs.openSync(cacheFile, 'r');
    try {
      if (fs.fstatSync(fd).uid === process.getuid()) {
        const data = fs.readFileSync(fd);
        const eol = data.indexOf(10);
        const header = eol < 0 ? '' : data.subarray(0, eol).toString('latin1');
        const tail = header.startsWith(stamp) && /^(\d+) ([0-9a-f]+)$/.exec(header.slice(stamp.length));
        if (tail && codeSum(data.subarray(eol + 1), zlib) === tail[2]) {
          cachedData = data.subarray(eol + 1);
          reached = Number(tail[1]);
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // No entry yet.
  }
  const script = new vm.Script(Module.wrap(source), {
    filename: file,
    cachedData,
    // No importModuleDynamically: on Node 20 it is experimental (and warns). The bundle has
    // no import() of its own; scripts/bundle.mjs routes them through dist/esm-import.cjs.
  });
  // A module like require() makes, and in require.cache, so the file counts as loaded once.
  const mod = new Module(file, module);
  mod.filename = file;
  require.cache[file] = mod;
  script.runInThisContext().call(mod.exports, mod.exports, createRequire(file), mod, file, path.dirname(file));
  mod.loaded = true;
  const save = () => {
    const now = reach();
    if (cachedData && !script.cachedDataRejected && now <= reached) return;
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    try {
      const code = script.createCachedData();
      const header = Buffer.from(`${stamp}${now} ${codeSum(code, zlib)}\n`, 'latin1');
      fs.writeFileSync(tmp, Buffer.concat([header, code]), { mode: 0o600 });
      fs.renameSync(tmp, cacheFile);
      prune(dir, prefix);
    } catch {
      // A read-only home, a full disk: run uncached. A temporary file written whole but not
      // renamed would stay for good (prune spares our own prefix): each run left one more.
      try {
        fs.unlinkSync(tmp);
      } catch {
        // Never written.
      }
    }
  };
  return { exports: mod.exports, save };
}

module.exports = { load, slotFor, COMMANDS, cacheDir, privateDir };
