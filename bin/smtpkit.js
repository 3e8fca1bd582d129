#!/usr/bin/env node
import { main } from '../dist/src/cli.js';

// `smtpkit ... | head` closes our stdout early: stop quietly, as other CLI tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => process.exit(err.code === 'EPIPE' ? 0 : 1));
}
process.exitCode = await main(process.argv.slice(2));
// Everything should be closed by now; if a stray handle remains, do not hang a CI job on it.
setTimeout(() => process.exit(), 1000).unref();
