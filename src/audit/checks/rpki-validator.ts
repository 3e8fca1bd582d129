import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';

/** A validated ROA payload as the validator lists it. */
export interface Vrp {
  asn: string;
  prefix: string;
  maxLength: string;
}

/** RFC 6811's three states with the VRPs behind them, or why the validator gave no answer. */
export type RouteValidity =
  | { state: 'valid'; matched: Vrp[] }
  | { state: 'invalid'; reason: 'as' | 'length'; unmatchedAs: Vrp[]; unmatchedLength: Vrp[] }
  | { state: 'not-found' }
  | { state: 'unknown'; why: string };

export interface ValidatorOptions {
  /** The API's base URL, checked by the CLI (http or https, no credentials). */
  url: string;
  /** Extra trusted CA (PEM) for an https validator. */
  ca: string | undefined;
  /** Each request's time limit. */
  timeoutMs: () => number;
  /** The audit is over: requests still running stop. */
  signal: AbortSignal;
}

/** A validity answer is a few hundred bytes; a validator sending more than this is cut off. */
export const VALIDATOR_MAX_BYTES = 1024 * 1024;
/** Requests at once: one validator, asked politely. */
const CONCURRENCY = 4;

/** Thrown inside a request: the reason the validator's answer is unusable. */
class Unusable extends Error {}

/**
 * Routinator's `GET {url}/api/v1/validity/{ASN}/{prefix}`, one request per distinct origin and
 * prefix (memoised), at most CONCURRENCY at once. The validator is untrusted input: its body is
 * capped, its wait bounded, a redirect is not followed, and the first unusable answer ends
 * the asking (the next questions get the same reason rather than the same wait).
 */
export class RpkiValidator {
  private readonly memo = new Map<string, Promise<RouteValidity>>();
  private readonly queue: Array<() => void> = [];
  private running = 0;
  private broken: string | undefined;

  constructor(private readonly options: ValidatorOptions) {}

  validity(asn: number, prefix: string): Promise<RouteValidity> {
    const key = `AS${asn}/${prefix}`;
    let p = this.memo.get(key);
    if (!p) {
      p = this.slot(() => this.ask(key));
      this.memo.set(key, p);
    }
    return p;
  }

  private async slot<T>(run: () => Promise<T>): Promise<T> {
    // A finished request hands its slot straight to the next in line, so no newcomer slips in between.
    if (this.running >= CONCURRENCY) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.running++;
    try {
      return await run();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    }
  }

  private async ask(key: string): Promise<RouteValidity> {
    if (this.broken) return { state: 'unknown', why: this.broken };
    try {
      return routeValidity(await this.getJson(`${this.options.url}/api/v1/validity/${key}`));
    } catch (err) {
      if (!(err instanceof Unusable) && !isNetworkError(err)) throw err;
      this.broken ??= `the validator ${this.options.url} ${(err as Error).message}`;
      return { state: 'unknown', why: this.broken };
    }
  }

  private getJson(url: string): Promise<unknown> {
    const timeoutMs = this.options.timeoutMs();
    const secure = url.startsWith('https:');
    const ca = this.options.ca ? [...rootCertificates, this.options.ca] : undefined;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const req = (secure ? https : http).get(
        url,
        {
          headers: { accept: 'application/json' },
          agent: false,
          signal: this.options.signal,
          ...(secure && ca ? { ca } : {}),
        },
        (res) => {
          const code = res.statusCode ?? 0;
          const type = res.headers['content-type']?.split(';')[0]!.trim().toLowerCase();
          const refuse = (why: string) => {
            res.destroy();
            reject(new Unusable(why));
          };
          if (code >= 300 && code < 400) return refuse(`answered HTTP ${code}, a redirect (not followed)`);
          if (code !== 200)
            return refuse(
              `answered HTTP ${code}${code === 404 ? ' (not found: is the URL the API’s base, e.g. http://host:8323?)' : ''}`,
            );
          if (type !== 'application/json' && !type?.endsWith('+json'))
            return refuse(`answered ${type ? JSON.stringify(type) : 'with no content type'}, not application/json`);
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (d: Buffer) => {
            size += d.length;
            if (size > VALIDATOR_MAX_BYTES)
              return refuse(`sent more than ${VALIDATOR_MAX_BYTES / 1024 / 1024} MiB for one answer: stopped reading`);
            chunks.push(d);
          });
          res.on('end', () => {
            clearTimeout(timer);
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
            } catch {
              reject(new Unusable('answered with a body that is not JSON'));
            }
          });
          res.on('error', (err) => reject(new Unusable(`broke off its answer (${err.message})`)));
        },
      );
      // The whole answer, not each byte: req.setTimeout is an idle limit a validator dripping bytes never hits.
      timer = setTimeout(() => {
        const late = new Unusable(`gave no answer within ${(timeoutMs / 1000).toFixed(1)} s`);
        reject(late);
        req.destroy(late);
      }, timeoutMs);
      req.on('close', () => clearTimeout(timer));
      req.on('error', (err) =>
        reject(err instanceof Unusable ? err : new Unusable(`could not be asked (${err.message})`)),
      );
    });
  }
}

const isNetworkError = (err: unknown) => err instanceof Error && 'code' in err;

/** A VRP field as text; the validator is untrusted, and String() throws on an object like {"toString": 1}. */
const text = (v: unknown): string => {
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  throw new Unusable('answered a VRP whose asn, prefix or max_length is not text');
};

const vrps = (list: unknown): Vrp[] =>
  Array.isArray(list)
    ? list
        .filter((v): v is Record<string, unknown> => !!v && typeof v === 'object')
        .map((v) => ({ asn: text(v.asn), prefix: text(v.prefix), maxLength: text(v.max_length) }))
    : [];

/** Routinator's answer: {"validated_route": {"route": {...}, "validity": {"state", "reason", "VRPs": {...}}}}. */
export function routeValidity(doc: unknown): RouteValidity {
  const validity = (doc as { validated_route?: { validity?: Record<string, unknown> } } | null)?.validated_route
    ?.validity;
  const found = (validity?.VRPs ?? {}) as Record<string, unknown>;
  switch (validity?.state) {
    case 'valid':
      return { state: 'valid', matched: vrps(found.matched) };
    case 'not-found':
      return { state: 'not-found' };
    case 'invalid': {
      const unmatchedAs = vrps(found.unmatched_as);
      return {
        state: 'invalid',
        reason: validity.reason === 'length' || (!unmatchedAs.length && validity.reason !== 'as') ? 'length' : 'as',
        unmatchedAs,
        unmatchedLength: vrps(found.unmatched_length),
      };
    }
    default:
      throw new Unusable('answered JSON that is no route validity (no validated_route.validity.state)');
  }
}
