import { appendFileSync, chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const KEEP = 500;

/** Lines typed in earlier sessions, in a file only the user can read; secrets never go in. */
export class History {
  readonly path: string;

  constructor(path = process.env.SMTPKIT_HISTORY || join(homedir(), '.smtpkit_history')) {
    this.path = path;
  }

  /** Most recent first, as readline wants them. */
  load(): string[] {
    try {
      return readFileSync(this.path, 'utf8').split('\n').filter(Boolean).slice(-KEEP).reverse();
    } catch {
      return [];
    }
  }

  add(line: string): void {
    try {
      if (!existsSync(this.path)) writeFileSync(this.path, '', { mode: 0o600 });
      appendFileSync(this.path, `${line}\n`);
      chmodSync(this.path, 0o600);
    } catch {
      // A read-only home is no reason to stop the session.
    }
  }
}
