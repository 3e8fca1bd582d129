import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { scripted } from './helpers/fault-server.js';
import { measuredRun, MiB } from './helpers/peak-rss.js';
import { rawServer, type RawServer } from './helpers/raw-server.js';

// Scale without growth (issue 25): a probe of 2,000 targets holds no more memory than one
// of 50, because each result is written as it finishes and then let go. The child runs so
// that its peak shows what it holds and nothing the runtime adds by itself over a long busy
// run (measured on Node 20, 22 and 24; without both settings the peak grows on every Node,
// as it does for a bare loop of Node sockets):
// - a full GC every 50 ms: left to itself, V8 lets garbage pile up in a young generation
//   and an old space that grow with the allocation rate (+19 MiB on Node 20, +55 to +70 on
//   Node 24 at 2,000 targets, whatever is held);
// - no optimizing compiler (measuredRun's optimize: false): its one-time warm-up after a few
//   hundred targets costs +10 to +12 MiB on Node 24 (+5 on 20), the same at 6,000 targets as at 2,000.
// So measured, the peak grows by 1 to 2 MiB from 50 to 6,000 targets on Node 20, 22 and 24.
const skip = process.platform !== 'linux' ? 'reads /proc' : false;
let servers: RawServer[] = [];
let dir = '';

before(async () => {
  // Plain servers with an EHLO reply of the usual length: quick to probe, 2,000 times over.
  const extensions = [
    'PIPELINING',
    'SIZE 52428800',
    '8BITMIME',
    'ENHANCEDSTATUSCODES',
    'SMTPUTF8',
    'CHUNKING',
    'DSN',
    ...Array.from({ length: 8 }, (_, i) => `X-VENDOR-${i} ${'v'.repeat(40)}`),
  ];
  servers = await Promise.all(
    Array.from({ length: 4 }, () => rawServer(scripted({ greeting: '220 plain.test ESMTP\r\n', extensions }))),
  );
  dir = mkdtempSync(join(tmpdir(), 'smtpkit-probe-rss-'));
});
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

function targets(n: number): { file: string; specs: string[] } {
  const specs = Array.from({ length: n }, (_, i) => `127.0.0.1:${servers[i % servers.length]!.port}`);
  const file = join(dir, `targets-${n}`);
  writeFileSync(file, `${specs.join('\n')}\n`);
  return { file, specs };
}

// JSON lines take the JSON document's road; both are checked for order and completeness in probe-contract.test.ts.
for (const format of ['text', 'json', 'nagios'] as const) {
  test(
    `probe --format ${format}: peak RSS for 2,000 targets stays within 10 MiB of that for 50`,
    { skip, timeout: 40_000 },
    async (t) => {
      const run = async (n: number) => {
        const { file } = targets(n);
        // A full GC every 50 ms and no optimizing compiler (see above). Two malloc arenas:
        // glibc's per-thread arenas for the DNS thread pool add ~3 MiB once the pool is busy,
        // which is no result held either.
        const r = await measuredRun(
          ['probe', '--targets', file, '--format', format, '--concurrency', '10', '--timeout', '5s'],
          {
            limitMs: 40_000,
            env: { ...process.env, NO_COLOR: '1', MALLOC_ARENA_MAX: '2' },
            collectEvery: 50,
            optimize: false,
          },
        );
        // Every target warns (no STARTTLS): exit 0, or WARNING (1) for Nagios.
        assert.equal(r.code, format === 'nagios' ? 1 : 0, r.out.slice(-2000));
        return r;
      };
      // The peak of a short run lands in one of two modes ~3 MiB apart (where a GC falls): its
      // highest of three is the run's real peak, so the bound is not met by a low reading.
      const smalls = [await run(50), await run(50), await run(50)];
      const small = smalls.reduce((a, b) => (b.peak > a.peak ? b : a));
      const large = await run(2000);
      // Every result is there, in the order given.
      if (format === 'text') assert.equal(large.out.match(/^=== OK with warnings: /gm)?.length, 2000);
      if (format === 'json') {
        const doc = JSON.parse(large.out);
        assert.equal(doc.results.length, 2000);
        assert.deepEqual(doc.summary, { targets: 2000, ok: 2000, failed: 0 });
        assert.equal(doc.outcome.exitCode, 0);
      }
      if (format === 'nagios')
        assert.match(large.out, /^SMTP WARNING - 2000 targets: 0 ok, 2000 warning, 0 critical, 0 unknown\n/);
      const grew = (large.peak - small.peak) / MiB;
      t.diagnostic(
        `peak RSS ${(small.peak / MiB).toFixed(1)} MiB for 50 targets, ${(large.peak / MiB).toFixed(1)} MiB for 2,000`,
      );
      assert.ok(
        grew < 10,
        `peak RSS ${(small.peak / MiB).toFixed(1)} MiB for 50 targets, ${(large.peak / MiB).toFixed(1)} MiB for 2,000 (+${grew.toFixed(1)} MiB)`,
      );
    },
  );
}
