import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { TLS } from './helpers/paths.js';
import { smtpPeer, type Peer } from './helpers/smtp-peer.js';
import { checkXml } from './helpers/xml-check.js';

/*
 * Every probe format gives the verdict its exit code gives. The peer passes everything
 * but certificate expiry, which --warn-days turns into a warning: OK with warnings, or
 * under --strict a failure in every format.
 */
let peer: Peer;
before(async () => {
  peer = await smtpPeer({ disabledCommands: ['AUTH'] });
});
after(() => peer.close());

const probe = (...args: string[]) =>
  runCli(['probe', `127.0.0.1:${peer.port}`, '--ca-file', TLS.ca, '--warn-days', '40000', ...args]);
const junitFailures = (xml: string) => Number(/<testsuite [^>]*failures="(\d+)"/.exec(xml)?.[1]);

test('a warning without --strict: OK with warnings, exit 0; Nagios WARNING, exit 1; JUnit counts no failure', async () => {
  const text = await probe();
  assert.equal(text.code, 0);
  assert.match(text.stdout, /^=== OK with warnings: /m);
  const json = await probe('--json');
  assert.equal(json.code, 0);
  const doc = JSON.parse(json.stdout);
  assert.deepEqual([doc.outcome.ok, doc.outcome.exitCode, doc.results[0].exitCode, doc.strict], [true, 0, 0, false]);
  const junit = await probe('--format', 'junit');
  assert.equal(junit.code, 0);
  checkXml(junit.stdout);
  assert.equal(junitFailures(junit.stdout), 0);
  assert.match(junit.stdout, /<system-out>WARNING: /);
  const nagios = await probe('--format', 'nagios');
  assert.equal(nagios.code, 1);
  assert.match(nagios.stdout, /^SMTP WARNING - /);
  const prom = await probe('--format', 'prometheus');
  assert.equal(prom.code, 0);
  assert.match(prom.stdout, /^smtpkit_probe_success\{target="[^"]+"\} 1$/m);
});

test('--strict: the warning fails in every format, and each says so as its exit code does', async () => {
  const text = await probe('--strict');
  assert.equal(text.code, 1);
  assert.match(text.stdout, /^=== FAILED \(--strict: warnings fail\): /m);
  assert.doesNotMatch(text.stdout, /OK with warnings/);
  const quiet = await probe('--strict', '-q');
  assert.equal(quiet.stdout, '');
  assert.match(quiet.stderr, /^FAILED \(exit 1, checkFailed\): .*1 warning.* \(--strict: warnings fail\)\n$/);
  const json = await probe('--strict', '--json');
  assert.equal(json.code, 1);
  const doc = JSON.parse(json.stdout);
  assert.deepEqual(
    [doc.outcome.ok, doc.outcome.exitCode, doc.results[0].exitCode, doc.summary.failed, doc.strict],
    [false, 1, 1, 1, true],
  );
  const junit = await probe('--strict', '--format', 'junit');
  assert.equal(junit.code, 1);
  checkXml(junit.stdout);
  assert.equal(junitFailures(junit.stdout), 1);
  assert.match(junit.stdout, /<failure message="WARNING \(--strict\): \d+ days left/);
  // Nagios has its own exit codes: under --strict a warning is CRITICAL, exit 2.
  const nagios = await probe('--strict', '--format', 'nagios');
  assert.equal(nagios.code, 2);
  assert.match(nagios.stdout, /^SMTP CRITICAL - /);
  // Prometheus: success and exit_code say what the exit code says, not the verdict before --strict.
  const prom = await probe('--strict', '--format', 'prometheus');
  assert.equal(prom.code, 1);
  assert.match(prom.stdout, /^smtpkit_probe_success\{target="[^"]+"\} 0$/m);
  assert.match(prom.stdout, /^smtpkit_probe_exit_code\{target="[^"]+"\} 1$/m);
});

test('the XML checker is strict: it refuses what XML 1.0 refuses', () => {
  assert.equal(checkXml('<?xml version="1.0" encoding="UTF-8"?>\n<a x="1"><b>t &amp; &#x41;</b><c/></a>\n'), 'a');
  for (const bad of [
    '<a>\x1b</a>',
    '<a>\uffff</a>',
    '<a><b></a></b>',
    '<a>&nbsp;</a>',
    '<a x=1></a>',
    '<a x="<"></a>',
    '<a></a><b></b>',
    '<a>',
    'text<a></a>',
    '<a x="1" x="2"></a>',
    '<a>]]></a>',
  ]) {
    assert.throws(() => checkXml(bad), Error, JSON.stringify(bad));
  }
});
