/**
 * The project's one headless browser: Debian's Chromium, driven over its DevTools protocol
 * through a pipe (--remote-debugging-pipe: no port to find or leave open), by the few commands
 * tests need. No dependency: the protocol is JSON messages ended by a NUL byte on fd 3 (to the
 * browser) and fd 4 (from it). What a page does is recorded from every frame it has, iframes
 * in other processes included (auto-attached): the URLs it requested and its console errors.
 *
 *   const page = await openPage('http://127.0.0.1:8025/');      // or a file path
 *   await page.waitFor("document.querySelectorAll('li').length > 0");
 *   page.requests, page.consoleErrors, await page.text(), await page.screenshot(path)
 *   await page.close();
 *
 * or, in one call: `await browse(target, { waitFor, screenshot })`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { ownGroup, tempDir } from './process-group.js';

const CANDIDATES = [process.env.SMTPKIT_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];

let found: { path: string | undefined; why: string | undefined } | undefined;

/** Why browser tests cannot run here (give it to `skip`), or undefined when Chromium is there. */
export function browserMissing(): string | undefined {
  if (!found) {
    const path = CANDIDATES.find((p): p is string => !!p && existsSync(p));
    const runs = path && spawnSync(path, ['--version'], { timeout: 20_000, stdio: 'ignore' }).status === 0;
    found = runs
      ? { path, why: undefined }
      : {
          path: undefined,
          why: path
            ? `${path} does not run (--version failed): browser tests skipped`
            : 'Chromium is not installed (apt-get install chromium; or set SMTPKIT_CHROMIUM): browser tests skipped',
        };
  }
  return found.why;
}

export interface ConsoleError {
  /** What the console said (an exception's description, a CSP report, console.error's arguments). */
  text: string;
  /** The document or script it came from, when the browser says. */
  url: string | undefined;
}

export interface Page {
  /**
   * Every URL a frame of the page asked for (data: URLs left out), in order, including those
   * the browser then refused (a Content-Security-Policy): attempts, not loads.
   */
  readonly requests: string[];
  readonly consoleErrors: ConsoleError[];
  /** The value of a JavaScript expression in the page (awaited if it is a promise), as JSON. */
  evaluate<T = unknown>(expression: string): Promise<T>;
  /** Resolves once the expression is true in the page; rejects after `timeoutMs` (default 10 s). */
  waitFor(expression: string, timeoutMs?: number): Promise<void>;
  /** The page's text as a person sees it (document.body.innerText). */
  text(): Promise<string>;
  /** A left click at a point of the viewport, as a person's mouse makes it (also inside iframes). */
  click(x: number, y: number): Promise<void>;
  /** A PNG of the viewport, written to `path`; returns the path. */
  screenshot(path: string): Promise<string>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Viewport size (default 1280 × 900). */
  width?: number;
  height?: number;
  /** The whole open (start, load) must end within this (default 20 s). */
  timeoutMs?: number;
}

interface Pending {
  resolve: (v: any) => void;
  reject: (e: Error) => void;
}

/** One browser process with one page: opened on `target` (a URL, or a path to a local file). */
export async function openPage(target: string, opts: OpenOptions = {}): Promise<Page> {
  const why = browserMissing();
  if (why) throw new Error(why);
  const url = /^[a-z][a-z0-9+.-]*:/i.test(target)
    ? target
    : pathToFileURL(isAbsolute(target) ? target : resolve(target)).href;
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const profile = tempDir('smtpkit-chromium-');
  const child = ownGroup(
    spawn(
      found!.path!,
      [
        '--headless=new',
        '--remote-debugging-pipe',
        // Tests run as root in CI containers, where Chromium's own sandbox cannot start.
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        `--user-data-dir=${profile}`,
        '--no-first-run',
        '--no-default-browser-check',
        // Nothing of its own on the network: only what a page asks for shows in `requests`.
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-domain-reliability',
        '--disable-features=Translate,OptimizationHints,MediaRouter,InterestFeedContentSuggestions',
        '--metrics-recording-only',
        '--mute-audio',
        '--password-store=basic',
        '--use-mock-keychain',
        `--window-size=${opts.width ?? 1280},${opts.height ?? 900}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true },
    ),
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const cdp = new Cdp(child.stdio[3] as Writable, child.stdio[4] as Readable, child);
  const deadline = setTimeout(
    () => cdp.fail(new Error(`the browser did not open ${url} within ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    const requests: string[] = [];
    const consoleErrors: ConsoleError[] = [];
    const watch = async (sessionId: string) => {
      await Promise.all([
        cdp.send('Runtime.enable', {}, sessionId),
        cdp.send('Network.enable', {}, sessionId),
        cdp.send('Log.enable', {}, sessionId),
        cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: true }, sessionId),
      ]);
    };
    cdp.on('Network.requestWillBeSent', (p) => {
      if (!String(p.request.url).startsWith('data:')) requests.push(p.request.url);
    });
    cdp.on('Runtime.consoleAPICalled', (p) => {
      if (p.type !== 'error' && p.type !== 'assert') return;
      const text = p.args.map((a: any) => a.value ?? a.description ?? a.type).join(' ');
      consoleErrors.push({ text, url: p.stackTrace?.callFrames?.[0]?.url });
    });
    cdp.on('Runtime.exceptionThrown', (p) => {
      const d = p.exceptionDetails;
      consoleErrors.push({ text: d.exception?.description ?? d.text, url: d.url });
    });
    cdp.on('Log.entryAdded', (p) => {
      if (p.entry.level === 'error') consoleErrors.push({ text: p.entry.text, url: p.entry.url });
    });
    // An iframe in a process of its own: watched like the page, then let go.
    cdp.on('Target.attachedToTarget', (p) => {
      const sessionId = p.sessionId as string;
      void watch(sessionId)
        .then(() => cdp.send('Runtime.runIfWaitingForDebugger', {}, sessionId))
        .catch(() => {});
    });

    const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true });
    await watch(sessionId);
    await cdp.send('Page.enable', {}, sessionId);
    const loaded = cdp.once('Page.loadEventFired', sessionId);
    const nav = await cdp.send('Page.navigate', { url }, sessionId);
    if (nav.errorText) throw new Error(`the browser could not open ${url}: ${nav.errorText}`);
    await loaded;
    clearTimeout(deadline);

    const evaluate = async <T>(expression: string): Promise<T> => {
      const r = await cdp.send(
        'Runtime.evaluate',
        { expression, awaitPromise: true, returnByValue: true, userGesture: true },
        sessionId,
      );
      if (r.exceptionDetails)
        throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
      return r.result.value as T;
    };
    return {
      requests,
      consoleErrors,
      evaluate,
      waitFor: async (expression, ms = 10_000) => {
        const until = Date.now() + ms;
        for (;;) {
          if (await evaluate<boolean>(`!!(${expression})`)) return;
          if (Date.now() > until) throw new Error(`the page did not get to ${expression} within ${ms} ms`);
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      text: () => evaluate<string>('document.body ? document.body.innerText : ""'),
      click: async (x, y) => {
        for (const type of ['mouseMoved', 'mousePressed', 'mouseReleased'])
          await cdp.send('Input.dispatchMouseEvent', { type, x, y, button: 'left', clickCount: 1 }, sessionId);
      },
      screenshot: async (path) => {
        const { data } = await cdp.send('Page.captureScreenshot', { format: 'png' }, sessionId);
        writeFileSync(path, Buffer.from(data, 'base64'));
        return path;
      },
      close: () => cdp.close(),
    };
  } catch (err) {
    clearTimeout(deadline);
    await cdp.close();
    (err as Error).message += stderr ? `\n(the browser said: ${stderr.trim()})` : '';
    throw err;
  }
}

export interface Browsed {
  text: string;
  /** The screenshot's path, when one was asked for. */
  screenshot: string | undefined;
  consoleErrors: ConsoleError[];
  requests: string[];
}

/** Opens `target`, waits for `waitFor` (a JavaScript expression) if given, and reports what it saw. */
export async function browse(
  target: string,
  opts: OpenOptions & { waitFor?: string; screenshot?: string } = {},
): Promise<Browsed> {
  const page = await openPage(target, opts);
  try {
    if (opts.waitFor) await page.waitFor(opts.waitFor, opts.timeoutMs);
    return {
      text: await page.text(),
      screenshot: opts.screenshot ? await page.screenshot(opts.screenshot) : undefined,
      consoleErrors: [...page.consoleErrors],
      requests: [...page.requests],
    };
  } finally {
    await page.close();
  }
}

/** The DevTools protocol over Chromium's pipe: commands with ids, events by method (and session). */
class Cdp {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, Array<(params: any, sessionId: string | undefined) => void>>();
  private buffer = Buffer.alloc(0);
  private failed: Error | undefined;

  constructor(
    private readonly out: Writable,
    input: Readable,
    private readonly child: ChildProcess,
  ) {
    out.on('error', () => {});
    input.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      for (let end = this.buffer.indexOf(0); end >= 0; end = this.buffer.indexOf(0)) {
        const text = this.buffer.subarray(0, end).toString('utf8');
        this.buffer = this.buffer.subarray(end + 1);
        this.dispatch(JSON.parse(text));
      }
    });
    child.once('exit', (code, signal) => this.fail(new Error(`the browser exited (${signal ?? code})`)));
    child.once('error', (err) => this.fail(err));
  }

  send(method: string, params: object = {}, sessionId?: string): Promise<any> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.out.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  }

  on(method: string, fn: (params: any, sessionId: string | undefined) => void) {
    const list = this.listeners.get(method) ?? [];
    list.push(fn);
    this.listeners.set(method, list);
  }

  once(method: string, sessionId: string): Promise<any> {
    return new Promise((resolve, reject) => {
      let done = false;
      this.on(method, (p, s) => {
        if (done || s !== sessionId) return;
        done = true;
        resolve(p);
      });
      this.pending.set(-this.nextId++, { resolve: () => {}, reject });
    });
  }

  fail(err: Error) {
    if (this.failed) return;
    this.failed = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  async close() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      void this.send('Browser.close').catch(() => {});
      const timer = setTimeout(() => {
        try {
          process.kill(-this.child.pid!, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }, 3000);
      await exited;
      clearTimeout(timer);
    }
    this.fail(new Error('the browser was closed'));
  }

  private dispatch(msg: { id?: number; method?: string; params?: any; sessionId?: string; result?: any; error?: any }) {
    if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`${msg.error.message} (${msg.error.code})`));
      else p.resolve(msg.result);
      return;
    }
    for (const fn of this.listeners.get(msg.method ?? '') ?? []) fn(msg.params, msg.sessionId);
  }
}
