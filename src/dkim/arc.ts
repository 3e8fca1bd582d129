import type { KeyLookup } from './key-lookup.js';
import { canonHeader } from './canonicalize.js';
import { fieldValue, headerText, parseTagList, withoutSignatureValue, type HeaderField } from './fields.js';
import {
  fetchKey,
  prepare,
  signatureSet,
  signatureValid,
  type BodyConsumer,
  type DkimReason,
  type Pending,
  type SignatureResult,
} from './verify.js';

/** The Authenticated Received Chain (RFC 8617): each ARC set checked, and the chain's Chain Validation Status. */

export type ArcStatus = 'none' | 'pass' | 'fail';

export interface ArcSealResult {
  result: 'pass' | 'fail' | 'permerror' | 'temperror' | 'not-checked';
  reason: DkimReason | 'not-checked';
  explanation: string;
  domain: string | undefined;
  selector: string | undefined;
  algorithm: string | undefined;
  keyBits: number | undefined;
  notes: string[];
}

export interface ArcSetResult {
  instance: number;
  /** The ARC-Seal's cv= as written: none for i=1, pass after (RFC 8617 §4.1.3). */
  cv: string | undefined;
  /** The ARC-Authentication-Results: who recorded them, and what they found when the message reached them. */
  authservId: string | undefined;
  authResults: string | undefined;
  messageSignature: SignatureResult | undefined;
  seal: ArcSealResult;
}

export interface ArcResult {
  result: ArcStatus;
  /** Why, in one sentence. */
  reason: string;
  sets: ArcSetResult[];
  /** §5.2 step 5: the oldest instance from which every AMS still verifies; 0 when all do. */
  oldestPass: number | undefined;
}

/** RFC 8617 §4.2.1. */
export const MAX_ARC_SETS = 50;
const NAMES = { 'arc-authentication-results': 'aar', 'arc-message-signature': 'ams', 'arc-seal': 'as' } as const;
type Part = (typeof NAMES)[keyof typeof NAMES];
const ALGORITHMS = ['rsa-sha256', 'ed25519-sha256'];

interface Group {
  aar: HeaderField[];
  ams: HeaderField[];
  as: HeaderField[];
}

/** The instance tag of an ARC header field (`i=N;` first in an AAR, a tag anywhere in AMS/AS). */
function instanceOf(part: Part, f: HeaderField): number | undefined {
  const text = headerText(fieldValue(f));
  const v = part === 'aar' ? /^\s*i\s*=\s*(\d{1,3})\s*;/.exec(text)?.[1] : parseTagList(text).tags.get('i');
  return v !== undefined && /^\d{1,3}$/.test(v) ? Number(v) : undefined;
}

/**
 * The ARC chain of a header, prepared: the body goes to `update` (each AMS hashes it as a
 * DKIM signature does), then `finish` runs the Validator Actions of RFC 8617 §5.2.
 */
export function arcChain(
  fields: HeaderField[],
  now = new Date(),
): BodyConsumer & { finish(resolver: KeyLookup): Promise<ArcResult> } {
  const groups = new Map<number, Group>();
  let unnumbered = 0;
  for (const f of fields) {
    const part = NAMES[f.name.toLowerCase() as keyof typeof NAMES];
    if (!part) continue;
    const i = instanceOf(part, f);
    if (i === undefined) {
      unnumbered++;
      continue;
    }
    if (!groups.has(i)) groups.set(i, { aar: [], ams: [], as: [] });
    groups.get(i)![part].push(f);
  }
  const n = Math.max(0, ...groups.keys());
  const instances = [...groups.keys()].sort((a, b) => a - b);
  // Too many sets: no signature is checked at all (§5.2 step 1), so no AMS hashes the body.
  const tooMany = n > MAX_ARC_SETS || groups.size > MAX_ARC_SETS;
  const pending: Array<{ instance: number; p: Pending }> = tooMany
    ? []
    : instances
        .filter((i) => groups.get(i)!.ams.length === 1)
        .map((i) => ({ instance: i, p: prepare(groups.get(i)!.ams[0]!, i, fields, now, 'ams') }));
  const ams = signatureSet(
    pending.map((x) => x.p),
    fields,
  );
  return {
    update: (chunk) => ams.update(chunk),
    finish: async (resolver) => {
      if (!groups.size && !unnumbered)
        return { result: 'none', reason: 'the message has no ARC header fields', sets: [], oldestPass: undefined };
      const amsResults = await ams.finish(resolver);
      const sets: ArcSetResult[] = instances.map((i) => {
        const g = groups.get(i)!;
        const aar =
          g.aar.length === 1
            ? /^\s*i\s*=\s*\d+\s*;\s*([^;]*?)\s*(?:;\s*([^]*))?$/.exec(headerText(fieldValue(g.aar[0]!)))
            : undefined;
        const seal = g.as.length === 1 ? parseTagList(headerText(fieldValue(g.as[0]!))).tags : undefined;
        const k = pending.findIndex((x) => x.instance === i);
        return {
          instance: i,
          cv: seal?.get('cv')?.toLowerCase(),
          authservId: aar?.[1] || undefined,
          authResults: aar?.[2]?.trim() || undefined,
          messageSignature: k >= 0 ? amsResults[k] : undefined,
          seal: {
            result: 'not-checked',
            reason: 'not-checked',
            explanation: 'not checked: the chain failed before this seal',
            domain: seal?.get('d')?.toLowerCase(),
            selector: seal?.get('s'),
            algorithm: seal?.get('a'),
            keyBits: undefined,
            notes: [],
          },
        };
      });
      const fail = (reason: string, oldestPass?: number): ArcResult => ({ result: 'fail', reason, sets, oldestPass });
      // §5.2 step 1.
      if (tooMany) return fail(`more than ${MAX_ARC_SETS} ARC sets (RFC 8617 §5.2 step 1)`);
      // Step 2: the newest sealer already said the chain was broken.
      const newest = sets.find((s) => s.instance === n);
      if (newest?.cv === 'fail')
        return fail(`the newest ARC-Seal (i=${n}) says cv=fail: the chain was broken before it (RFC 8617 §5.2 step 2)`);
      // Step 3: the structure.
      if (unnumbered)
        return fail(
          `${unnumbered} ARC header field${unnumbered === 1 ? ' has' : 's have'} no valid instance tag i= (RFC 8617 §4.2.1)`,
        );
      for (let i = 1; i <= n; i++) {
        const g = groups.get(i);
        if (!g)
          return fail(`the ARC instances are not 1..${n} without a gap: i=${i} is missing (RFC 8617 §5.2 step 3.B)`);
        for (const part of ['aar', 'ams', 'as'] as const) {
          if (g[part].length !== 1)
            return fail(
              `ARC set i=${i} has ${g[part].length} ${part === 'aar' ? 'ARC-Authentication-Results' : part === 'ams' ? 'ARC-Message-Signature' : 'ARC-Seal'} fields, not exactly one (RFC 8617 §5.2 step 3.A)`,
            );
        }
        const cv = sets[i - 1]!.cv;
        const want = i === 1 ? 'none' : 'pass';
        if (cv !== want)
          return fail(
            `ARC-Seal i=${i} has cv=${cv ?? '(missing)'}; i=${i} must say cv=${want} (RFC 8617 §5.2 step 3.C)`,
          );
      }
      // Step 4: the newest AMS must verify; any error, a DNS failure too, is permanent (§5.2.1).
      const newestAms = sets[n - 1]!.messageSignature!;
      if (newestAms.result !== 'pass')
        return fail(
          `the newest ARC-Message-Signature (i=${n}) does not verify: ${newestAms.explanation} (RFC 8617 §5.2 step 4)`,
        );
      // Step 5 (optional, done for the report): the oldest AMS from which all newer ones pass.
      let oldestPass = 0;
      for (let i = n - 1; i >= 1; i--) {
        if (sets[i - 1]!.messageSignature?.result !== 'pass') {
          oldestPass = i + 1;
          break;
        }
      }
      // Step 6: every seal, newest first.
      for (let i = n; i >= 1; i--) {
        const s = sets[i - 1]!;
        s.seal = await checkSeal(groups, i, s.seal, resolver);
        if (s.seal.result !== 'pass')
          return fail(`ARC-Seal i=${i} does not verify: ${s.seal.explanation} (RFC 8617 §5.2 step 6)`, oldestPass);
      }
      return {
        result: 'pass',
        reason: `${n} ARC set${n === 1 ? '' : 's'}, every seal and the newest message signature verify`,
        sets,
        oldestPass,
      };
    },
  };
}

/** One ARC-Seal (RFC 8617 §4.1.3, §5.1.1): relaxed canonicalization of sets 1..i in order, its own b= emptied; no body. */
async function checkSeal(
  groups: Map<number, Group>,
  instance: number,
  seal: ArcSealResult,
  resolver: KeyLookup,
): Promise<ArcSealResult> {
  const field = groups.get(instance)!.as[0]!;
  const { tags, errors } = parseTagList(headerText(fieldValue(field)));
  const done = (result: ArcSealResult['result'], reason: DkimReason, explanation: string): ArcSealResult => ({
    ...seal,
    result,
    reason,
    explanation,
  });
  if (errors.length) return done('permerror', 'syntax', `the seal does not parse: ${errors.join('; ')}`);
  for (const t of ['a', 'b', 'd', 's', 'cv'])
    if (!tags.get(t))
      return done('permerror', 'syntax', `the required tag ${t}= is missing or empty (RFC 8617 §4.1.3)`);
  if (tags.has('h')) return done('permerror', 'syntax', 'the seal has an h= tag, which RFC 8617 §4.1.3 forbids');
  const a = tags.get('a')!.toLowerCase();
  if (!ALGORITHMS.includes(a))
    return done(
      'permerror',
      'unsupported',
      `a=${a}: not an ARC signing algorithm (rsa-sha256${a === 'rsa-sha1' ? '; rsa-sha1 is refused by RFC 8301' : ''})`,
    );
  const fetched = await fetchKey(resolver, tags.get('s')!, tags.get('d')!.toLowerCase(), a);
  const withKey = { ...seal, keyBits: fetched.keyBits, notes: fetched.notes };
  if (!('key' in fetched))
    return {
      ...withKey,
      result: 'fail',
      reason: fetched.reason,
      explanation: `${fetched.explanation}${fetched.result === 'temperror' ? '; in ARC every error is permanent (RFC 8617 §5.2.1)' : ''}`,
    };
  const parts: string[] = [];
  for (let i = 1; i <= instance; i++) {
    const g = groups.get(i)!;
    parts.push(
      canonHeader(g.aar[0]!.raw, 'relaxed'),
      canonHeader(g.ams[0]!.raw, 'relaxed'),
      canonHeader(i === instance ? withoutSignatureValue(g.as[0]!.raw) : g.as[0]!.raw, 'relaxed'),
    );
  }
  const data = Buffer.from(parts.join('').replace(/\r\n$/, ''), 'latin1');
  if (!signatureValid(data, tags.get('b')!, fetched))
    return {
      ...withKey,
      result: 'fail',
      reason: 'signature-mismatch',
      explanation: `seal mismatch: an ARC header field of sets 1..${instance} changed after sealing, or the key at ${fetched.name} is not the one that sealed`,
    };
  return {
    ...withKey,
    result: 'pass',
    reason: 'pass',
    explanation: `valid seal by ${seal.domain} (key ${fetched.name})`,
  };
}
