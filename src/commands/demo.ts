import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCALHOST_CERT } from '../sink/localhost-cert.js';
import { Sink } from '../sink/server.js';
import { processOutput } from '../render/output.js';
import { sinkOptions } from './sink.js';

/**
 * `smtpkit demo`: a sink in this process on a free loopback port, then a probe and a
 * send against it with the whole explained transcript. What a newcomer can run with no
 * mail server of their own.
 */
export async function demo(flags: { color?: boolean }, main: (argv: string[]) => Promise<number>): Promise<number> {
  const output = await processOutput(flags);
  const c = output.paint;
  const sink = new Sink(sinkOptions({ port: '0', tls: true, auth: 'demo:demo-password', name: 'sink.localhost' }, false));
  const port = await sink.listen();
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-demo-'));
  const ca = join(dir, 'localhost.pem');
  writeFileSync(ca, LOCALHOST_CERT);
  process.env.SMTPKIT_DEMO_PASSWORD = 'demo-password';
  const color = flags.color === false ? ['--no-color'] : [];
  const say = (s: string) => output.stdout.write(`${c.bold.magenta(s)}\n`);
  try {
    say(`### smtpkit demo: a test server (smtpkit sink) is listening on 127.0.0.1:${port}, with STARTTLS and AUTH.`);
    say('### 1. smtpkit probe: a health check; --transcript shows every step, each reply explained.');
    const probed = await main(['probe', `localhost:${port}`, '-4', '--ca-file', ca, '--transcript', '--relay-test', ...color]);
    say(`### 2. smtpkit send: log in as "demo" and send a message (the password comes from SMTPKIT_DEMO_PASSWORD; the transcript hides it).`);
    const sent = await main(['send', `localhost:${port}`, '-4', '--ca-file', ca, '--user', 'demo', '--password-env', 'SMTPKIT_DEMO_PASSWORD', '--from', 'you@example.test', '--to', 'friend@example.test', '--subject', 'Hello from smtpkit', '--body', 'It works.', ...color]);
    say(`### The sink took ${sink.stats.messages} message(s). Next: \`smtpkit sink\` in one terminal, \`smtpkit repl localhost:2525\` in another.`);
    return Math.max(probed, sent);
  } finally {
    delete process.env.SMTPKIT_DEMO_PASSWORD;
    rmSync(dir, { recursive: true, force: true });
    await sink.close();
  }
}
