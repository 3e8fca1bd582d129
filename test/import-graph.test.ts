/**
 * The import graph of src/: no circle between files or between folders, and the layering of
 * /work/shared/notes/architecture.md where it already holds (an arrow goes down only).
 *
 * Read with the TypeScript parser, not regular expressions: static `import … from`, bare
 * `import './x.js'`, `export … from`, dynamic `import('./x.js')` and `import('./x.js').T` in a
 * type. Type-only imports count too: they vanish from the JavaScript, but a circle through a
 * type still ties two modules together (neither can be read, moved or published without the
 * other), and a lower layer naming a higher layer's type is the leak the layering forbids.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { ROOT } from './helpers/paths.js';

const SRC = join(ROOT, 'src');

/** src-relative paths ('session/session.ts') of every TypeScript file under src/. */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [relative(SRC, path)] : [];
  });
}

/** The relative module specifiers one file names, in every form that makes a dependency. */
function specifiers(text: string, fileName: string): string[] {
  const found: string[] = [];
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const visit = (node: ts.Node): void => {
    let spec: ts.Expression | undefined;
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier)
      spec = node.moduleSpecifier;
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
      spec = node.arguments[0];
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) spec = node.argument.literal;
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      spec = node.moduleReference.expression;
    if (spec && ts.isStringLiteralLike(spec) && spec.text.startsWith('.')) found.push(spec.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The file graph: src-relative file → the src-relative files it imports (read once). */
let graphRead: Map<string, Set<string>> | undefined;
function fileGraph(): Map<string, Set<string>> {
  return (graphRead ??= readGraph());
}

function readGraph(): Map<string, Set<string>> {
  const files = new Set(sourceFiles());
  const graph = new Map<string, Set<string>>();
  for (const file of files) {
    const targets = new Set<string>();
    for (const spec of specifiers(readFileSync(join(SRC, file), 'utf8'), file)) {
      const target = relative(SRC, resolve(SRC, dirname(file), spec)).replace(/\.js$/, '.ts');
      const resolved = [target, target.replace(/\.ts$/, '/index.ts'), `${target}/index.ts`].find((t) => files.has(t));
      // Every relative import must land on a file of src/ (else the graph below would be blind to it).
      assert.ok(resolved, `${file} imports ${spec}, which is no file under src/`);
      targets.add(resolved);
    }
    graph.set(file, targets);
  }
  return graph;
}

/** A file's folder: the first segment under src/; a file directly in src/ is its own node. */
const folderOf = (file: string): string => (file.includes('/') ? `${file.split('/')[0]}/` : file);

function folderGraph(files: Map<string, Set<string>>): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const [file, targets] of files) {
    const from = folderOf(file);
    const edges = graph.get(from) ?? new Set<string>();
    graph.set(from, edges);
    for (const target of targets) if (folderOf(target) !== from) edges.add(folderOf(target));
  }
  return graph;
}

/** Strongly connected components with more than one node or a self-import (Tarjan). */
function circles(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || graph.get(node)?.has(node)) found.push(component.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) connect(node);
  return found;
}

/** One shortest circle through the first member of a component, as `a → b → a` (breadth first). */
function example(graph: Map<string, Set<string>>, component: string[]): string {
  const start = component[0]!;
  const inside = new Set(component);
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const next of graph.get(node) ?? []) {
      if (!inside.has(next)) continue;
      if (next === start) {
        const path = [start];
        for (let at = node; at !== start; at = previous.get(at)!) path.splice(1, 0, at);
        return [...path, start].join(' → ');
      }
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return component.join(', ');
}

const report = (graph: Map<string, Set<string>>): string[] =>
  circles(graph).map(
    (component) =>
      `${example(graph, component)}${component.length > 2 ? `  (circle of ${component.length}: ${component.join(', ')})` : ''}`,
  );

/** The imports of files under `folder` that land outside it and outside `allowed` (folders, src/ files, or single files). */
function strayImports(files: Map<string, Set<string>>, folder: string, allowed: readonly string[]): string[] {
  const out: string[] = [];
  for (const [file, targets] of files) {
    if (folderOf(file) !== folder) continue;
    for (const target of targets)
      if (folderOf(target) !== folder && !allowed.includes(folderOf(target)) && !allowed.includes(target))
        out.push(`${file} → ${target}`);
  }
  return out;
}

test('the reader sees every form of import, type-only and dynamic included', () => {
  const text = [
    "import a from './a.js';",
    "import type { B } from '../b.js';",
    "import './c.js';",
    "export { d } from './d.js';",
    "export * from './e.js';",
    "const f = await import('./f.js');",
    "let g: typeof import('./g.js');",
    "import { h } from 'node:fs'; // import('./not-a-comment.js')",
  ].join('\n');
  assert.deepEqual(specifiers(text, 'x.ts'), ['./a.js', '../b.js', './c.js', './d.js', './e.js', './f.js', './g.js']);
});

test('the circle finder names a circle and leaves a tree alone', () => {
  const graph = new Map([
    ['a', new Set(['b'])],
    ['b', new Set(['c'])],
    ['c', new Set(['a', 'd'])],
    ['d', new Set<string>()],
  ]);
  assert.deepEqual(report(graph), ['a → b → c → a  (circle of 3: a, b, c)']);
  graph.get('c')!.delete('a');
  assert.deepEqual(report(graph), []);
});

test('no import circle between the files of src/', () => {
  const circlesFound = report(fileGraph());
  assert.deepEqual(circlesFound, [], `file import circles:\n  ${circlesFound.join('\n  ')}`);
});

test('no import circle between the folders of src/', () => {
  const circlesFound = report(folderGraph(fileGraph()));
  assert.deepEqual(circlesFound, [], `folder import circles:\n  ${circlesFound.join('\n  ')}`);
});

/**
 * What the lower parts of architecture.md may import, as it holds today (an arrow goes down
 * only; util/ is a helper any of them may use). The edge (flows/, the engines, render/) still
 * imports upward in places the issue names; its rules join as it moves. One exception: the
 * sink emits the session's event type (session/events.ts, types only) so one renderer shows
 * both sides; those types belong below both, a move left for later.
 */
const MAY_IMPORT: ReadonlyArray<[folder: string, allowed: readonly string[]]> = [
  ['errors.ts', []],
  ['util/', ['errors.ts']],
  ['protocol/', ['errors.ts']],
  ['sasl/', ['errors.ts', 'util/']],
  ['message/', ['errors.ts', 'protocol/', 'util/']],
  ['explain/', ['errors.ts', 'protocol/', 'util/']],
  ['session/', ['errors.ts', 'protocol/', 'sasl/', 'util/']],
  ['dkim/', ['errors.ts', 'protocol/', 'message/', 'util/']],
  ['dns/', ['errors.ts', 'protocol/', 'dkim/', 'util/']],
  // explain/ sits in architecture.md's Protocol row: the sink's HTTP API explains each reply of a session.
  ['sink/', ['errors.ts', 'protocol/', 'message/', 'explain/', 'dkim/', 'util/', 'session/events.ts']],
  ['load/', ['errors.ts', 'protocol/', 'message/', 'session/', 'sasl/', 'dns/', 'dkim/', 'flows/', 'util/']],
  // Session verbs: typed input, typed results; nothing of the terminal (render/) or the command line (cli/).
  ['flows/', ['errors.ts', 'protocol/', 'message/', 'session/', 'sasl/', 'dns/', 'dkim/', 'util/']],
  // check-message's engine: what a receiver computes, from DKIM/ARC, DNS (DMARC) and SPF.
  ['auth/', ['errors.ts', 'dkim/', 'dns/', 'spf/', 'util/']],
];

for (const [folder, allowed] of MAY_IMPORT) {
  test(`src/${folder} imports ${allowed.length ? `only from ${allowed.join(', ')}` : 'nothing of src/'}`, () => {
    const found = strayImports(fileGraph(), folder, allowed);
    assert.deepEqual(found, [], `imports against the layering:\n  ${found.join('\n  ')}`);
  });
}

test('nothing below the command line imports cli/, nor commands/ (only cli.ts and cli/ do; commands/ not cli/)', () => {
  const above: Record<string, string[]> = {
    'cli/': ['cli.ts', 'cli/'],
    'commands/': ['cli.ts', 'cli/', 'commands/'],
  };
  const found = [...fileGraph()].flatMap(([file, targets]) =>
    [...targets]
      .filter((t) => above[folderOf(t)] && !above[folderOf(t)]!.includes(folderOf(file)))
      .map((t) => `${file} → ${t}`),
  );
  assert.deepEqual(found, [], `imports of the command line from below it:\n  ${found.join('\n  ')}`);
});

/** Every node of one file's syntax tree, depth first. */
function nodesOf(file: string): ts.Node[] {
  const source = ts.createSourceFile(file, readFileSync(join(SRC, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const out: ts.Node[] = [];
  const visit = (node: ts.Node): void => {
    out.push(node);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

const where = (file: string, node: ts.Node) =>
  `${file}:${node.getSourceFile().getLineAndCharacterOfPosition(node.getStart()).line + 1}`;

// process.getBuiltinModule only loads a module of Node's lazily (session/implicit-tls.ts): no environment, no terminal.
test('no process.* in flows/, session/ or protocol/: they take what they need as input', () => {
  const found = sourceFiles()
    .filter((f) => /^(flows|session|protocol)\//.test(f))
    .flatMap((file) =>
      nodesOf(file)
        .filter(
          (n) =>
            ts.isPropertyAccessExpression(n) &&
            ts.isIdentifier(n.expression) &&
            n.expression.text === 'process' &&
            n.name.text !== 'getBuiltinModule',
        )
        .map((n) => `${where(file, n)} ${n.getText()}`),
    );
  assert.deepEqual(found, [], `process.* below the command line:\n  ${found.join('\n  ')}`);
});

test('raw flags stay in src/cli/: no *Flags name, parseDuration, readOption or `as never` anywhere else', () => {
  const found = sourceFiles()
    .filter((f) => folderOf(f) !== 'cli/')
    .flatMap((file) =>
      nodesOf(file)
        .filter(
          (n) =>
            (ts.isIdentifier(n) && /(Flags$|^parseDuration$|^readOption$)/.test(n.text)) ||
            (ts.isAsExpression(n) && n.type.kind === ts.SyntaxKind.NeverKeyword),
        )
        .map((n) => `${where(file, n)} ${n.getText()}`),
    );
  assert.deepEqual(found, [], `command-line flags below src/cli/:\n  ${found.join('\n  ')}`);
});

test('flows/ leaves a session’s options as given: no assignment to session.options (MX hosts and DANE go through the session)', () => {
  const found = sourceFiles()
    .filter((f) => folderOf(f) === 'flows/')
    .flatMap((file) =>
      nodesOf(file)
        .filter(
          (n): n is ts.BinaryExpression =>
            ts.isBinaryExpression(n) &&
            n.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
            /\boptions\./.test(n.left.getText()),
        )
        .map((n) => `${where(file, n)} ${n.left.getText()}`),
    );
  assert.deepEqual(found, [], `session options written by flows/:\n  ${found.join('\n  ')}`);
});
