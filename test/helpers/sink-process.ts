import { spawn, type ChildProcess } from 'node:child_process';
import { ownChild } from './process-group.js';
import { BIN } from './paths.js';

export interface SinkProcess {
  port: number;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Ctrl-C, then the exit code. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * `smtpkit sink` as a user runs it, on a free port, read back from its first line. `wrap`
 * runs it under another command (e.g. `prlimit --fsize=N --` for a disk that fills up); `env`
 * is added to this process's environment.
 */
export async function sinkProcess(
  args: string[] = [],
  opts: { wrap?: string[]; env?: Record<string, string> } = {},
): Promise<SinkProcess> {
  const argv = [process.execPath, BIN, 'sink', '--port', '0', ...args];
  const [command, ...rest] = [...(opts.wrap ?? []), ...argv] as [string, ...string[]];
  const child = ownChild(
    spawn(command, rest, { env: { ...process.env, NO_COLOR: '1', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the sink did not start: ${out}${err}`)), 5000);
    const look = () => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out + err);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.on('exit', () => reject(new Error(`the sink exited: ${out}${err}`)));
  });
  return {
    port,
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    stop: async () => {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
