import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { BIN } from './paths.js';

/** `smtpkit exporter` as a child process on a free loopback port, with its stderr kept. */
export interface ExporterProcess {
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

export async function startExporter(
  args: string[],
  env: Record<string, string> = {},
  /** Node's own options (V8 flags) before the script. */
  nodeArgs: string[] = [],
): Promise<ExporterProcess> {
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'exporter', '--listen', '127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`exporter did not start: ${out}`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`exporter exited ${code}: ${out}${stderr}`)));
  });
  return { child, url, stderr: () => stderr };
}

export async function stopExporter(e: ExporterProcess | undefined): Promise<void> {
  if (!e || e.child.exitCode !== null) return;
  const gone = new Promise((r) => e.child.once('exit', r));
  e.child.kill('SIGTERM');
  await gone;
}

export async function get(
  url: string,
  headers: Record<string, string> = {},
  limitMs = 20_000,
): Promise<{ status: number; body: string; type: string }> {
  const r = await fetch(url, { headers, signal: AbortSignal.timeout(limitMs) });
  return { status: r.status, body: await r.text(), type: r.headers.get('content-type') ?? '' };
}

/** The samples of a text exposition as "name{labels} value" lines. */
export const samples = (body: string) => body.split('\n').filter((l) => l && !l.startsWith('#'));
export const value = (body: string, series: string) =>
  samples(body)
    .find((l) => l.startsWith(`${series} `))
    ?.split(' ')[1];

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
