import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeAll, escapeKeepingLayout } from '../src/render/escape.js';
import { jsonText } from '../src/render/json.js';
import { memoryOutput, safeText } from '../src/render/output.js';
import { colourMarker, stripMarkers } from '../src/render/paint.js';
import { wrapLine } from '../src/render/wrap.js';

test('the writer escapes C0 (but TAB and LF), DEL, C1 and bidi controls, whatever their origin', () => {
  assert.equal(
    escapeKeepingLayout('a\tb\nc\x1b[2J\x07\x7f\u009b1m\u202eX\u2066\r'),
    'a\tb\nc\\x1b[2J\\x07\\x7f\\x9b1m\\u202eX\\u2066\\x0d',
  );
  assert.equal(escapeAll('line\nfake\tline'), 'line\\x0afake\\x09line');
  const out = memoryOutput();
  out.stdout.write(`title \x1b]0;pwned\x07 clip \x1b]52;c;aGk=\x07\n`);
  assert.equal(out.out, 'title \\x1b]0;pwned\\x07 clip \\x1b]52;c;aGk=\\x07\n');
});

test('colour markers become SGR only after escaping; a forged marker without the nonce stays text', () => {
  assert.equal(safeText(`${colourMarker('31')}red \x1b[0m${colourMarker('39')}`), '\x1b[31mred \\x1b[0m\x1b[39m');
  assert.equal(safeText('\ue000000000000000031\ue001x'), '\ue000000000000000031\ue001x');
  assert.equal(stripMarkers(`${colourMarker('2')}dim${colourMarker('22')}`), 'dim');
});

test('JSON text: DEL, C1 and bidi as \\u escapes, and still the same strings when parsed', () => {
  const value = { s: 'a\x1b\u009b\u202e\x7f' };
  const text = jsonText(value);
  assert.doesNotMatch(text, /[\x7f-\x9f\u202a-\u202e]/);
  assert.deepEqual(JSON.parse(text), value);
});

test('wrapping: whole words, a hanging indent under the marker, inline notes under their #', () => {
  assert.deepEqual(wrapLine('    # one two three four five six seven eight nine ten eleven', 30), [
    '    # one two three four five',
    '    #   six seven eight nine',
    '    #   ten eleven',
  ]);
  assert.deepEqual(wrapLine('<-  250-SIZE 1000  # messages up to 1000 bytes are accepted', 40), [
    '<-  250-SIZE 1000  # messages up to 1000',
    '                   #   bytes are',
    '                   #   accepted',
  ]);
  assert.deepEqual(wrapLine('=== short', 40), ['=== short']);
  // A word longer than the line is the one thing that is cut.
  const long = wrapLine(`=== key ${'A'.repeat(50)}`, 30);
  assert.ok(
    long.every((l) => l.length <= 30 && l.startsWith('===')),
    long.join('\n'),
  );
  // Colour markers take no width and survive.
  const red = `${colourMarker('31')}<** 550 ${'word '.repeat(10).trim()}${colourMarker('39')}`;
  const lines = wrapLine(red, 30);
  assert.ok(lines.every((l) => stripMarkers(l).length <= 30));
  assert.equal(lines.join('').match(/\ue000/g)?.length, 2);
  // Off a terminal nothing is wrapped.
  assert.equal(safeText(`    # ${'x '.repeat(100)}\n`), `    # ${'x '.repeat(100)}\n`);
});

test('wrapping: a --brief reply that does not fit beside its command goes below under its own arrow', () => {
  assert.deepEqual(wrapLine(' ~> AUTH PLAIN <redacted>  <~  235 2.7.0 Authentication successful', 60), [
    ' ~> AUTH PLAIN <redacted>',
    '<~  235 2.7.0 Authentication successful',
  ]);
  assert.deepEqual(wrapLine(' -> EHLO a.test  <-  250 b.test  (4 extensions: PIPELINING SIZE 8BITMIME STARTTLS)', 40), [
    ' -> EHLO a.test',
    '<-  250 b.test  (4 extensions:',
    '<-    PIPELINING SIZE 8BITMIME STARTTLS)',
  ]);
  assert.deepEqual(wrapLine(' ~> RSET  <~* 550 5.7.1 no no no no no no no no no no', 30), [
    ' ~> RSET',
    '<~* 550 5.7.1 no no no no no',
    '<~*   no no no no no',
  ]);
  // Fits: one line, as before.
  assert.deepEqual(wrapLine(' ~> DATA  <~  354 go ahead', 60), [' ~> DATA  <~  354 go ahead']);
  // The command's colour ends on its own line.
  const painted = `${colourMarker('36')} ~> AUTH PLAIN <redacted>${colourMarker('39')}  ${colourMarker('32')}<~  235 2.7.0 Authentication successful${colourMarker('39')}`;
  assert.deepEqual(wrapLine(painted, 50).map(stripMarkers), [
    ' ~> AUTH PLAIN <redacted>',
    '<~  235 2.7.0 Authentication successful',
  ]);
  assert.ok(wrapLine(painted, 50).every((l) => l.match(/\ue000/g)?.length === 2));
});

test('wrapping: a fingerprint longer than the line is cut after a colon, never inside a byte', () => {
  const fp = Array.from({ length: 32 }, (_, i) =>
    (i * 37 + 11).toString(16).toUpperCase().padStart(2, '0').slice(-2),
  ).join(':');
  for (const width of [40, 57, 60, 61, 80]) {
    const lines = wrapLine(`===   valid 2026-11-28 to 2126-11-04; RSA 2048; SHA-256 ${fp}`, width);
    const pieces = lines.flatMap((l) => l.split(/\s+/)).filter((w) => /^[0-9A-F]{1,2}(:|$)/.test(w));
    assert.equal(pieces.join(''), fp, lines.join('\n'));
    for (const p of pieces)
      assert.match(p, /^([0-9A-F]{2}:)*[0-9A-F]{2}:?$/, `a byte cut at ${width} columns:\n${lines.join('\n')}`);
    assert.ok(
      lines.every((l) => l.length <= width && l.startsWith('===')),
      lines.join('\n'),
    );
  }
});
