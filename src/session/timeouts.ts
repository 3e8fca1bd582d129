/** Separate budgets per kind of wait, so a slow greeting can be told from a slow command. */
export interface Timeouts {
  connect: number;
  greeting: number;
  command: number;
  tls: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
