import { spawn } from 'node:child_process';
import { BIN } from './paths.js';
import { ownChild } from './process-group.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time of the whole process. */
  ms: number;
}

/**
 * Runs smtpkit as a user would, in a child process with no TTY and CI-like settings, and
 * kills it if it outlives `limitMs`: a hang is a failure, never a stuck test run.
 */
export function runCli(
  args: string[],
  opts: { env?: Record<string, string>; limitMs?: number; input?: string } = {},
): Promise<CliResult> {
  const started = Date.now();
  const child = ownChild(
    spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(opts.input ?? '');
  const limitMs = opts.limitMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`smtpkit ${args.join(' ')} still running after ${limitMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`),
      );
    }, limitMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}
