import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCALHOST_CERT, LOCALHOST_KEY } from '../sink/localhost-cert.js';
import { Sink } from '../sink/server.js';
import { processOutput, type OutputSpec } from '../render/output.js';
import { withSinkDefaults } from '../index.js';

/**
 * `smtpkit demo`: a sink in this process on a free loopback port, then a probe and a
 * send against it. What a newcomer can run with no mail server of their own: the probe's
 * table of checks and the send's whole explained transcript fit on one screen (80 lines
 * at 120 columns); --verbose adds the probe's transcript, every connection of it.
 */
export async function demo(
  show: Readonly<Pick<OutputSpec, 'color' | 'verbose'>>,
  main: (argv: string[]) => Promise<number>,
): Promise<number> {
  const output = await processOutput(show);
  const c = output.paint;
  const sink = new Sink(
    withSinkDefaults({
      tls: { cert: LOCALHOST_CERT, key: LOCALHOST_KEY },
      auth: { user: 'demo', pass: 'demo-password' },
    }),
  );
  const port = await sink.listen();
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-demo-'));
  const ca = join(dir, 'localhost.pem');
  writeFileSync(ca, LOCALHOST_CERT);
  process.env.SMTPKIT_DEMO_PASSWORD = 'demo-password';
  const color = show.color === false ? ['--no-color'] : [];
  const say = (s: string) => output.stdout.write(`${c.bold.magenta(s)}\n`);
  try {
    const transcript = show.verbose ? ['--transcript'] : [];
    say(
      `### smtpkit demo: a test server (smtpkit sink) on 127.0.0.1:${port} with STARTTLS and AUTH. First, smtpkit probe:`,
    );
    const probed = await main([
      'probe',
      `localhost:${port}`,
      '-4',
      '--ca-file',
      ca,
      ...transcript,
      '--relay-test',
      ...color,
    ]);
    say(
      '### Then smtpkit send: log in as "demo" and send a message, each reply explained (the password is never shown).',
    );
    // PLAIN over TLS, as most submission servers are used (CRAM-MD5's challenge adds two lines).
    const sent = await main([
      'send',
      `localhost:${port}`,
      '-4',
      '--ca-file',
      ca,
      '--user',
      'demo',
      '--mech',
      'PLAIN',
      '--password-env',
      'SMTPKIT_DEMO_PASSWORD',
      '--from',
      'you@example.test',
      '--to',
      'friend@example.test',
      '--subject',
      'Hello from smtpkit',
      '--body',
      'It works.',
      ...color,
    ]);
    const more = show.verbose ? '' : ' More: `smtpkit demo --verbose`.';
    say(
      `### The sink took ${sink.stats.messages} message(s).${more} Next: \`smtpkit sink\`, \`smtpkit repl localhost:2525\`.`,
    );
    return Math.max(probed, sent);
  } finally {
    delete process.env.SMTPKIT_DEMO_PASSWORD;
    rmSync(dir, { recursive: true, force: true });
    await sink.close();
  }
}
