import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Resolver } from '../src/dns/resolver.js';
import { checkHost, spfIdentity } from '../src/spf/check-host.js';
import { resolverPort } from '../src/spf/dns-port.js';
import { dnsServer } from './helpers/dns-server.js';
import { mainCheckout } from './helpers/paths.js';
import { readSuite } from './helpers/spf-suite.js';

/**
 * The OpenSPF RFC 7208 test suite, every case, against check_host() in-process, each
 * scenario's zone served by a dns2 server on loopback. The suite sits beside the
 * repository (../shared/reference); where it is absent the test says so and skips.
 */
const SUITE = join(mainCheckout(), '..', 'shared', 'reference', 'rfc7208-tests.yml');

/**
 * Explanations that differ from pyspf's while the result agrees, and why. pyspf writes
 * %{i}'s IPv6 nibbles in the case the address was typed in (CAFE:BABE::1 gives E.B.A.B);
 * RFC 7208 §7.3's example writes them in lower case, as we do (DNS names ignore case).
 */
const EXPLANATION_CASE_ONLY = new Set(['v-macro-ip6']);

/**
 * Cases where smtpkit gives another result on purpose, each pinned (the result and why), so
 * any other change still fails. None today: null-text's empty TXT record (no string at all,
 * which RFC 1035 forbids) is passed over, as pyspf does, not taken for a malformed answer.
 */
const DEVIATIONS: Record<string, { result: string; reason: RegExp }> = {};

test(
  'the OpenSPF RFC 7208 suite: every case gets a result the suite allows, but the pinned deviations',
  { skip: existsSync(SUITE) ? false : `the suite is absent (${SUITE})` },
  async () => {
    const scenarios = readSuite(readFileSync(SUITE, 'latin1'));
    let total = 0;
    let deviated = 0;
    const disagree: string[] = [];
    for (const scenario of scenarios) {
      const server = await dnsServer(scenario.zone);
      try {
        const dns = resolverPort(
          new Resolver({
            servers: [{ address: '127.0.0.1', port: server.port }],
            tcp: false,
            doh: undefined,
            timeoutMs: 2000,
            ca: undefined,
          }),
        );
        for (const c of scenario.cases) {
          total++;
          const id = spfIdentity(c.mailfrom, c.helo);
          const v = await checkHost(dns, {
            ip: c.host,
            domain: id.domain,
            sender: id.sender,
            helo: c.helo,
            receiver: 'receiver.test',
          });
          const deviation = DEVIATIONS[c.name];
          if (deviation) {
            deviated++;
            if (v.result !== deviation.result || !deviation.reason.test(v.reason))
              disagree.push(`${c.name}: ${v.result} (${v.reason}), pinned as ${deviation.result}`);
            continue;
          }
          if (!c.results.includes(v.result)) {
            disagree.push(`${c.name}: ${v.result}, the suite says ${c.results.join(' or ')} (${v.reason})`);
            continue;
          }
          if (c.explanation && c.explanation !== 'DEFAULT' && v.result === 'fail') {
            const same = EXPLANATION_CASE_ONLY.has(c.name)
              ? v.explanation?.toLowerCase() === c.explanation.toLowerCase()
              : v.explanation === c.explanation;
            if (!same)
              disagree.push(
                `${c.name}: explanation ${JSON.stringify(v.explanation)}, the suite says ${JSON.stringify(c.explanation)}`,
              );
          }
        }
      } finally {
        await server.close();
      }
    }
    assert.equal(total, 203, 'every case of the 2014.04 suite was read');
    assert.equal(deviated, Object.keys(DEVIATIONS).length, 'every pinned deviation is a case of the suite');
    assert.deepEqual(
      disagree,
      [],
      `${total - deviated - disagree.length} of ${total} cases agree, ${deviated} differ as pinned`,
    );
  },
);
