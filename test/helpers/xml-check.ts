/**
 * A strict XML 1.0 well-formedness checker, enough to judge what smtpkit writes (no DTDs):
 * every character allowed by the Char production, tags nested and closed, one root,
 * attributes quoted and unique, only the five predefined and numeric entities, no "]]>" in
 * text. Throws an Error naming the first problem and its offset; returns the root's name.
 */
const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;
const ENTITY = /^&(?:lt|gt|amp|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);/;
// XML 1.0 §2.2 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
const BAD_CHAR = /[^\t\n\r\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

export function checkXml(doc: string): string {
  const bad = BAD_CHAR.exec(doc);
  if (bad)
    throw new Error(
      `character U+${bad[0].codePointAt(0)!.toString(16).padStart(4, '0')} is not allowed in XML 1.0 (offset ${bad.index})`,
    );
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`${why} at offset ${i}: ${JSON.stringify(doc.slice(i, i + 40))}`);
  };
  const stack: string[] = [];
  let root: string | undefined;
  const text = (s: string) => {
    for (let j = 0; j < s.length; j++) {
      if (s[j] === '&' && !ENTITY.test(s.slice(j))) fail('a bare & or an unknown entity');
    }
    if (s.includes(']]>')) fail('"]]>" in text');
  };
  if (doc.startsWith('<?xml')) {
    const end = doc.indexOf('?>');
    if (end < 0) fail('unclosed XML declaration');
    if (
      !/^<\?xml\s+version="1\.[0-9]+"(\s+encoding="[A-Za-z][A-Za-z0-9._-]*")?(\s+standalone="(yes|no)")?\s*\?>$/.test(
        doc.slice(0, end + 2),
      )
    )
      fail('a malformed XML declaration');
    i = end + 2;
  }
  while (i < doc.length) {
    const lt = doc.indexOf('<', i);
    const chunk = doc.slice(i, lt < 0 ? doc.length : lt);
    if (!stack.length && chunk.trim()) fail('text outside the root element');
    text(chunk);
    if (lt < 0) break;
    i = lt;
    if (doc.startsWith('<!--', i)) {
      const end = doc.indexOf('-->', i + 4);
      if (end < 0 || doc.slice(i + 4, end).includes('--')) fail('a malformed comment');
      i = end + 3;
    } else if (doc.startsWith('<![CDATA[', i)) {
      if (!stack.length) fail('CDATA outside the root element');
      const end = doc.indexOf(']]>', i);
      if (end < 0) fail('unclosed CDATA');
      i = end + 3;
    } else if (doc.startsWith('<?', i)) {
      const end = doc.indexOf('?>', i);
      if (end < 0) fail('unclosed processing instruction');
      i = end + 2;
    } else if (doc.startsWith('</', i)) {
      const name = NAME.exec(doc.slice(i + 2))?.[0];
      if (!name) fail('an end tag without a name');
      i += 2 + name!.length;
      while (/\s/.test(doc[i] ?? '')) i++;
      if (doc[i] !== '>') fail('a malformed end tag');
      if (stack.pop() !== name) fail(`</${name}> does not close the open element`);
      i++;
    } else {
      const name = NAME.exec(doc.slice(i + 1))?.[0];
      if (!name) fail('a "<" that starts no tag');
      if (!stack.length && root !== undefined) fail('a second root element');
      root ??= name;
      i += 1 + name!.length;
      const seen = new Set<string>();
      for (;;) {
        const ws = /^\s*/.exec(doc.slice(i))![0].length;
        i += ws;
        if (doc.startsWith('/>', i)) {
          i += 2;
          break;
        }
        if (doc[i] === '>') {
          stack.push(name!);
          i++;
          break;
        }
        if (!ws) fail('attributes must be separated by white space');
        const attr = NAME.exec(doc.slice(i))?.[0];
        if (!attr) fail('a malformed attribute');
        if (seen.has(attr!)) fail(`attribute ${attr} given twice`);
        seen.add(attr!);
        i += attr!.length;
        const m = /^\s*=\s*(["'])/.exec(doc.slice(i));
        if (!m) fail('an attribute without a quoted value');
        i += m![0].length;
        const end = doc.indexOf(m![1]!, i);
        if (end < 0) fail('an unclosed attribute value');
        const value = doc.slice(i, end);
        if (value.includes('<')) fail('"<" in an attribute value');
        text(value);
        i = end + 1;
      }
    }
  }
  if (stack.length) throw new Error(`unclosed element(s): ${stack.join(', ')}`);
  if (root === undefined) throw new Error('no root element');
  return root;
}
