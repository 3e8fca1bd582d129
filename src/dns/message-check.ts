/**
 * A walk over a DNS answer's own bytes (RFC 1035 §4.1), before anything believes it.
 * dns2 drops a record it cannot decode without a word, so a corrupt answer would read
 * as "no records": here every name stays inside the message and its compression pointers
 * point back only (so no loop), every record's fixed fields and data fit, the header's
 * counts are the records there are, and the data of the types we read holds what its
 * type says. Pure: bytes in, a verdict out.
 */

/** What we asked: the answer must echo it (RFC 5452 §9.1). */
export interface Asked {
  id: number;
  name: string;
  type: number;
  class: number;
}

export type Section = 'answer' | 'authority' | 'additional';

/** Where one resource record lies in the message: [start, end) byte offsets. */
export interface RecordSpan {
  section: Section;
  /** 1-based, within its section. */
  index: number;
  type: number;
  start: number;
  end: number;
}

export type Verdict =
  | { ok: true; truncated: boolean; questionEnd: number; records: RecordSpan[] }
  /** foreign: not an answer to our question (another ID, another question): over UDP perhaps a spoof. */
  | { ok: false; foreign: boolean; problem: string };

const HEADER = 12;
const FLAG_QR = 0x8000;
const FLAG_TC = 0x0200;
const SECTIONS: Section[] = ['answer', 'authority', 'additional'];
const TYPE_NAMES: Record<number, string> = {
  1: 'A',
  2: 'NS',
  5: 'CNAME',
  6: 'SOA',
  12: 'PTR',
  15: 'MX',
  16: 'TXT',
  28: 'AAAA',
  33: 'SRV',
  39: 'DNAME',
  41: 'OPT',
  46: 'RRSIG',
  52: 'TLSA',
};
export const typeName = (type: number) => TYPE_NAMES[type] ?? `type ${type}`;

const foreign = (problem: string): Verdict => ({ ok: false, foreign: true, problem });
const bad = (problem: string): Verdict => ({ ok: false, foreign: false, problem });

/**
 * Checks `buf` as the answer to `asked`. With `truncationAllowed` (UDP) an answer with
 * the TC bit is only checked up to its question: the client asks again over TCP. Over
 * TCP or HTTPS nothing larger exists, so TC there is a failure.
 */
export function checkAnswer(buf: Buffer, asked: Asked, truncationAllowed: boolean): Verdict {
  if (buf.length < HEADER) return foreign(`${buf.length} bytes, shorter than a DNS header (12)`);
  if (buf.readUInt16BE(0) !== asked.id) return foreign('an answer with the wrong ID');
  const flags = buf.readUInt16BE(2);
  if (!(flags & FLAG_QR)) return foreign('not an answer (the QR bit is clear)');
  const questions = buf.readUInt16BE(4);
  if (questions !== 1) return foreign(`the answer holds ${questions} questions; it must repeat the one asked`);
  const q = readName(buf, HEADER, 'the question name');
  if (typeof q === 'string') return foreign(q);
  if (q.end + 4 > buf.length) return foreign('the message ends inside the question');
  const type = buf.readUInt16BE(q.end);
  const klass = buf.readUInt16BE(q.end + 2);
  if (
    q.name.toLowerCase() !== asked.name.toLowerCase().replace(/\.$/, '') ||
    type !== asked.type ||
    klass !== asked.class
  ) {
    return foreign(
      `an answer to a different question (${JSON.stringify(q.name)} ${typeName(type)} class ${klass}, not ${JSON.stringify(asked.name)} ${typeName(asked.type)})`,
    );
  }
  const questionEnd = q.end + 4;
  if (flags & FLAG_TC) {
    if (truncationAllowed) return { ok: true, truncated: true, questionEnd, records: [] };
    return bad(
      'the TC (truncated) bit is set on an answer over TCP or HTTPS, where nothing more complete exists: the answer is incomplete',
    );
  }
  const counts = [buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)];
  const records: RecordSpan[] = [];
  let p = questionEnd;
  let opts = 0;
  for (const [s, section] of SECTIONS.entries()) {
    const count = counts[s]!;
    for (let index = 1; index <= count; index++) {
      const where = `${section} record ${index} of ${count}`;
      if (p >= buf.length)
        return bad(`the header counts ${count} ${section} record(s), but the message ends after ${index - 1}`);
      const owner = readName(buf, p, `the name of ${where}`);
      if (typeof owner === 'string') return bad(owner);
      if (owner.end + 10 > buf.length)
        return bad(`the message is cut inside ${where} (its type, class, TTL or data length)`);
      const rtype = buf.readUInt16BE(owner.end);
      const length = buf.readUInt16BE(owner.end + 8);
      const start = owner.end + 10;
      const end = start + length;
      const label = `${where} (${typeName(rtype)})`;
      if (end > buf.length)
        return bad(
          `${label} says its data is ${length} bytes, but only ${buf.length - start} remain: the answer is cut mid-record`,
        );
      const problem = rdataProblem(buf, rtype, start, end, label);
      if (problem) return bad(problem);
      if (rtype === 41 && (section !== 'additional' || ++opts > 1))
        return bad(`${label}: an OPT record belongs once in the additional section (RFC 6891 §6.1.1)`);
      records.push({ section, index, type: rtype, start: p, end });
      p = end;
    }
  }
  if (p !== buf.length)
    return bad(
      `${buf.length - p} byte(s) follow the last of the ${records.length} record(s) the header counts: the counts do not match the message`,
    );
  return { ok: true, truncated: false, questionEnd, records };
}

/** A name and where it ends in the byte stream (after its first pointer, if any). */
function readName(buf: Buffer, start: number, what: string): { name: string; end: number } | string {
  const labels: string[] = [];
  let p = start;
  let end: number | undefined;
  // A pointer must point before the stretch of labels it ends: each jump goes further back, so no loop.
  let floor = start;
  let octets = 1;
  for (;;) {
    if (p >= buf.length) return `${what} runs past the end of the message`;
    const len = buf[p]!;
    if (len === 0) return { name: labels.join('.'), end: end ?? p + 1 };
    if ((len & 0xc0) === 0xc0) {
      if (p + 1 >= buf.length) return `${what} ends inside a compression pointer`;
      const target = ((len & 0x3f) << 8) | buf[p + 1]!;
      if (target >= floor)
        return `${what} has a compression pointer loop: the pointer at byte ${p} points to byte ${target}, not back to an earlier name (RFC 1035 §4.1.4)`;
      if (target < HEADER) return `${what} has a compression pointer into the header (byte ${target})`;
      end ??= p + 2;
      floor = target;
      p = target;
      continue;
    }
    if (len & 0xc0) return `${what} has a label length byte 0x${len.toString(16)} with reserved bits`;
    octets += len + 1;
    if (octets > 255) return `${what} is longer than 255 octets (RFC 1035 §2.3.4)`;
    if (p + 1 + len > buf.length) return `${what} runs past the end of the message`;
    labels.push(buf.toString('latin1', p + 1, p + 1 + len));
    p += 1 + len;
  }
}

/** What is wrong with the data of a record of a type we read, or undefined. */
function rdataProblem(buf: Buffer, type: number, start: number, end: number, label: string): string | undefined {
  const length = end - start;
  // A name inside the data must end exactly where the data (or its fixed tail) does.
  const nameAt = (at: number, field: string, tail = 0): string | number => {
    if (at >= end) return `${label}: the data (${length} bytes) is too short to hold its ${field}`;
    const n = readName(buf, at, `the ${field} of ${label}`);
    if (typeof n === 'string') return n;
    if (n.end + tail !== end) return `${label}: its ${field} does not fit its data length (${length} bytes)`;
    return n.end;
  };
  const exactName = (at: number, field: string) => {
    const r = nameAt(at, field);
    return typeof r === 'string' ? r : undefined;
  };
  switch (type) {
    case 1:
    case 28: {
      const size = type === 1 ? 4 : 16;
      return length === size ? undefined : `${label}: an address of ${length} bytes, not ${size}`;
    }
    case 2:
    case 5:
    case 12:
    case 39:
      return exactName(start, 'target name');
    case 15:
      return length < 3
        ? `${label}: ${length} bytes of data, too short for a preference and a name`
        : exactName(start + 2, 'exchange name');
    case 33:
      return length < 7
        ? `${label}: ${length} bytes of data, too short for priority, weight, port and a name`
        : exactName(start + 6, 'target name');
    case 6: {
      const primary = readName(buf, start, `the primary name server of ${label}`);
      if (typeof primary === 'string') return primary;
      const r = nameAt(primary.end, 'mailbox name', 20);
      return typeof r === 'string' ? r : undefined;
    }
    case 16: {
      // No string at all breaks RFC 1035 but reads one way only (an empty record): SPF's suite
      // (null-text) expects a receiver to pass over it, not to refuse the SPF record beside it.
      let p = start;
      while (p < end) p += 1 + buf[p]!;
      return p === end ? undefined : `${label}: a character-string runs past the record's data`;
    }
    case 41: {
      let p = start;
      while (p < end) {
        if (p + 4 > end) return `${label}: an EDNS option cut inside its code or length`;
        p += 4 + buf.readUInt16BE(p + 2);
      }
      return p === end ? undefined : `${label}: an EDNS option runs past the record's data`;
    }
    case 46: {
      if (length < 19) return `${label}: ${length} bytes of data, too short for a signature`;
      const signer = readName(buf, start + 18, `the signer name of ${label}`);
      if (typeof signer === 'string') return signer;
      return signer.end > end ? `${label}: its signer name runs past the record's data` : undefined;
    }
    case 52:
      return length < 3
        ? `${label}: ${length} bytes of data, too short for usage, selector and matching type`
        : undefined;
    default:
      return undefined;
  }
}
