/**
 * Child processes that cannot outlive their test, and temporary directories that cannot
 * outlive the test file. A command such as npm starts children of its own; each command
 * here runs as the leader of a new process group, and the whole group is killed when the
 * command ends, when its time runs out, when the test's signal aborts (the test timed out),
 * and, for any group still alive, when the file's tests are done or the process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

export interface GroupResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface GroupOptions {
  cwd: string;
  env: Record<string, string>;
  /** Killed (the whole group) after this long, and the promise rejects. */
  limitMs: number;
  /** The test's signal (`t.signal`): aborted when the test ends or times out. */
  signal?: AbortSignal;
}

const groups = new Set<number>();
const dirs = new Set<string>();
const children = new Set<ChildProcess>();

function killGroup(pid: number) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is gone already.
  }
}

function cleanUp() {
  for (const pid of groups) killGroup(pid);
  groups.clear();
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  dirs.clear();
}

after(cleanUp);
process.once('exit', cleanUp);

/**
 * A directory under the system's temporary one, removed when the test `t` ends, passed or
 * failed (or, failing that, when the file's tests end or the process exits).
 */
export function tempDir(prefix: string, t?: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  t?.after(() => {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    dirs.delete(dir);
  });
  return dir;
}

/**
 * A child that must not outlive the test file: killed when the file's tests are done or the
 * process exits, if it has not ended by then (a test that failed before it could stop it).
 */
export function ownChild<C extends ChildProcess>(child: C): C {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * A child started with `detached: true` (the leader of its own process group): the whole group
 * is killed when the file's tests are done or the process exits, if it is still alive then.
 */
export function ownGroup<C extends ChildProcess>(child: C): C {
  const pid = child.pid;
  if (pid === undefined) return child;
  groups.add(pid);
  child.once('exit', () => {
    killGroup(pid);
    groups.delete(pid);
  });
  return child;
}

/** Runs `command args` as its own process group; resolves with its exit code and output. */
export function runGroup(command: string, args: string[], opts: GroupOptions): Promise<GroupResult> {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pid = child.pid;
  if (pid !== undefined) groups.add(pid);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const stop = (why: string) => {
      if (pid !== undefined) killGroup(pid);
      reject(new Error(`${command} ${args.join(' ')}: ${why}\nstdout: ${stdout}\nstderr: ${stderr}`));
    };
    const timer = setTimeout(() => stop(`still running after ${opts.limitMs} ms`), opts.limitMs);
    const onAbort = () => stop('the test ended first');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      // The leader is done; anything it left running in its group goes with it.
      if (pid !== undefined) {
        killGroup(pid);
        groups.delete(pid);
      }
      resolve({ code, stdout, stderr });
    });
  });
}
