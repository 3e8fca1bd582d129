import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeAll, escapeKeepingLayout } from '../src/render/escape.js';
import { jsonText } from '../src/render/json.js';
import { memoryOutput, safeText } from '../src/render/output.js';
import { colourMarker, stripMarkers } from '../src/render/paint.js';
import { wrapLine } from '../src/render/wrap.js';

test('the writer escapes C0 (but TAB and LF), DEL, C1 and bidi controls, whatever their origin', () => {
  assert.equal(escapeKeepingLayout('a\tb\nc\x1b[2J\x07\x7f\u009b1m\u202eX\u2066\r'), 'a\tb\nc\\x1b[2J\\x07\\x7f\\x9b1m\\u202eX\\u2066\\x0d');
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
  assert.deepEqual(wrapLine('    # one two three four five six seven eight nine ten eleven', 30), ['    # one two three four five', '    #   six seven eight nine', '    #   ten eleven']);
  assert.deepEqual(wrapLine('<-  250-SIZE 1000  # messages up to 1000 bytes are accepted', 40), ['<-  250-SIZE 1000  # messages up to 1000', '                   #   bytes are', '                   #   accepted']);
  assert.deepEqual(wrapLine('=== short', 40), ['=== short']);
  // A word longer than the line is the one thing that is cut.
  const long = wrapLine(`=== key ${'A'.repeat(50)}`, 30);
  assert.ok(long.every((l) => l.length <= 30 && l.startsWith('===')), long.join('\n'));
  // Colour markers take no width and survive.
  const red = `${colourMarker('31')}<** 550 ${'word '.repeat(10).trim()}${colourMarker('39')}`;
  const lines = wrapLine(red, 30);
  assert.ok(lines.every((l) => stripMarkers(l).length <= 30));
  assert.equal(lines.join('').match(/\ue000/g)?.length, 2);
  // Off a terminal nothing is wrapped.
  assert.equal(safeText(`    # ${'x '.repeat(100)}\n`), `    # ${'x '.repeat(100)}\n`);
});
