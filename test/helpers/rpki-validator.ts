import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type AddressInfo, type Socket } from 'node:net';
import { TLS } from './paths.js';

/** A ROA payload the test validator holds: origin AS, prefix, max length. */
export interface TestVrp {
  asn: number;
  prefix: string;
  maxLength: number;
}

/**
 * Named faults of a hostile validator, instead of Routinator's answer:
 * endlessBody: 200 application/json, then bytes for ever (the client must stop reading);
 * silence: the request is read and never answered;
 * html: 200 text/html, a web page;
 * status500: 500 with a JSON error body;
 * status404: 404, as a server that is no Routinator (or a wrong base path) answers;
 * badJson: 200 application/json whose body is cut mid-document;
 * redirect: 302 to another server (which must not be asked);
 * objectAsn: 200 "valid" whose VRP fields are objects that no String() can convert ({"toString": 1});
 * vrpFlood: 200 "valid" listing 15,000 matched VRPs (under the byte cap, each a line of evidence);
 * invalidFlood: 200 "invalid" (reason as) whose 15,000 covering VRPs each name another AS;
 * drip: 200 application/json, then one space every 300 ms, never ending (each byte is "activity").
 */
export type ValidatorFault =
  | 'endlessBody'
  | 'silence'
  | 'html'
  | 'status500'
  | 'status404'
  | 'badJson'
  | 'redirect'
  | 'objectAsn'
  | 'vrpFlood'
  | 'invalidFlood'
  | 'drip';

/** How many VRPs the vrpFlood fault lists. */
export const FLOOD_VRPS = 15_000;

const validAnswer = (matched: unknown[]) => ({
  validated_route: { validity: { state: 'valid', VRPs: { matched, unmatched_as: [], unmatched_length: [] } } },
});

export interface TestValidator {
  url: string;
  /** Every path asked, in order. */
  asked: string[];
  vrps: TestVrp[];
  fault: ValidatorFault | undefined;
  /** Bytes each endless body wrote before its client hung up, one entry per request. */
  endlessBytes: number[];
  /** Resolves when the endless body's connection has closed. */
  endlessClosed: Promise<void>;
  close(): Promise<void>;
}

const family = (a: string) => (isIP(a) === 6 ? 'ipv6' : 'ipv4');
const split = (p: string) => {
  const [a, l] = p.split('/');
  return { address: a!, length: Number(l) };
};

/** Routinator's own rule (src/validity.rs): a VRP covers a route when its prefix holds the route's; it matches if AS and max length allow. */
function validity(asn: number, prefix: string, vrps: TestVrp[]) {
  const route = split(prefix);
  const matched: TestVrp[] = [];
  const badAs: TestVrp[] = [];
  const badLen: TestVrp[] = [];
  for (const v of vrps) {
    const vp = split(v.prefix);
    if (family(vp.address) !== family(route.address) || vp.length > route.length) continue;
    const list = new BlockList();
    list.addSubnet(vp.address, vp.length, family(vp.address));
    if (!list.check(route.address, family(route.address))) continue;
    if (route.length > v.maxLength) badLen.push(v);
    else if (v.asn !== asn) badAs.push(v);
    else matched.push(v);
  }
  const state = matched.length ? 'valid' : badAs.length || badLen.length ? 'invalid' : 'not-found';
  const reason = matched.length ? undefined : badAs.length ? 'as' : badLen.length ? 'length' : undefined;
  const json = (l: TestVrp[]) =>
    l.map((v) => ({ asn: `AS${v.asn}`, prefix: v.prefix, max_length: String(v.maxLength) }));
  return {
    validated_route: {
      route: { origin_asn: `AS${asn}`, prefix },
      validity: {
        state,
        ...(reason ? { reason } : {}),
        description: 'as Routinator words it',
        VRPs: { matched: json(matched), unmatched_as: json(badAs), unmatched_length: json(badLen) },
      },
    },
    generatedTime: '2026-12-06T00:00:00Z',
  };
}

/**
 * An HTTP server on 127.0.0.1 answering `GET /api/v1/validity/{ASN}/{prefix}` as Routinator
 * does from `vrps`, or with the named fault; over TLS (the test CA's server certificate) with `tls`.
 */
export async function testValidator(vrps: TestVrp[] = [], opts: { tls?: boolean } = {}): Promise<TestValidator> {
  const sockets = new Set<Socket>();
  let closedEndless: () => void = () => {};
  const state: TestValidator = {
    url: '',
    asked: [],
    vrps,
    fault: undefined,
    endlessBytes: [],
    endlessClosed: new Promise((r) => (closedEndless = r)),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
  const serve: http.RequestListener = (req, res) => {
    state.asked.push(req.url ?? '');
    switch (state.fault) {
      case 'silence':
        return;
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end('<!doctype html><title>Routinator</title><p>Please log in</p>');
      case 'status500':
        res.writeHead(500, { 'content-type': 'application/json' });
        return res.end('{"error":"initial validation ongoing"}');
      case 'status404':
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('Not Found');
      case 'badJson':
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"validated_route": {"route": {"origin_asn": "AS64500", ');
      case 'objectAsn':
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(
          JSON.stringify(validAnswer([{ asn: { toString: 1 }, prefix: { valueOf: 2 }, max_length: ['x'] }])),
        );
      case 'vrpFlood':
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(
          JSON.stringify(
            validAnswer(
              Array.from({ length: FLOOD_VRPS }, (_, i) => ({
                asn: 'AS64500',
                prefix: '127.0.0.0/8',
                max_length: String(8 + (i % 25)),
              })),
            ),
          ),
        );
      case 'drip': {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"validated_route": ');
        const t = setInterval(() => res.write(' '), 300);
        return void res.on('close', () => clearInterval(t));
      }
      case 'invalidFlood': {
        const other = Array.from({ length: FLOOD_VRPS }, (_, i) => ({
          asn: `AS${70000 + i}`,
          prefix: '127.0.0.0/8',
          max_length: '8',
        }));
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(
          JSON.stringify({
            validated_route: {
              validity: {
                state: 'invalid',
                reason: 'as',
                VRPs: { matched: [], unmatched_as: other, unmatched_length: [] },
              },
            },
          }),
        );
      }
      case 'redirect':
        res.writeHead(302, { location: 'http://192.0.2.1/api/v1/validity/AS1/192.0.2.0/24' });
        return res.end();
      case 'endlessBody': {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const i = state.endlessBytes.push(0) - 1;
        const pump = () => {
          while (!res.destroyed && !res.writableEnded) {
            state.endlessBytes[i]! += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
        };
        res.on('close', () => closedEndless());
        res.write('{"validated_route": ');
        return pump();
      }
    }
    const m = /^\/api\/v1\/validity\/AS(\d+)\/([0-9a-f.:]+\/\d+)$/i.exec(req.url ?? '');
    if (!m) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      return res.end('Bad Request');
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(validity(Number(m[1]), m[2]!, state.vrps), null, 2));
  };
  const server = opts.tls ? https.createServer({ key: TLS.key(), cert: TLS.cert() }, serve) : http.createServer(serve);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
