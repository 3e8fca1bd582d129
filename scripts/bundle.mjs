// Bundles the CLI into one CommonJS file, dist/smtpkit.cjs: what bin/smtpkit.cjs runs and
// what the package ships. One file starts faster than Node resolving and linking ~40 ES
// modules, and bin/compile-cache.cjs can keep V8's compiled code for it. Code that only
// some commands need stays lazy: every `await import()` in src becomes a function the
// bundle runs on first use. The ESM-only packages used off the start-up path (ora,
// @inquirer/prompts) and dns2 stay outside it, loaded from node_modules when needed.
import { build } from 'esbuild';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));

/** src/version.ts reads package.json relative to its own file; the bundle knows it already. */
const versionPlugin = {
  name: 'version',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]version\.ts$/ }, () => ({
      contents: `export const version = () => ${JSON.stringify(version)};`,
      loader: 'ts',
    }));
  },
};

/**
 * commander requires child_process at load time for git-style executable subcommands,
 * which smtpkit never uses: hand it a stand-in that loads the real module on first use.
 */
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer)
        ? { path: 'child_process', namespace: 'lazy' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      contents: `let real; module.exports = new Proxy({}, { get: (_, key) => (real ??= require('node:child_process'))[key] });`,
      loader: 'js',
    }));
  },
};

const result = await build({
  absWorkingDir: new URL('.', root).pathname,
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/smtpkit.cjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['ora', '@inquirer/prompts', 'dns2'],
  plugins: [versionPlugin, lazyChildProcess],
  // import.meta.url is the bundle's own URL (load mode starts its worker threads from it);
  // any other import.meta would be empty in CommonJS, so it is refused.
  define: { 'import.meta.url': '__smtpkitBundleUrl' },
  banner: { js: 'var __smtpkitBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  logOverride: { 'empty-import-meta': 'error' },
  legalComments: 'none',
  // Whitespace and syntax only: a third less to read at each start (~4 ms of CPU), while
  // function names stay readable in a stack trace (SMTPKIT_DEBUG=1).
  minifyWhitespace: true,
  minifySyntax: true,
  metafile: true,
  write: false,
  logLevel: 'warning',
});
let code = result.outputFiles[0].text;

// import() in the bundle: bin/compile-cache.cjs runs it through vm.Script on Node 20, where
// import() needs an experimental flag. Built-ins become require(); the ESM-only packages are
// imported by dist/esm-import.cjs, a plain CommonJS file where import() just works.
const dynamic = new Set(
  Object.values(result.metafile.outputs).flatMap((o) =>
    o.imports.filter((i) => i.kind === 'dynamic-import' && i.external).map((i) => i.path),
  ),
);
for (const name of dynamic) {
  const call = `import(${JSON.stringify(name)})`;
  if (!code.includes(call)) throw new Error(`bundle: expected ${call} in the output`);
  const builtin = name.startsWith('node:');
  code = code.replaceAll(
    call,
    builtin
      ? `Promise.resolve().then(() => require(${JSON.stringify(name)}))`
      : `require("./esm-import.cjs")(${JSON.stringify(name)})`,
  );
}
// An import() of a name not known when bundling would fail under vm.Script at run time
// (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING): the tests run every lazy path through the bundle.
writeFileSync(new URL('dist/smtpkit.cjs', root), code);
writeFileSync(
  new URL('dist/esm-import.cjs', root),
  `'use strict';\n// For dist/smtpkit.cjs: ESM-only packages, imported from a file Node loads itself.\nmodule.exports = (specifier) => import(specifier);\n`,
);

// The bundle carries copies of packages (commander, chalk): their licences go with it.
const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m) packages.add(m[1]);
}
const notices = [...packages].sort().map((name) => {
  const dir = new URL(`node_modules/${name}/`, root);
  const file = ['LICENSE', 'LICENSE.md', 'license', 'LICENSE.txt'].find((f) => existsSync(new URL(f, dir)));
  if (!file) throw new Error(`bundle: ${name} has no licence file to ship with the bundle`);
  const { version: v } = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8'));
  return `${name} ${v}\n\n${readFileSync(new URL(file, dir), 'utf8').trim()}`;
});
appendFileSync(
  new URL('dist/smtpkit.cjs', root),
  `\n/*\nBundled packages and their licences:\n\n${notices.join('\n\n---\n\n').replaceAll('*/', '* /')}\n*/\n`,
);
