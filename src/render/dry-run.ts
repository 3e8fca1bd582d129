import type { LineEndings } from '../protocol/data-encoder.js';
import { jsonDocument } from './json.js';
import type { Output, OutputSpec } from './output.js';
import { printable } from './printable.js';

/** What `send --dry-run` shows: the envelope as it would be sent, and the message's bytes. */
export interface DryRun {
  /** MAIL FROM's line, with the parameters a server offering every extension would get. */
  mail: string;
  from: string;
  recipients: Array<{ address: string; line: string; bcc: boolean }>;
  /** Undefined when read from standard input. */
  size: number | undefined;
  /** The message as it would go on the wire, read once. */
  bytes: AsyncIterable<Buffer>;
  /** Known once the bytes are read: bare LF or CR found. */
  lineEndings: () => LineEndings;
  note: () => string | undefined;
}

/** The envelope on standard error and the message alone on standard output (`> msg.eml` keeps it clean), or one JSON document. */
export async function writeDryRun(output: Output, show: Readonly<Pick<OutputSpec, 'json'>>, d: DryRun): Promise<void> {
  if (show.json) {
    const chunks: Buffer[] = [];
    for await (const chunk of d.bytes) chunks.push(chunk);
    const outcome = { ok: true, exitCode: 0, message: 'dry run: nothing was sent' };
    output.stdout.write(
      jsonDocument('send', null, outcome, {
        dryRun: true,
        envelope: { mail: d.mail, from: d.from, recipients: d.recipients },
        size: d.size,
        message: Buffer.concat(chunks).toString('utf8'),
        lineEndings: d.lineEndings(),
      }),
    );
    return;
  }
  const lines = [
    '=== Envelope (dry run: nothing is sent; parameters as a server offering every extension would get them)',
    ` -> ${d.mail}`,
    ...d.recipients.map((r) => ` -> ${r.line}${r.bcc ? '   (Bcc: in the envelope only)' : ''}`),
    `=== Message (${d.size === undefined ? 'size unknown: read from standard input' : `${d.size} bytes`})`,
  ];
  output.stderr.write(`${lines.map(printable).join('\n')}\n`);
  for await (const chunk of d.bytes) output.data.write(chunk);
  const note = d.note();
  if (note) output.stderr.write(`smtpkit: warning: ${printable(note)}\n`);
}
