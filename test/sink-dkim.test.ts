import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, test } from 'node:test';
import { dkimSign } from '../src/dkim/sign.js';
import { publicRecord, type SigningKey } from '../src/dkim/key.js';
import { Resolver, parseServer } from '../src/dns/resolver.js';
import type { OutgoingMessage } from '../src/message/build.js';
import { apiBase, catcher, getJson, message } from './helpers/catcher.js';
import { sinkProcess } from './helpers/sink-process.js';
import { envelope, rawClient } from './helpers/abusive-clients.js';
import { browserMissing, openPage } from './helpers/browser.js';
import { dnsServer, type Zone } from './helpers/dns-server.js';
import { DKIM_CONCURRENCY } from '../src/sink/store.js';
import type { KeyLookup } from '../src/dkim/key-lookup.js';

/**
 * The sink checks each stored message's DKIM signatures after its 250, with keys from a DNS
 * server this test starts, and the API shows one verdict per signature.
 */

const { privateKey } = generateKeyPairSync('ed25519');
const key: SigningKey = { key: privateKey, algorithm: 'ed25519-sha256', bits: 256, warning: undefined };

const zone: Zone = {
  'sel._domainkey.shop.test': [{ type: 'TXT', data: publicRecord(key) }],
  'slow._domainkey.shop.test': 'SILENT',
};
const dns = await dnsServer(zone);
after(() => dns.close());

const keysAt = (timeoutMs = 2000) =>
  new Resolver({
    servers: [parseServer(`127.0.0.1:${dns.port}`)],
    tcp: false,
    doh: undefined,
    timeoutMs,
    ca: undefined,
  });

/** `raw` signed with d=shop.test and the selector given, by the project's signer. */
async function signed(raw: string, selector: string): Promise<string> {
  const bytes = Buffer.from(raw);
  const m: OutgoingMessage = {
    size: bytes.length,
    eightBit: false,
    utf8: false,
    headerLines: [],
    chunks: async function* () {
      yield bytes;
    },
  };
  const out = await dkimSign(m, {
    key,
    selector,
    domain: 'shop.test',
    canon: { header: 'relaxed', body: 'relaxed' },
    headers: undefined,
  });
  const parts: Buffer[] = [];
  for await (const c of out.chunks()) parts.push(c);
  return Buffer.concat(parts).toString();
}

/** Delivers `data`; resolves with its queue id and how long the 250 after the end of data took. */
async function deliverTimed(port: number, data: string): Promise<{ id: string; replyMs: number }> {
  const c = await rawClient(port);
  try {
    await envelope(c, 'c@example.test');
    await c.send('DATA\r\n');
    await c.waitFor(/^354 /m);
    const t0 = performance.now();
    await c.send(`${data.replace(/\r\n$/, '')}\r\n.\r\n`);
    const id = /queued as ([0-9A-F]+)/.exec(await c.waitFor(/queued as [0-9A-F]+/))![1]!;
    return { id, replyMs: performance.now() - t0 };
  } finally {
    c.destroy();
  }
}

/** The message's `dkim` once the check is done (it runs after the 250). */
async function dkimOf(base: string, id: string, withinMs = 5000): Promise<unknown> {
  const end = Date.now() + withinMs;
  for (;;) {
    const m = (await getJson(`${base}/api/v1/messages/${id}`)).body;
    if (m.dkim !== undefined || Date.now() > end) return m.dkim;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('sink DKIM: a signed message passes, one altered after signing fails, both in the list and the message', async () => {
  const c = await catcher({ store: { keys: keysAt() } });
  const good = await signed(message('Your order #1'), 'sel');
  const ok = await deliverTimed(c.smtpPort, good);
  const pass = (await dkimOf(c.base, ok.id)) as Record<string, string>[];
  assert.deepEqual(
    pass.map(({ domain, selector, result, reason }) => ({ domain, selector, result, reason })),
    [{ domain: 'shop.test', selector: 'sel', result: 'pass', reason: 'pass' }],
  );
  assert.equal(typeof pass[0]!.explanation, 'string');
  const bad = await deliverTimed(c.smtpPort, good.replace('Hello.', 'Hello!'));
  const verdict = (await dkimOf(c.base, bad.id)) as { result: string; reason: string; domain: string }[];
  assert.equal(verdict.length, 1);
  assert.equal(verdict[0]!.result, 'fail');
  assert.equal(verdict[0]!.reason, 'body-hash-mismatch');
  const list = (await getJson(`${c.base}/api/v1/messages`)).body.messages as {
    id: string;
    dkim?: { result: string }[];
  }[];
  assert.deepEqual(
    list.map((m) => [m.id, m.dkim?.map((d) => d.result)]),
    [
      [bad.id, ['fail']],
      [ok.id, ['pass']],
    ],
  );
});

test('sink DKIM: the live list hears of the message twice, stored and then with its verdict (no polling needed)', async () => {
  const c = await catcher({ store: { keys: keysAt() } });
  const heard: { id: string; dkim: unknown }[] = [];
  c.store.watch((change) => {
    if (change.type === 'message') heard.push({ id: change.message.id, dkim: change.message.dkim });
  });
  const { id } = await deliverTimed(c.smtpPort, await signed(message('Your order #2'), 'sel'));
  const end = Date.now() + 5000;
  while (heard.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(
    heard.map((h) => [h.id, (h.dkim as { result: string }[] | undefined)?.map((d) => d.result)]),
    [
      [id, undefined],
      [id, ['pass']],
    ],
  );
});

test('sink DKIM: a key not in DNS is a permerror (RFC 6376 §6.1.2); an unsigned message has no dkim', async () => {
  const c = await catcher({ store: { keys: keysAt() } });
  const nokey = await deliverTimed(c.smtpPort, await signed(message('No key'), 'gone'));
  const verdict = (await dkimOf(c.base, nokey.id)) as { result: string; reason: string; selector: string }[];
  assert.equal(verdict[0]!.result, 'permerror');
  assert.equal(verdict[0]!.reason, 'key-not-found');
  assert.equal(verdict[0]!.selector, 'gone');
  const plain = await deliverTimed(c.smtpPort, message('Unsigned'));
  // Given the time a signed one took, and asked in the list as well.
  assert.equal(await dkimOf(c.base, plain.id, 300), undefined);
  const listed = (await getJson(`${c.base}/api/v1/messages?subject=Unsigned`)).body.messages[0];
  assert.equal('dkim' in listed, false);
});

test('sink DKIM: a DNS server that never answers does not delay the 250; the verdict is a temperror after the timeout', async () => {
  const c = await catcher({ store: { keys: keysAt(1500) } });
  const asked = dns.asked.udp;
  const slow = await deliverTimed(c.smtpPort, await signed(message('Slow DNS'), 'slow'));
  assert.ok(slow.replyMs < 1000, `the 250 took ${Math.round(slow.replyMs)} ms`);
  assert.equal(
    (await getJson(`${c.base}/api/v1/messages/${slow.id}`)).body.subject,
    'Slow DNS',
    'stored before the key came',
  );
  const verdict = (await dkimOf(c.base, slow.id, 10_000)) as { result: string; reason: string }[];
  assert.ok(dns.asked.udp > asked, 'the key was asked for');
  assert.equal(verdict[0]!.result, 'temperror');
  assert.equal(verdict[0]!.reason, 'dns-failure');
});

test('sink DKIM: a flood of signed messages starts at most DKIM_CONCURRENCY checks at once, the rest queued, no 250 delayed', async () => {
  // The real resolver, behind a gate that holds every answer until the test opens it.
  const real = keysAt();
  let running = 0;
  let most = 0;
  let started = 0;
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  const keys: KeyLookup = {
    async txt(name) {
      started++;
      most = Math.max(most, ++running);
      try {
        await gate;
        return await real.txt(name);
      } finally {
        running--;
      }
    },
  };
  const c = await catcher({ store: { keys } });
  const count = 4 * DKIM_CONCURRENCY;
  const mail = await signed(message('Flood'), 'sel');
  const sent = await Promise.all(Array.from({ length: count }, () => deliverTimed(c.smtpPort, mail)));
  for (const s of sent) assert.ok(s.replyMs < 1000, `a 250 took ${Math.round(s.replyMs)} ms`);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(started, DKIM_CONCURRENCY, 'only the first checks started while their keys were held');
  const metrics = await (await fetch(`${c.base}/metrics`)).text();
  assert.match(metrics, new RegExp(`^smtpkit_sink_dkim_checks\\{state="running"\\} ${DKIM_CONCURRENCY}$`, 'm'));
  assert.match(metrics, new RegExp(`^smtpkit_sink_dkim_checks\\{state="queued"\\} ${count - DKIM_CONCURRENCY}$`, 'm'));
  open();
  const verdicts = await Promise.all(sent.map((s) => dkimOf(c.base, s.id, 10_000)));
  for (const v of verdicts) assert.equal((v as { result: string }[] | undefined)?.[0]?.result, 'pass');
  assert.equal(started, count, 'every message checked in the end');
  assert.equal(most, DKIM_CONCURRENCY);
});

test('sink DKIM: queued checks of evicted or deleted messages never start; the /metrics gauges follow; running ones end', async () => {
  const real = keysAt();
  let started = 0;
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  const keys: KeyLookup = {
    async txt(name) {
      started++;
      await gate;
      return real.txt(name);
    },
  };
  const kept = 6;
  const c = await catcher({ store: { keys, maxMessages: kept } });
  const mail = await signed(message('Evicted'), 'sel');
  const sent: string[] = [];
  for (let i = 0; i < 2 * kept; i++) sent.push((await deliverTimed(c.smtpPort, mail)).id);
  const gauges = async () => {
    const m = await (await fetch(`${c.base}/metrics`)).text();
    const read = (state: string) =>
      Number(new RegExp(`^smtpkit_sink_dkim_checks\\{state="${state}"\\} (\\d+)$`, 'm').exec(m)?.[1]);
    return { running: read('running'), queued: read('queued') };
  };
  // The first four run (their messages since evicted); of the six kept, all wait.
  assert.deepEqual(await gauges(), { running: DKIM_CONCURRENCY, queued: kept });
  assert.equal((await fetch(`${c.base}/api/v1/messages/${sent.at(-1)}`, { method: 'DELETE' })).status, 200);
  assert.deepEqual(await gauges(), { running: DKIM_CONCURRENCY, queued: kept - 1 });
  await fetch(`${c.base}/api/v1/messages`, { method: 'DELETE' });
  assert.deepEqual(await gauges(), { running: DKIM_CONCURRENCY, queued: 0 });
  const told: unknown[] = [];
  const stop = c.store.watch((change) => told.push(change));
  open();
  const until = Date.now() + 5000;
  while ((await gauges()).running && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  stop();
  assert.deepEqual(await gauges(), { running: 0, queued: 0 });
  assert.equal(started, DKIM_CONCURRENCY, 'no check started for a message no longer stored');
  assert.deepEqual(told, [], 'no verdict told for a message no longer stored');
  assert.equal(c.store.list().total, 0);
});

test('smtpkit sink --http --resolver: the command checks signatures against the resolver given', async () => {
  const sink = await sinkProcess([
    '--http',
    '127.0.0.1:0',
    '-q',
    '--resolver',
    `127.0.0.1:${dns.port}`,
    '--dns-timeout',
    '2s',
  ]);
  try {
    const base = await apiBase(sink);
    const { id } = await deliverTimed(sink.port, await signed(message('From the command'), 'sel'));
    const verdict = (await dkimOf(base, id)) as { result: string; domain: string }[];
    assert.deepEqual(
      verdict.map((d) => [d.domain, d.result]),
      [['shop.test', 'pass']],
    );
  } finally {
    await sink.stop();
  }
});

test(
  'browser: the message view shows one DKIM line per signature, as text',
  { skip: browserMissing() ?? false },
  async () => {
    const c = await catcher({ store: { keys: keysAt() } });
    const { id } = await deliverTimed(c.smtpPort, await signed(message('Signed <b>twice</b>'), 'sel'));
    const bad = await deliverTimed(c.smtpPort, (await signed(message('Altered'), 'sel')).replace('Hello.', 'Hello!'));
    await dkimOf(c.base, id);
    await dkimOf(c.base, bad.id);
    const page = await openPage(`${c.base}/`);
    try {
      const lines = async (which: string) => {
        await page.waitFor(`document.querySelectorAll('#messages li').length === 2`);
        await page.evaluate(`document.querySelector('#messages li[data-id="${which}"]').click()`);
        await page.waitFor(`document.getElementById('summary').textContent.includes('${which}')`);
        return page.evaluate<string[]>(
          `[...document.querySelectorAll('#summary dt')].filter((d) => d.textContent === 'DKIM').map((d) => d.nextElementSibling.textContent)`,
        );
      };
      const pass = await lines(id);
      assert.equal(pass.length, 1);
      assert.match(pass[0]!, /^pass: d=shop\.test s=sel \(pass: /);
      const fail = await lines(bad.id);
      assert.match(fail[0]!, /^fail: d=shop\.test s=sel \(body-hash-mismatch: /);
      assert.deepEqual(page.consoleErrors, []);
    } finally {
      await page.close();
    }
  },
);
