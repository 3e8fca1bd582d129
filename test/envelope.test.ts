import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mail, rcpt, xtext } from '../src/protocol/envelope.js';

test('MAIL and RCPT as values: every parameter spelled in one place, in a stable order', () => {
  assert.equal(mail('a@b.test'), 'MAIL FROM:<a@b.test>');
  assert.equal(mail('', { size: 0 }), 'MAIL FROM:<> SIZE=0');
  assert.equal(
    mail('a@b.test', { size: 1234, body: '8BITMIME', smtputf8: true, requiretls: true, ret: 'HDRS', envid: 'id=42' }),
    'MAIL FROM:<a@b.test> SIZE=1234 BODY=8BITMIME SMTPUTF8 REQUIRETLS RET=HDRS ENVID=id+3D42',
  );
  assert.equal(rcpt('c@d.test'), 'RCPT TO:<c@d.test>');
  assert.equal(
    rcpt('c@d.test', { notify: 'SUCCESS,FAILURE', orcpt: 'c@d.test' }),
    'RCPT TO:<c@d.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@d.test',
  );
  assert.equal(
    rcpt('ü@d.test', { notify: 'NEVER', orcpt: 'ü@d.test' }),
    'RCPT TO:<ü@d.test> NOTIFY=NEVER ORCPT=utf-8;+C3+BC@d.test',
  );
  assert.equal(xtext('a+b=c d'), 'a+2Bb+3Dc+20d');
});
