#!/usr/bin/env node
import { main } from '../dist/src/cli.js';

process.exitCode = await main(process.argv.slice(2));
// Everything should be closed by now; if a stray handle remains, do not hang a CI job on it.
setTimeout(() => process.exit(), 1000).unref();
