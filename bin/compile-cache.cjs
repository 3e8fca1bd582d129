'use strict';
// Loads the bundle with V8's compiled code kept from an earlier run: most of a start is
// parsing and compiling JavaScript, and a cache hit skips it. Node >= 22.1 has this built
// in (module.enableCompileCache); on older Node, vm.Script's cachedData does the same.
// The cache lives in the user's own cache directory, never a shared one: compiled code
// read from a place others can write would run as whoever runs smtpkit. Everything here
// fails quietly: without a cache smtpkit only starts a little slower.
// NODE_DISABLE_COMPILE_CACHE=1 (Node's own switch) turns it off.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const { createRequire, enableCompileCache } = Module;

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
 * Requires `file` (a CommonJS bundle) through the cache. `slot` names the cache entry (the
 * command): each keeps the functions its own runs compiled. Returns the module's exports
 * and a function to call once the work is done, which saves the cache when it was missing
 * or stale (that is when it holds the most compiled code).
 */
function load(file, slot, env = process.env) {
  const dir = cacheDir(env);
  if (!dir) return { exports: require(file), save: () => {} };
  if (enableCompileCache) {
    // Node keys its entries by content; a directory of its own keeps them apart from ours.
    enableCompileCache(path.join(dir, 'node'));
    return { exports: require(file), save: () => {} };
  }
  return loadWithCachedData(file, dir, `${fnv1a(file)}-`, slot);
}

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

function loadWithCachedData(file, dir, prefix, slot) {
  const cacheFile = path.join(dir, `${prefix}${slot}.v8`);
  const source = fs.readFileSync(file, 'utf8');
  const st = fs.statSync(file);
  // V8 checks the cache against the source only by length: a rebuilt bundle of the same
  // length would take stale code. So the entry names the file's size and time, and Node's.
  const stamp = `${process.version} ${process.arch} ${st.size} ${st.mtimeMs}\n`;
  let cachedData;
  try {
    const fd = fs.openSync(cacheFile, 'r');
    try {
      if (fs.fstatSync(fd).uid === process.getuid()) {
        const data = fs.readFileSync(fd);
        if (data.subarray(0, stamp.length).toString('latin1') === stamp) cachedData = data.subarray(stamp.length);
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
    if (cachedData && !script.cachedDataRejected) return;
    try {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, Buffer.concat([Buffer.from(stamp, 'latin1'), script.createCachedData()]), { mode: 0o600 });
      fs.renameSync(tmp, cacheFile);
      prune(dir, prefix);
    } catch {
      // A read-only home, a full disk: run uncached.
    }
  };
  return { exports: mod.exports, save };
}

module.exports = { load, cacheDir, privateDir };
