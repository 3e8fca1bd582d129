import { usageError } from '../errors.js';

/** host:port or [v6]:port for a server to listen on; port 0 asks the OS for a free one. */
export function parseListen(text: string, option: string, examplePort: number): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s\[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535)
    throw usageError(
      `${option} ${JSON.stringify(text)}: give host:port, e.g. 127.0.0.1:${examplePort} ([::1]:${examplePort} for IPv6; port 0 picks a free one)`,
    );
  return { host: (m[1] ?? m[2])!, port };
}
