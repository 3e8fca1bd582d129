import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adviceText, withAdvice } from '../src/render/advice.js';

test('advice is worded where it is rendered: flags on the command line, a restart in the repl', () => {
  assert.equal(
    withAdvice('no reply to EHLO within 1s', { kind: 'timeout', wait: 'command' }),
    'no reply to EHLO within 1s (command timeout; --command-timeout raises it)',
  );
  assert.equal(withAdvice('x', undefined), 'x');
  assert.match(adviceText({ kind: 'timeout', wait: 'greeting' }, 'repl')!, /restart the repl with --greeting-timeout/);
  assert.match(adviceText({ kind: 'tls-old-version' })!, /--tls-min 1\.0/);
  assert.doesNotMatch(adviceText({ kind: 'tls-verify' }, 'repl')!, /makes this an error/);
});
