#!/usr/bin/env node
'use strict';
// The smtpkit command. CommonJS and small, because every run pays for its start: Node
// starts a CommonJS entry faster than an ES module one, and the CLI itself is one bundle
// (dist/smtpkit.cjs, built by scripts/bundle.mjs) loaded through V8's compile cache.
const argv = process.argv.slice(2);

// CI loops ask for this: answer before loading anything else, even process.stdout (a
// stream over a pipe loads net) or require's resolution: as fast as `node -e 0`, nearly.
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const fs = require('node:fs');
  try {
    fs.writeSync(1, `${JSON.parse(fs.readFileSync(`${__dirname}/../package.json`, 'utf8')).version}\n`);
  } catch (err) {
    if (err.code !== 'EPIPE') throw err;
  }
  return;
}

// `smtpkit ... | head` closes our stdout early: stop quietly, as other CLI tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => process.exit(err.code === 'EPIPE' ? 0 : 1));
}

// Each command keeps its own compiled code (see compile-cache.cjs).
const { load, slotFor } = require('./compile-cache.cjs');
const bundle = require('node:path').join(__dirname, '..', 'dist', 'smtpkit.cjs');
let cli;
try {
  cli = load(bundle, slotFor(argv));
} catch (err) {
  // A checkout installed with --ignore-scripts, or dist/ removed: say what to do, not a stack
  // trace. Checked only on failure, so a normal start pays nothing for it.
  if (require('node:fs').existsSync(bundle)) throw err;
  process.stderr.write(
    `smtpkit: this checkout is not built (dist/smtpkit.cjs is missing): run \`npm run build\` in ${require('node:path').dirname(__dirname)}\n`,
  );
  process.exitCode = 70;
  return;
}
cli.exports.main(argv).then((code) => {
  process.exitCode = code;
  cli.save();
  // Everything should be closed by now; if a stray handle remains, do not hang a CI job on it.
  setTimeout(() => process.exit(), 1000).unref();
});
