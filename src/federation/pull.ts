import type { JWK } from 'jose';
import { z } from 'zod';
import type { Keyring } from './keyring.ts';
import { canonicalText, OriginSignatureError, verifyOrigin } from './origin-signature.ts';
import type { BatchChecks } from './origin-signature.ts';
import type { Limits, PeerClients, PeerErrorCode } from './peer-client.ts';
import { PeerRequestError } from './peer-client.ts';
import { createRequestProof, PROOF_SCHEME } from './request-proof.ts';
import { RESPONSE_SIGNATURE_HEADER, ResponseSignatureError, verifyResponse } from './response-signature.ts';
import { memberKeys } from './trust-list.ts';
import type { TrustList } from './trust-list.ts';

// One page of a peer's collection, fetched over a signed pull and checked end to end before
// anything is parsed or stored: the response signature over the exact bytes, then the envelope,
// then every object's origin signature. Any failure refuses the whole page.

export const TAXII_ACCEPT = 'application/taxii+json;version=2.1';

export type PullErrorCode =
  | PeerErrorCode
  | 'bad-signature'
  | 'bad-origin'
  | 'malformed'
  | 'not-configured'
  | 'lease-lost'
  | 'auth-refused'
  | 'unsupported-version'
  | 'no-progress';

export class PullError extends Error {
  override name = 'PullError';
  readonly code: PullErrorCode;
  /** The peer's Retry-After (429, 503), in seconds: the next pull waits at least this long. */
  readonly retryAfterSeconds: number | undefined;
  constructor(code: PullErrorCode, message: string, retryAfterSeconds?: number) {
    super(message);
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The most a peer's Retry-After may put a pull off: an hour. */
const RETRY_AFTER_MAX_SECONDS = 3600;

/** An HTTP-date as senders must write it (RFC 9110 §5.6.7, IMF-fixdate). */
const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date; undefined when absent or neither. */
export function retryAfterSeconds(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  const seconds = /^\d+$/.test(text) ? Number(text) : IMF_FIXDATE.test(text) ? (Date.parse(text) - now) / 1000 : Number.NaN;
  if (!Number.isFinite(seconds)) return undefined;
  return Math.min(Math.max(0, Math.ceil(seconds)), RETRY_AFTER_MAX_SECONDS);
}

/** A request to a peer or a server, its failures as pull errors. */
export async function asPullError<T>(request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (err) {
    if (err instanceof PeerRequestError) throw new PullError(err.code, err.message);
    throw err;
  }
}

/** An answer's body as JSON: `what` ("the page") is not JSON otherwise. */
export function jsonBody(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new PullError('malformed', `${what} is not JSON`);
  }
}

/** `json` as `schema` says, or why `what` is not `shape` ("a TAXII envelope"), at its first issue. */
export function shaped<T>(json: unknown, schema: z.ZodType<T>, what: string, shape: string): T {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const i = parsed.error.issues[0]!;
  throw new PullError('malformed', `${what} is not ${shape}: ${i.path.join('.') || shape.split(' ').pop()}: ${i.message}`);
}

/** One header of an answer, the first when it came several times. */
export function responseHeader(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Where to pull from: the peer as pinned here, and its collection. */
export type PullTarget = { peerNodeId: string; baseUrl: string; pinnedKeys: JWK[]; apiRoot: string; collectionId: string };

export type ReceivedObject = {
  object: Record<string, unknown>;
  json: string;
  originNode: string;
  originSignature: string;
  originVerified: boolean;
};

export type VerifiedPage = {
  objects: ReceivedObject[];
  more: boolean;
  /** X-TAXII-Date-Added-Last: the next added_after; absent on an empty page. */
  last: string | undefined;
  signature: string;
  digest: string;
};

const originRecord = z.object({ id: z.string().min(1), version: z.string().min(1), node: z.string().min(1), signature: z.string().min(1) });
// TAXII 2.1 §3.7: every property optional; an empty page is `{}`.
const envelope = z.object({
  more: z.boolean().optional(),
  next: z.string().optional(),
  objects: z.array(z.looseObject({ id: z.string().min(1), type: z.string().min(1) })).optional(),
  x_vigil_origins: z.array(originRecord).optional(),
});

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

export function pageUrl(target: PullTarget, cursor: string | null, limit: number): string {
  const base = target.baseUrl.replace(/\/+$/, '');
  const url = new URL(`${base}/${encodeURIComponent(target.apiRoot)}/collections/${encodeURIComponent(target.collectionId)}/objects/`);
  if (cursor) url.searchParams.set('added_after', cursor);
  url.searchParams.set('limit', String(limit));
  // Every version, not only the latest (TAXII's default): a relay keeps an object's history,
  // and a catch-up must not skip versions that were superseded before it ran.
  url.searchParams.set('match[version]', 'all');
  return url.href;
}

/** The keys that may sign as `node`: the peer's pinned keys, this node's own, or the trust list's. */
function originKeys(node: string, target: PullTarget, keyring: Keyring, trustList: TrustList | undefined): JWK[] {
  if (node === target.peerNodeId) return target.pinnedKeys;
  if (node === keyring.nodeId) return keyring.publicKeys();
  return trustList ? memberKeys(trustList, node) : [];
}

export type FetchContext = { clients: PeerClients; keyring: Keyring; trustList: TrustList | undefined; limits?: Partial<Limits> };

export async function fetchPage(ctx: FetchContext, target: PullTarget, cursor: string | null, limit: number): Promise<VerifiedPage> {
  const url = pageUrl(target, cursor, limit);
  const { token, jti } = await createRequestProof(ctx.keyring, target.peerNodeId, 'GET', url);
  const res = await asPullError(ctx.clients.get(url, { accept: TAXII_ACCEPT, authorization: `${PROOF_SCHEME} ${token}` }, ctx.limits));
  if (res.status !== 200) {
    const wait = res.status === 429 || res.status === 503 ? retryAfterSeconds(responseHeader(res.headers, 'retry-after')) : undefined;
    const asked = wait !== undefined ? ` (retry after ${wait} s)` : '';
    throw new PullError('http-status', `the peer answered ${res.status}, not 200${asked}`, wait);
  }
  const signature = responseHeader(res.headers, RESPONSE_SIGNATURE_HEADER);
  let claims: Awaited<ReturnType<typeof verifyResponse>>;
  try {
    claims = await verifyResponse(signature, res.body, {
      issuer: target.peerNodeId,
      audience: ctx.keyring.nodeId,
      jti,
      keys: target.pinnedKeys,
    });
  } catch (err) {
    if (err instanceof ResponseSignatureError) throw new PullError('bad-signature', `response signature refused: ${err.message}`);
    throw err;
  }
  const page = shaped(jsonBody(res.body, 'the page'), envelope, 'the page', 'a TAXII envelope');
  const objects = page.objects ?? [];
  const more = page.more ?? false;
  if (objects.length > limit)
    throw new PullError('malformed', `the page holds ${objects.length} objects, more than the ${limit} asked for`);
  if (more && objects.length === 0) throw new PullError('malformed', 'an empty page says there is more');
  const last = responseHeader(res.headers, 'x-taxii-date-added-last');
  if (objects.length > 0 && (!last || !TIMESTAMP.test(last)))
    throw new PullError('malformed', 'the page has no valid X-TAXII-Date-Added-Last');
  // The next cursor comes from that header: it must be the one the peer signed.
  if (objects.length > 0 && claims.last !== last)
    throw new PullError('bad-signature', 'X-TAXII-Date-Added-Last is not the one the peer signed');

  const origins = new Map<string, z.infer<typeof originRecord>[]>();
  for (const r of page.x_vigil_origins ?? []) origins.set(r.id, [...(origins.get(r.id) ?? []), r]);
  const received: ReceivedObject[] = [];
  const checks: Promise<unknown>[] = [];
  const batches: BatchChecks = new Map();
  for (const object of objects) {
    const version = typeof object.modified === 'string' ? object.modified : typeof object.created === 'string' ? object.created : undefined;
    const candidates = origins.get(object.id) ?? [];
    const record =
      version === undefined ? (candidates.length === 1 ? candidates[0] : undefined) : candidates.find((r) => r.version === version);
    if (!record) throw new PullError('bad-origin', `${object.id} comes without an origin signature`);
    // A signature is checked whenever a key of its node is known (the peer's, ours, the trust
    // list's); without one (no trust list) it is kept unchecked and marked so, and the object
    // still travels under the direct peer's signed response. A signature that fails: refused.
    const keys = originKeys(record.node, target, ctx.keyring, ctx.trustList);
    if (keys.length === 0 && ctx.trustList)
      throw new PullError('bad-origin', `${object.id}: origin node '${record.node}' is not in the federation's trust list`);
    // The canonical JSON the signature covers is the text stored, too: the same object, made once.
    let text: string | undefined;
    if (keys.length > 0) {
      let check: Promise<unknown>;
      try {
        text = canonicalText(object);
        check = verifyOrigin(record.signature, object, record.node, keys, batches, text);
      } catch (err) {
        check = Promise.reject(err);
      }
      check = check.catch((err: unknown) => {
        if (err instanceof OriginSignatureError)
          throw new PullError('bad-origin', `${object.id}: origin signature refused: ${err.message}`);
        throw err;
      });
      check.catch(() => {}); // reported below, in page order
      checks.push(check);
    }
    received.push({
      object,
      json: text ?? JSON.stringify(object),
      originNode: record.node,
      originSignature: record.signature,
      originVerified: keys.length > 0,
    });
  }
  // The checks run together on the thread pool; the first refused in page order is the one told.
  for (const r of await Promise.allSettled(checks)) if (r.status === 'rejected') throw r.reason;
  // The signed digest, checked against the body: hashing a megabyte page again costs as much.
  return { objects: received, more, last, signature: signature!, digest: claims.digest };
}
