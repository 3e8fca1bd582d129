import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { usageError } from '../errors.js';
import { assertSingleLine } from '../protocol/command.js';
import { headerAddress, needsUtf8, type Address } from './address.js';
import {
  base64Lines,
  base64LinesSize,
  boundary,
  contentType,
  filenameParam,
  headerText,
  isAscii,
  longestLine,
  messageId,
  quotedPrintable,
  rfc5322Date,
} from './encode.js';

export interface Attachment {
  path: string;
  size: number;
  /** The content, read ahead when the file's stat size cannot be trusted (/proc files say 0). */
  data?: Buffer;
}

export interface MessageSpec {
  from: Address;
  to: Address[];
  cc: Address[];
  subject: string;
  /** Extra or replacing headers, "Name: value". */
  headers: string[];
  body: string;
  html: boolean;
  attachments: Attachment[];
  /**
   * A complete message given with --data: sent as it is. From a file, from memory, or
   * streamed (standard input) with its size unknown until the end.
   */
  raw:
    | { path: string | undefined; data: Buffer | undefined; size: number; stream?: undefined }
    | { path: undefined; data: undefined; size: undefined; stream: AsyncIterable<Buffer> }
    | undefined;
  date?: Date;
}

/** A message ready to send: its size is known before a byte is read, unless it is streamed. */
export interface OutgoingMessage {
  size: number | undefined;
  /** The body has 8-bit bytes (BODY=8BITMIME). */
  eightBit: boolean;
  /** An address needs SMTPUTF8. */
  utf8: boolean;
  /** The header lines, for the transcript. */
  headerLines: string[];
  chunks(): AsyncIterable<Buffer>;
}

const NAME = /^[!-9;-~]+$/;

/** Checks --header values before anything is sent: `Name: value`, one line. */
export function parseHeader(text: string): [string, string] {
  assertSingleLine(text, '--header');
  const colon = text.indexOf(':');
  const name = text.slice(0, colon).trim();
  if (colon < 1 || !NAME.test(name)) throw usageError(`--header ${JSON.stringify(text)}: expected "Name: value"`);
  return [name, text.slice(colon + 1).trim()];
}

/**
 * Builds the message: default headers (Date, From, To, Cc, Subject, Message-ID,
 * MIME-Version) with --header overriding them, a text or HTML body, and attachments
 * streamed from their files in base64. `eightBitOk` says the server takes 8BITMIME.
 */
export function buildMessage(spec: MessageSpec, eightBitOk: boolean): OutgoingMessage {
  const utf8 = needsUtf8(spec.from) || [...spec.to, ...spec.cc].some(needsUtf8);
  if (spec.raw) return rawMessage(spec.raw, utf8);

  // Text: its line ends, whichever they are, become CRLF (a bare CR in a 7bit part is no line end a reader agrees on).
  const bodyText = spec.body.replace(/\r\n|\r|\n/g, '\r\n');
  const plain = isAscii(bodyText) && longestLine(bodyText) <= 998;
  const cte = plain ? '7bit' : eightBitOk && longestLine(bodyText) <= 998 ? '8bit' : 'quoted-printable';
  const encodedBody = cte === 'quoted-printable' ? quotedPrintable(bodyText) : bodyText;
  const textPart = `Content-Type: text/${spec.html ? 'html' : 'plain'}; charset=utf-8\r\nContent-Transfer-Encoding: ${cte}\r\n`;
  const body = Buffer.from(encodedBody.endsWith('\r\n') ? encodedBody : `${encodedBody}\r\n`);

  const headers: Array<[string, string]> = [
    ['Date', rfc5322Date(spec.date)],
    ['From', spec.from.address ? headerAddress(spec.from) : '<>'],
    ['To', spec.to.map(headerAddress).join(', ')],
    ...(spec.cc.length ? ([['Cc', spec.cc.map(headerAddress).join(', ')]] as Array<[string, string]>) : []),
    ['Subject', headerText(spec.subject)],
    ['Message-ID', messageId(spec.from.address.split('@')[1] ?? '')],
    ['MIME-Version', '1.0'],
  ];
  for (const h of spec.headers) {
    const [name, value] = parseHeader(h);
    const i = headers.findIndex(([n]) => n.toLowerCase() === name.toLowerCase());
    if (i >= 0) headers[i] = [name, headerText(value)];
    else headers.push([name, headerText(value)]);
  }

  const pieces: Array<Buffer | Attachment> = [];
  let top: string;
  if (!spec.attachments.length) {
    top = textPart;
    pieces.push(Buffer.from('\r\n'), body);
  } else {
    const b = boundary();
    top = `Content-Type: multipart/mixed; boundary="${b}"\r\n`;
    pieces.push(Buffer.from(`\r\nThis is a MIME message.\r\n\r\n--${b}\r\n${textPart}\r\n`), body);
    for (const a of spec.attachments) {
      const name = basename(a.path);
      pieces.push(
        Buffer.from(
          `--${b}\r\nContent-Type: ${contentType(name)}\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; ${filenameParam(name)}\r\n\r\n`,
        ),
        a,
      );
    }
    pieces.push(Buffer.from(`--${b}--\r\n`));
  }
  const headerBlock = Buffer.from(`${headers.map(([n, v]) => `${n}: ${v}`).join('\r\n')}\r\n${top}`);
  const size =
    headerBlock.length + pieces.reduce((n, p) => n + (Buffer.isBuffer(p) ? p.length : base64LinesSize(p.size)), 0);
  return {
    size,
    eightBit: cte === '8bit',
    utf8,
    headerLines: headerBlock.toString('utf8').split('\r\n').filter(Boolean),
    async *chunks() {
      yield headerBlock;
      for (const p of pieces) {
        if (Buffer.isBuffer(p)) yield p;
        else if (p.data) yield Buffer.from(base64Lines(p.data));
        else yield* base64File(p.path);
      }
    },
  };
}

function rawMessage(raw: NonNullable<MessageSpec['raw']>, utf8: boolean): OutgoingMessage {
  if (raw.stream) {
    const stream = raw.stream;
    // Unknown until read: declared 8-bit (BODY=8BITMIME where offered), which is harmless for 7-bit text.
    return { size: undefined, eightBit: true, utf8, headerLines: [], chunks: () => stream };
  }
  const head = raw.data ? raw.data.subarray(0, 4096).toString('utf8') : '';
  return {
    size: raw.size,
    eightBit: raw.data ? !isAscii(raw.data.toString('latin1')) : false,
    utf8,
    headerLines:
      head
        .split(/\r?\n\r?\n/)[0]
        ?.split(/\r?\n/)
        .filter(Boolean) ?? [],
    async *chunks() {
      if (raw.data) yield raw.data;
      else yield* createReadStream(raw.path!, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>;
    },
  };
}

/** A file as base64 lines, read in pieces: memory stays flat whatever the file's size. */
async function* base64File(path: string): AsyncIterable<Buffer> {
  const LINE = 57;
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { highWaterMark: LINE * 4096 }) as AsyncIterable<Buffer>) {
    const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const whole = data.length - (data.length % LINE);
    carry = data.subarray(whole);
    if (whole) yield Buffer.from(base64Lines(data.subarray(0, whole)));
  }
  if (carry.length) yield Buffer.from(base64Lines(carry));
}
