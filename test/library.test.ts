/**
 * The library face (src/index.ts, as built into dist/lib/): what it exports, and that no
 * exported signature reaches a type of the command line. Walked with the TypeScript
 * checker over the emitted declarations, the files another program compiles against.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import ts from 'typescript';
import { dnsServer } from './helpers/dns-server.js';
import { ROOT } from './helpers/paths.js';
import { lineServer, rawServer } from './helpers/raw-server.js';

const ENTRY = `${ROOT}dist/lib/index.d.ts`;

/**
 * Every named type an exported value or type reaches, with the file that declares it: the
 * types of properties, parameters, return values, union members, type arguments, followed
 * as the checker resolves them (so Omit<X, 'key'> does not reach X's key). Private members
 * lead nowhere; a type from node_modules is recorded but not entered.
 */
function reachable(entry: string): Map<string, string> {
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    types: ['node'],
    typeRoots: [`${ROOT}node_modules/@types`],
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  assert.ok(source, entry);
  const found = new Map<string, string>();
  const seen = new Set<ts.Type>();
  const hidden = (p: ts.Symbol) =>
    p.getName().startsWith('#') ||
    (p.declarations ?? []).some(
      (d) => ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected),
    );
  const walk = (type: ts.Type): void => {
    if (seen.has(type)) return;
    seen.add(type);
    for (const symbol of [type.aliasSymbol, type.getSymbol()]) {
      const file = symbol?.declarations?.[0]?.getSourceFile().fileName;
      if (symbol && file) found.set(`${symbol.getName()} ${file}`, file);
      if (file?.includes('/node_modules/')) return;
    }
    if (type.isUnionOrIntersection()) type.types.forEach(walk);
    type.aliasTypeArguments?.forEach(walk);
    if (type.flags & ts.TypeFlags.Object && (type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference)
      checker.getTypeArguments(type as ts.TypeReference).forEach(walk);
    for (const signature of [...type.getCallSignatures(), ...type.getConstructSignatures()]) {
      for (const p of signature.getParameters()) walk(checker.getTypeOfSymbol(p));
      walk(signature.getReturnType());
    }
    for (const p of type.getProperties()) if (!hidden(p)) walk(checker.getTypeOfSymbol(p));
    for (const info of checker.getIndexInfosOfType(type)) walk(info.type);
  };
  for (const exported of checker.getExportsOfModule(checker.getSymbolAtLocation(source)!)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    if (symbol.flags & ts.SymbolFlags.Value) walk(checker.getTypeOfSymbol(symbol));
    if (symbol.flags & ts.SymbolFlags.Type) walk(checker.getDeclaredTypeOfSymbol(symbol));
  }
  return found;
}

test('the library exports the client core', async () => {
  const lib = await import(`${ROOT}dist/lib/index.js`);
  const values = [
    'SmtpSession',
    'SmtpkitError',
    'ExitCode',
    'mailTransaction',
    'mail',
    'rcpt',
    'ReplyParser',
    'buildMessage',
    'parseAddress',
  ];
  for (const name of [
    ...values,
    'explainReply',
    'explainPasted',
    'probe',
    'lookupMx',
    'Sink',
    'withSessionDefaults',
    'withSinkDefaults',
  ]) {
    assert.ok(name in lib, name);
  }
  const names = new Set([...reachable(ENTRY).keys()].map((k) => k.split(' ')[0]));
  for (const type of [
    'SessionOptions',
    'SmtpEvent',
    'Hint',
    'Envelope',
    'TransactionResult',
    'Reply',
    'ProbeResult',
    'MxReport',
    'SinkOptions',
  ])
    assert.ok(names.has(type), type);
});

test('no exported signature reaches a CLI type: no *Flags, nothing of commander, cli/, options/ or commands/', () => {
  const leaks = [...reachable(ENTRY)].flatMap(([key, file]) => {
    const name = key.split(' ')[0]!;
    const where = file.startsWith(`${ROOT}dist/lib/`) ? file.slice(`${ROOT}dist/lib/`.length) : file;
    return /Flags$/.test(name) ||
      /\/node_modules\/(commander|@commander-js)\//.test(file) ||
      /^(cli|options|commands)\//.test(where) ||
      where === 'cli.d.ts'
      ? [`${name} (${where})`]
      : [];
  });
  assert.deepEqual(leaks, []);
});

test('probe and lookupMx from the library take typed options, DNS servers as plain strings', async () => {
  const lib = (await import(`${ROOT}dist/lib/index.js`)) as typeof import('../src/index.js');
  const sink = new lib.Sink(lib.withSinkDefaults({ name: 'sink.test' }));
  const port = await sink.listen();
  const dns = await dnsServer({
    'example.test': [{ type: 'MX', exchange: 'mx.example.test', priority: 10 }],
    'mx.example.test': [{ type: 'A', address: '127.0.0.1' }],
    '1.0.0.127.in-addr.arpa': [{ type: 'PTR', domain: 'mx.example.test' }],
  });
  try {
    const mx = await lib.lookupMx('example.test', { servers: [`127.0.0.1:${dns.port}`], timeoutMs: 2000 });
    assert.deepEqual(
      mx.hosts.map((h) => [h.exchange, h.addresses.map((a) => a.address)]),
      [['mx.example.test', ['127.0.0.1']]],
    );
    const result = await lib.probe(
      {
        label: `127.0.0.1:${port}`,
        options: lib.withSessionDefaults({
          host: '127.0.0.1',
          port,
          timeouts: { connect: 5000, greeting: 5000, command: 5000 },
        }),
      },
      {
        expectBanner: /sink\.test/,
        warnDays: 21,
        critDays: 7,
        warnMs: {},
        critMs: {},
        auth: undefined,
        from: undefined,
        rcpt: undefined,
        relayTest: false,
        totalMs: 10_000,
        ptr: true,
        dns: { servers: [`127.0.0.1:${dns.port}`], timeoutMs: 2000 },
      },
    );
    const checks = new Map(result.checks.map((c) => [c.name, c.status]));
    assert.equal(checks.get('greeting'), 'pass', JSON.stringify(result.checks));
    // The PTR answer came from the test's server: its name is not the greeting's.
    assert.match(
      result.checks.find((c) => c.name === 'ptr')?.message ?? '',
      /^127\.0\.0\.1 is mx\.example\.test, but the greeting says sink\.test/,
      JSON.stringify(result.checks),
    );
  } finally {
    await dns.close();
    await sink.close();
  }
});

test('SmtpSession refuses a CR, LF or NUL in a line before it goes on the wire, whoever built the line', async () => {
  const lib = (await import(`${ROOT}dist/lib/index.js`)) as typeof import('../src/index.js');
  const server = await rawServer((s) => {
    s.write('220 raw.test ESMTP\r\n');
    lineServer(s, () => '250 ok\r\n');
  });
  try {
    const refused: string[] = [];
    const expectRefused = async (what: string, run: Promise<unknown>) => {
      const err = await run.then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!(err instanceof lib.SmtpkitError) || err.errorClass !== 'usage') refused.push(`${what}: ${String(err)}`);
    };
    const injected = new lib.SmtpSession(
      lib.withSessionDefaults({ host: '127.0.0.1', port: server.port, ehloName: 'client.test\r\nRSET' }),
      () => {},
    );
    await injected.connect();
    await expectRefused('ehloName', injected.ehlo());
    const session = new lib.SmtpSession(
      lib.withSessionDefaults({ host: '127.0.0.1', port: server.port, ehloName: 'client.test' }),
      () => {},
    );
    await session.connect();
    await session.ehlo();
    await expectRefused('command', session.command('NOOP\r\nRSET'));
    await expectRefused('mail()', session.command(lib.mail('a@example.test>\r\nDATA')));
    await expectRefused('rcpt()', session.command(lib.rcpt('b@example.test>\nDATA')));
    await expectRefused('NUL', session.pipeline([{ line: 'NOOP' }, { line: 'NOOP\0' }]));
    // The session goes on after a refused line: nothing of it reached the server.
    assert.equal((await session.command('NOOP')).code, 250);
    await session.quit();
    injected.close();
    assert.deepEqual(refused, []);
    const wire = server.received.join('');
    assert.doesNotMatch(wire, /RSET|DATA|\0/, JSON.stringify(wire));
    assert.equal(wire.match(/NOOP/g)?.length, 1, JSON.stringify(wire));
  } finally {
    await server.close();
  }
});
