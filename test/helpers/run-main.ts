/** Runs the CLI from tsc's output (dist/src), not the bundle: `node run-main.js ARGS`. */
import { main } from '../../src/cli.js';

process.exitCode = await main(process.argv.slice(2));
