/**
 * The sink's web page in a real browser (headless Chromium, test/helpers/browser.ts): the
 * list updating live, a message's view and its explained SMTP session, and a hostile message
 * that must run nothing and load nothing. A loopback "canary" server counts every connection a
 * message tries to make; it is shown to work by asking for remote images on purpose.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { browse, browserMissing, openPage, type Page } from './helpers/browser.js';
import { apiBase, catcher, deliver, message } from './helpers/catcher.js';
import type { SinkMessage } from '../src/index.js';
import { tempDir } from './helpers/process-group.js';
import { sinkProcess } from './helpers/sink-process.js';

const skip = browserMissing() ?? false;
const dir = tempDir('smtpkit-sink-web-');

/** A loopback HTTP server that counts what reaches it: connections (preconnects too) and requests. */
async function canary(): Promise<{ port: number; connections: () => number; paths: string[]; close(): void }> {
  const paths: string[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    paths.push(req.url ?? '');
    // A real 1×1 GIF, so a shown image is an image.
    res.writeHead(200, { 'content-type': 'image/gif' });
    res.end(Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64'));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    paths,
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}

const html = (subject: string, body: string, extra = '') =>
  `From: App <app@shop.test>\r\nTo: Customer <c@example.test>\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\n${extra}Content-Type: text/html; charset=utf-8\r\n\r\n${body}\r\n`;

/** A message as the sink hands it to its store, without SMTP (for floods). */
const stored = (id: string, subject: string): SinkMessage => ({
  id,
  session: 1,
  from: 'a@client.test',
  to: ['b@example.test'],
  size: 10,
  headers: [['Subject', subject]],
  file: undefined,
  tls: false,
  user: undefined,
  receivedAt: new Date().toISOString(),
  lineEndings: { bareLf: 0, bareCr: 0, normalized: false },
  raw: Buffer.from('Subject: x\r\n\r\nhi\r\n'),
});

/** Clicks the list entry of message `id` and waits for its view. */
async function view(page: Page, id: string) {
  await page.evaluate(`document.querySelector('#messages li[data-id="${id}"]').click()`);
  await page.waitFor(
    `document.querySelector('#summary') && document.querySelector('#summary').textContent.includes('${id}')`,
  );
}

test(
  'the browser helper sees what it must: a file opened by path, console errors, exceptions, every request',
  { skip },
  async () => {
    const can = await canary();
    try {
      const file = join(dir, 'helper-check.html');
      writeFileSync(
        file,
        `<!doctype html><title>t</title><p id="p">static</p><img src="http://127.0.0.1:${can.port}/seen.gif">` +
          `<script>console.error('said on purpose'); document.getElementById('p').textContent = 'changed'; setTimeout(() => { throw new Error('thrown on purpose'); });</script>`,
      );
      const seen = await browse(file, {
        waitFor: `document.getElementById('p').textContent === 'changed'`,
        screenshot: join(dir, 'helper.png'),
      });
      assert.match(seen.text, /changed/);
      assert.deepEqual(
        seen.requests.filter((u) => u.startsWith('http:')),
        [`http://127.0.0.1:${can.port}/seen.gif`],
      );
      assert.deepEqual(can.paths, ['/seen.gif']);
      const said = seen.consoleErrors.map((e) => e.text).join('\n');
      assert.match(said, /said on purpose/);
      assert.ok(existsSync(seen.screenshot!));
      // The exception comes a tick later: a page kept open sees it.
      const page = await openPage(file);
      try {
        await page.waitFor(`true`);
        for (let i = 0; i < 100 && !page.consoleErrors.some((e) => /thrown on purpose/.test(e.text)); i++)
          await new Promise((r) => setTimeout(r, 20));
        assert.ok(
          page.consoleErrors.some((e) => /thrown on purpose/.test(e.text)),
          JSON.stringify(page.consoleErrors),
        );
      } finally {
        await page.close();
      }
    } finally {
      can.close();
    }
  },
);

test('the page itself: strict CSP (default-src self), nosniff, never framed, no inline script or style, no token needed', async () => {
  const c = await catcher({ api: { token: 'a-token-of-sixteen-chars-or-more' } });
  try {
    const page = await fetch(`${c.base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /^text\/html; charset=utf-8/);
    const csp = page.headers.get('content-security-policy')!;
    assert.match(csp, /^default-src 'self';/);
    assert.match(csp, /script-src 'self';/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    const body = await page.text();
    assert.deepEqual(body.match(/<script(?![^>]*\bsrc=)[^>]*>/g), null, 'no inline script');
    assert.doesNotMatch(body, /\son[a-z]+\s*=|\sstyle\s*=|<style/i, 'no inline handlers or styles');
    assert.doesNotMatch(body, /(?:src|href)="(?:https?:)?\/\//, 'nothing from elsewhere');
    for (const [path, type] of [
      ['/app.js', /^text\/javascript/],
      ['/app.css', /^text\/css/],
    ] as const) {
      const r = await fetch(`${c.base}${path}`);
      assert.equal(r.status, 200, path);
      assert.match(r.headers.get('content-type')!, type);
      assert.doesNotMatch(await r.text(), /https?:\/\//, `${path} names no other site`);
    }
    // The page's script makes nodes with textContent only: nothing a message holds is ever parsed as markup there.
    assert.doesNotMatch(
      await (await fetch(`${c.base}/app.js`)).text(),
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|srcdoc|DOMParser|createContextualFragment/,
    );
    // The data still needs the token; the page's files hold none.
    assert.equal((await fetch(`${c.base}/api/v1/messages`)).status, 401);
    assert.equal((await fetch(`${c.base}/api/v1/events`)).status, 401);
    // Everything else is data: sandboxed if a browser is pointed at it.
    assert.match((await fetch(`${c.base}/healthz`)).headers.get('content-security-policy')!, /sandbox/);
  } finally {
    await c.close();
  }
});

test('events: a client that stops reading is cut off past its backlog, not buffered for without end', async () => {
  const c = await catcher({ api: { maxEventBacklog: 64 * 1024 } });
  try {
    const { port } = new URL(c.base);
    const s = net.connect(Number(port), '127.0.0.1');
    s.on('error', () => {});
    await new Promise((r) => s.once('connect', r));
    s.write('GET /api/v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n');
    s.pause();
    for (let i = 0; i < 100 && !c.store.watching; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(c.store.watching, 1);
    const closed = new Promise((r) => s.once('close', r));
    // 40 KiB subjects: the socket's buffers fill, then the backlog.
    const subject = 'x'.repeat(40 * 1024);
    for (let i = 0; i < 2000 && c.store.watching; i++) {
      c.store.add(stored(`BACKLOG${i}`, subject));
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(c.store.watching, 0, 'the stream was cut');
    s.resume();
    await closed;
  } finally {
    await c.close();
  }
});

test('events: closing the API ends its event streams; a message stored in between writes nothing and throws nothing', async () => {
  const c = await catcher();
  try {
    const r = await fetch(`${c.base}/api/v1/events`);
    const reader = r.body!.getReader();
    await reader.read();
    const closed = new Promise((resolve) => c.api.close(resolve));
    c.store.add(stored('AFTERCLOSE1', 'after close'));
    let got = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      got += Buffer.from(value).toString();
    }
    assert.doesNotMatch(got, /AFTERCLOSE1/);
    await closed;
  } finally {
    await c.close();
  }
});

test('DNS rebinding: with no token, a request naming another host is refused, the page and the data alike', async () => {
  const c = await catcher();
  try {
    const { port } = new URL(c.base);
    for (const path of ['/', '/api/v1/messages', '/api/v1/events'])
      for (const host of ['attacker.example', `attacker.example:${port}`, '127.0.0.1.attacker.example']) {
        const r = await new Promise<string>((resolve, reject) => {
          const s = net.connect(Number(port), '127.0.0.1');
          let got = '';
          s.on('data', (d) => (got += d));
          s.on('end', () => resolve(got));
          s.on('error', reject);
          s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
        });
        assert.match(r, /^HTTP\/1\.1 403 /, `${host}${path}`);
        assert.match(r, /is not a loopback name/);
      }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost'])
      assert.equal((await fetch(`${c.base}/healthz`, { headers: { host } })).status, 200, host);
  } finally {
    await c.close();
  }
});

test('events: /api/v1/events streams each stored message and each delete as server-sent events', async () => {
  const c = await catcher();
  try {
    const ac = new AbortController();
    const r = await fetch(`${c.base}/api/v1/events`, { signal: ac.signal });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /^text\/event-stream/);
    const reader = r.body!.getReader();
    let got = '';
    const until = async (re: RegExp) => {
      while (!re.test(got)) got += Buffer.from((await reader.read()).value!).toString();
    };
    const id = await deliver(c.smtpPort, 'live@example.test', message('Live <one>'));
    await until(/event: message\ndata: .*\n\n/);
    const data = JSON.parse(/event: message\ndata: (.*)\n\n/.exec(got)![1]!);
    assert.equal(data.id, id);
    assert.equal(data.subject, 'Live <one>');
    assert.match(got, /Live \\u003cone\\u003e/, 'markup escaped in the stream too');
    await fetch(`${c.base}/api/v1/messages/${id}`, { method: 'DELETE' });
    await until(/event: deleted\ndata: .*\n\n/);
    assert.deepEqual(JSON.parse(/event: deleted\ndata: (.*)\n\n/.exec(got)![1]!), { ids: [id] });
    ac.abort();
    // The stream is let go when its client leaves.
    for (let i = 0; i < 100 && c.store.watching; i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(c.store.watching, 0);
  } finally {
    await c.close();
  }
});

test(
  'browser: the list updates live, the view shows subject, text, headers and the explained SMTP session; no console errors; a screenshot',
  { skip },
  async () => {
    const c = await catcher();
    const page0 = await deliver(c.smtpPort, 'first@example.test', message('Order #1 confirmed'));
    const page = await openPage(`${c.base}/`);
    try {
      await page.waitFor(
        `document.querySelectorAll('#messages li').length === 1 && document.getElementById('status').textContent === 'live'`,
      );
      // Sent while the page is open: it comes in over the event stream, with no reload.
      const second = await deliver(
        c.smtpPort,
        'second@example.test',
        message('Password reset for <b>Ann</b> & co', 'X-Test: "quoted" <value>\r\n'),
      );
      await page.waitFor(`document.querySelectorAll('#messages li').length === 2`);
      const list = await page.evaluate<string[]>(
        `[...document.querySelectorAll('#messages li .subject')].map((e) => e.textContent)`,
      );
      assert.deepEqual(list, ['Password reset for <b>Ann</b> & co', 'Order #1 confirmed'], 'newest first, as text');
      assert.equal(
        await page.evaluate('document.querySelectorAll("#messages b").length'),
        0,
        'no markup from a subject',
      );

      await view(page, second);
      assert.equal(
        await page.evaluate(`document.getElementById('subject').textContent`),
        'Password reset for <b>Ann</b> & co',
      );
      await page.evaluate(`document.querySelector('[data-tab=text]').click()`);
      const text = await page.text();
      assert.match(text, /Hello\./, 'the body');
      await page.evaluate(`document.querySelector('[data-tab=headers]').click()`);
      assert.match(await page.text(), /X-Test\s+"quoted" <value>/);
      // The conversation that delivered it, each reply explained.
      await page.waitFor(`document.querySelectorAll('#session li').length > 5`);
      const session = await page.evaluate<string>(`document.getElementById('session').innerText`);
      assert.match(session, /C: MAIL FROM:<a@client\.test>/);
      assert.match(session, /S: 250 2\.0\.0 Ok: queued as [0-9A-F]+/);
      assert.match(session, /S: 354 [\s\S]*\n.*(?:data|message)/i, 'the 354 with its explanation');
      await page.evaluate(`document.querySelector('[data-tab=raw]').click()`);
      await page.waitFor(`document.getElementById('raw').textContent.includes('X-Test:')`);

      // Deleted through the API: gone from the open page.
      await fetch(`${c.base}/api/v1/messages/${page0}`, { method: 'DELETE' });
      await page.waitFor(`document.querySelectorAll('#messages li').length === 1`);

      const shot = await page.screenshot(join(dir, 'sink-web.png'));
      assert.deepEqual([...readFileSync(shot).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      assert.deepEqual(page.consoleErrors, []);
      const origin = new URL(c.base).origin;
      assert.deepEqual(
        page.requests.filter((u) => new URL(u).origin !== origin),
        [],
        'the page asked nothing of any other origin',
      );
    } finally {
      await page.close();
      await c.close();
    }
  },
);

test(
  'browser: a hostile HTML message (script, onerror, meta refresh, remote image, javascript: link, stylesheet, frame, preconnect) runs nothing and loads nothing until asked',
  { skip },
  async () => {
    const c = await catcher();
    const can = await canary();
    const remote = `http://127.0.0.1:${can.port}`;
    const pwn = `parent.document.title='PWNED';top.document.body.textContent='PWNED';fetch('${remote}/script')`;
    const body = [
      `<html><head><meta http-equiv="refresh" content="0;url=${remote}/refresh">`,
      `<link rel="stylesheet" href="${remote}/style.css"><link rel="preconnect" href="${remote}"><link rel="prefetch" href="${remote}/prefetch">`,
      `<script>${pwn}</script><script src="${remote}/script.js"></script><base href="${remote}/base/"></head>`,
      `<body onload="${pwn.replaceAll("'", '&#39;')}">`,
      `<a id="js" href="javascript:${pwn.replaceAll("'", '&#39;')}" style="display:block;width:600px;height:120px;background:#fdd">click me</a>`,
      `<img src="${remote}/image.png" onerror="${pwn.replaceAll("'", '&#39;')}"><img src="x" onerror="${pwn.replaceAll("'", '&#39;')}">`,
      `<div style="background:url(${remote}/background.png)">styled</div>`,
      `<iframe src="${remote}/frame"></iframe><object data="${remote}/object"></object>`,
      `<svg onload="${pwn.replaceAll("'", '&#39;')}"><image href="${remote}/svg.png"/></svg>`,
      `<form action="${remote}/form"><input type="submit"></form><p>Hostile body text</p></body></html>`,
    ].join('\r\n');
    const id = await deliver(
      c.smtpPort,
      'victim@example.test',
      html(`<img src=${remote}/subject onerror=alert(1)>`, body, `X-Evil: <script>${pwn}</script>\r\n`),
    );
    const page = await openPage(`${c.base}/`);
    try {
      await page.waitFor(`document.querySelectorAll('#messages li').length === 1`);
      const before = await page.evaluate<string>(`document.title`);
      await view(page, id);
      await page.waitFor(`document.getElementById('html').getAttribute('src')`);
      // Time for anything in the message to try: a refresh, an onerror, a preconnect.
      await new Promise((r) => setTimeout(r, 1500));
      // A person clicks the javascript: link (the top left of the message frame).
      const at = await page.evaluate<{ x: number; y: number }>(
        `(() => { const r = document.getElementById('html').getBoundingClientRect(); return { x: r.left + 40, y: r.top + 40 }; })()`,
      );
      await page.click(at.x, at.y);
      await new Promise((r) => setTimeout(r, 500));

      assert.equal(can.connections(), 0, `the canary was reached: ${can.paths.join(', ')}`);
      assert.equal(await page.evaluate('document.title'), before);
      assert.doesNotMatch(await page.text(), /PWNED/);
      // The subject and the header are text in the page, never elements.
      assert.equal(
        await page.evaluate(`document.querySelectorAll('img, svg, object, iframe:not(#html), form').length`),
        0,
      );
      assert.equal(await page.evaluate(`document.scripts.length`), 1, 'only the page’s own script');
      assert.equal(
        await page.evaluate(`document.getElementById('subject').textContent`),
        `<img src=${remote}/subject onerror=alert(1)>`,
      );
      assert.match(
        await page.evaluate<string>(`document.getElementById('html').getAttribute('src')`),
        new RegExp(`^/api/v1/messages/${id}/html$`),
        'the frame was not navigated away',
      );
      assert.match(
        await page.evaluate<string>(`document.getElementById('remote-count').textContent`),
        /^3 remote image\(s\) blocked\./,
      );
      // Every console error is the browser refusing part of the message, in the message's frame; the page's own is clean.
      const frameUrl = `${c.base}/api/v1/messages/${id}/html`;
      assert.deepEqual(
        page.consoleErrors.filter((e) => e.url !== frameUrl),
        [],
      );
      const said = page.consoleErrors.map((e) => e.text).join('\n');
      assert.match(
        said,
        /Refused to execute the redirect specified via '<meta http-equiv='refresh'/,
        'the refresh was tried',
      );
      assert.match(said, /Blocked script execution in .* sandboxed/, 'the scripts and handlers were tried');
      assert.match(said, /Running the JavaScript URL violates/, 'the javascript: link was clicked');
      // The browser's own log: the only attempts at the canary were the images, which the policy refused.
      assert.deepEqual(
        [...new Set(page.requests.filter((u) => u.startsWith(remote)))].sort(),
        ['/background.png', '/image.png', '/svg.png'].map((p) => remote + p),
      );

      // Asked for, remote images load (which shows the canary would have seen any request), and nothing else.
      await page.evaluate(`document.getElementById('show-images').click()`);
      for (let i = 0; i < 100 && can.paths.length < 3; i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual([...can.paths].sort(), ['/background.png', '/image.png', '/svg.png']);
      assert.equal(await page.evaluate('document.title'), before);
    } finally {
      await page.close();
      can.close();
      await c.close();
    }
  },
);

test('browser: inline images (cid:) are shown from the message’s own parts; nothing is refused', { skip }, async () => {
  const c = await catcher();
  const gif = 'R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==';
  const id = await deliver(
    c.smtpPort,
    'cid@example.test',
    'From: a@shop.test\r\nSubject: Logo\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=r\r\n\r\n' +
      '--r\r\nContent-Type: text/html\r\n\r\n<p>Hi</p><img id="logo" src="cid:Logo@shop.test">\r\n' +
      `--r\r\nContent-Type: image/gif\r\nContent-ID: <logo@shop.test>\r\nContent-Transfer-Encoding: base64\r\n\r\n${gif}\r\n--r--`,
  );
  const framed = await (await fetch(`${c.base}/api/v1/messages/${id}/html`)).text();
  assert.match(framed, new RegExp(`<img id="logo" src="/api/v1/messages/${id}/attachments/0">`));
  const image = await fetch(`${c.base}/api/v1/messages/${id}/attachments/0`);
  assert.equal(image.headers.get('content-type'), 'image/gif');
  const page = await openPage(`${c.base}/`);
  try {
    await page.waitFor(`document.querySelectorAll('#messages li').length === 1`);
    await view(page, id);
    const url = `${c.base}/api/v1/messages/${id}/attachments/0`;
    for (let i = 0; i < 100 && !page.requests.includes(url); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(page.requests.includes(url), page.requests.join('\n'));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(page.consoleErrors, []);
    assert.equal(
      await page.evaluate(`document.getElementById('remote-note').hidden`),
      true,
      'no remote images to count',
    );
  } finally {
    await page.close();
    await c.close();
  }
});

test('--http-token: the page takes the token from its #fragment; the frame and downloads carry a per-message key instead, which opens nothing else', async (t) => {
  const token = 'page-token-0123456789abcdef';
  const c = await catcher({ api: { token } });
  try {
    const id = await deliver(
      c.smtpPort,
      'k@example.test',
      html('Keyed', '<p>Keyed body</p>', 'X-Extra: 1\r\n').replace(
        'Content-Type: text/html; charset=utf-8\r\n\r\n<p>Keyed body</p>',
        'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>Keyed body</p>\r\n--b\r\nContent-Type: text/plain; name=a.txt\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nattached\r\n--b--',
      ),
    );
    const other = await deliver(c.smtpPort, 'k@example.test', html('Other', '<p>Other body</p>'));
    const auth = { headers: { authorization: `Bearer ${token}` } };
    const m = (await (await fetch(`${c.base}/api/v1/messages/${id}`, auth)).json()) as { key: string };
    assert.match(m.key, /^[0-9a-f]{32}$/);
    const base = `${c.base}/api/v1/messages/${id}`;
    assert.equal((await fetch(`${base}/html`)).status, 401, 'no key, no token');
    const framed = await fetch(`${base}/html?key=${m.key}`);
    assert.equal(framed.status, 200);
    assert.match(
      framed.headers.get('content-security-policy')!,
      /^sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data: http:\/\/127\.0\.0\.1:\d+\/api\/v1\/messages\/[0-9A-F]+\/attachments\/;/,
    );
    assert.match(await framed.text(), /Keyed body/);
    assert.equal(await (await fetch(`${base}/attachments/0?key=${m.key}`)).text(), 'attached');
    assert.equal((await fetch(`${base}/raw?key=${m.key}`)).status, 200);
    // The key is for its message's parts only.
    assert.equal((await fetch(`${c.base}/api/v1/messages/${other}/html?key=${m.key}`)).status, 401);
    assert.equal((await fetch(`${base}?key=${m.key}`)).status, 401);
    assert.equal((await fetch(`${c.base}/api/v1/messages?key=${m.key}`)).status, 401);
    assert.equal(
      (await fetch(`${base}/html?key=${m.key.replace(/.$/, (d: string) => (d === '0' ? '1' : '0'))}`)).status,
      401,
    );
    if (skip) return t.skip(skip);
    const page = await openPage(`${c.base}/#token=${token}`);
    try {
      await page.waitFor(`document.querySelectorAll('#messages li').length === 2`);
      await view(page, id);
      assert.match(
        await page.evaluate<string>(`document.getElementById('html').getAttribute('src')`),
        new RegExp(`^/api/v1/messages/${id}/html\\?key=[0-9a-f]{32}$`),
      );
      // The attachment is a download link that works without the header.
      const link = await page.evaluate<{ text: string; href: string; download: string }>(
        `(() => { const a = document.querySelector('#attachments a'); return { text: a.textContent, href: a.href, download: a.download }; })()`,
      );
      assert.equal(link.text, 'a.txt');
      assert.equal(link.download, 'a.txt');
      assert.equal(await (await fetch(link.href)).text(), 'attached');
      assert.match(await page.evaluate<string>(`document.getElementById('attachments').innerText`), /text\/plain, 8 B/);
      assert.deepEqual(page.consoleErrors, []);
    } finally {
      await page.close();
    }
  } finally {
    await c.close();
  }
});

test('CLI: smtpkit sink --http serves the page from the packaged bundle', async () => {
  const sink = await sinkProcess(['--http', '127.0.0.1:0', '-q']);
  try {
    const base = await apiBase(sink);
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>smtpkit sink<\/title>/);
    assert.match(await (await fetch(`${base}/app.js`)).text(), /api\/v1\/events/);
  } finally {
    assert.equal(await sink.stop(), 0);
  }
});
