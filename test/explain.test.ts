import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ENHANCED_CODES } from '../src/explain/enhanced-codes.js';
import { explainCode, explainEnhanced, explainReply } from '../src/explain/explain.js';
import { COMMAND_CODES, GENERIC_CODES } from '../src/explain/reply-codes.js';
import { runCli } from './helpers/cli.js';
import { readFixture } from './helpers/paths.js';

const listed = (name: string) => readFixture(name).split('\n').filter((l) => l && !l.startsWith('#'));

test('every enumerated code of the IANA registry has a title and an explanation', () => {
  const codes = listed('iana-enhanced-codes.txt');
  assert.equal(codes.length, 81);
  for (const code of codes) {
    const key = code.slice(2);
    const entry = ENHANCED_CODES[key];
    assert.ok(entry && entry[0] && entry[1].length > 20, `no explanation for ${code}`);
    for (const cls of ['2', '4', '5']) assert.equal(explainEnhanced(`${cls}${code.slice(1)}`)?.title, entry[0]);
  }
  assert.equal(Object.keys(ENHANCED_CODES).length, codes.length, 'a code we explain is not in the registry');
});

test('every basic reply code of RFC 5321 and the extensions has its own explanation', () => {
  for (const code of listed('basic-reply-codes.txt')) assert.ok(GENERIC_CODES[Number(code)], `no explanation for ${code}`);
});

test('every command/reply pair the RFCs list is explained for that command', () => {
  for (const line of listed('command-replies.txt')) {
    const [command, code] = line.split('\t');
    assert.ok(COMMAND_CODES[`${command} ${code}`], `no explanation of ${code} as the answer to ${command}`);
  }
});

test('the same code means different things after different commands', () => {
  assert.notEqual(explainCode(250, 'RCPT'), explainCode(250, 'EHLO'));
  assert.match(explainCode(250, 'RCPT'), /recipient was accepted/);
  assert.match(explainCode(250, '.'), /message was accepted/);
  assert.match(explainCode(554, 'CONNECT'), /refuses this client/);
});

test('unknown codes are read by their first digit, unregistered enhanced codes by subject', () => {
  assert.match(explainCode(299), /Success/);
  assert.match(explainCode(599), /Permanent failure/);
  assert.match(explainEnhanced('4.7.99')?.text ?? '', /Not in the IANA registry; its subject is about security or policy/);
  assert.match(explainEnhanced('5.7.1')?.text ?? '', /permanent failure/);
  assert.match(explainEnhanced('4.2.2')?.text ?? '', /temporary failure/);
});

test('530 5.7.0 before TLS hints at STARTTLS; after TLS at AUTH', () => {
  const reply = { code: 530, enhanced: '5.7.0', lines: ['5.7.0 Must issue a STARTTLS command first'] };
  assert.match(explainReply(reply, 'MAIL').hint ?? '', /wants TLS first.*STARTTLS/);
  const authReply = { code: 530, enhanced: '5.7.0', lines: ['5.7.0 Authentication required'] };
  assert.match(explainReply(authReply, 'MAIL', true).hint ?? '', /authenticate/);
});

test('smtpkit explain reads a code pair, a lone enhanced code and a pasted line', async () => {
  const pair = await runCli(['explain', '550', '5.7.1']);
  assert.equal(pair.code, 0);
  assert.match(pair.stdout, /550: Not done/);
  assert.match(pair.stdout, /5\.7\.1 Delivery not authorized, message refused/);
  const lone = await runCli(['explain', '5.7.26']);
  assert.match(lone.stdout, /Multiple authentication checks failed/);
  assert.match(lone.stdout, /try: check DKIM/);
  const pasted = await runCli(['explain', '--command', 'RCPT', '450 4.2.0 <a@b>: Recipient address rejected: Greylisted']);
  assert.match(pasted.stdout, /450 \(to RCPT\): The recipient is temporarily unavailable/);
  assert.match(pasted.stdout, /try: greylisting/);
  const json = JSON.parse((await runCli(['explain', '--json', '535 5.7.8 Error: authentication failed'])).stdout);
  assert.equal(json.code, 535);
  assert.equal(json.explanation.enhanced.title, 'Authentication credentials invalid');
  const bad = await runCli(['explain', 'what', 'is', 'this']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /cannot read "what is this" as a reply/);
  assert.equal(bad.stdout, '');
});
