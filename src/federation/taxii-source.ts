import { z } from 'zod';
import type { Limits, PeerClients, PeerResponse } from './peer-client.ts';
import { asPullError, jsonBody, PullError, responseHeader, retryAfterSeconds, shaped, TAXII_ACCEPT } from './pull.ts';
import { bodyDigest } from './response-signature.ts';

// One page of a TAXII 2.1 server's collection, over plain TAXII: no request proof, no response
// or origin signature, only the credentials the server gave this node. The page is checked
// (status, media type, envelope, X-TAXII-Date-Added-Last) before anything is stored.

export type TaxiiAuth =
  | { kind: 'none' }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'bearer'; token: string }
  | { kind: 'header'; name: string; value: string };

/** Where to pull from: the server's API root URL (ending in "/"), its collection, and how to authenticate. */
export type TaxiiTarget = { apiRoot: string; collectionId: string; auth: TaxiiAuth };

export type TaxiiPage = {
  objects: { object: Record<string, unknown>; json: string }[];
  /** TAXII 2.1 §3.7: absent means false. */
  more: boolean;
  next: string | undefined;
  /** X-TAXII-Date-Added-Last; absent only on a page without objects. */
  last: string | undefined;
  /** SHA-256 of the exact body, kept in the receipt. */
  digest: string;
};

// TAXII 2.1 §3.7: every property optional; an empty page is `{}`. Servers add members of their own.
const envelope = z.looseObject({
  more: z.boolean().optional(),
  next: z.string().min(1).max(4096).optional(),
  objects: z.array(z.looseObject({ id: z.string().min(1), type: z.string().min(1) })).optional(),
});

const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/;

/** A TAXII timestamp as nanoseconds since the epoch (any precision, to the nanosecond). */
export function timestampNs(text: string): bigint | undefined {
  const m = TIMESTAMP.exec(text);
  if (!m) return undefined;
  const seconds = Date.parse(`${m[1]}Z`);
  if (!Number.isFinite(seconds)) return undefined;
  return BigInt(seconds) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

function formatNs(ns: bigint, digits: number): string {
  const base = new Date(Number(ns / 1_000_000_000n) * 1000).toISOString().slice(0, 19);
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0').slice(0, digits);
  return `${base}.${fraction}Z`;
}

/**
 * One millisecond before `text`, at its precision or milliseconds: an added_after that asks again
 * for every object added at `text`, whatever precision the server keeps (ties included).
 */
export function justBefore(text: string): string {
  const ns = timestampNs(text);
  if (ns === undefined) throw new PullError('malformed', `not a timestamp: ${text.slice(0, 40)}`);
  const digits = Math.max(3, TIMESTAMP.exec(text)?.[2]?.length ?? 0);
  return formatNs(ns - 1_000_000n, digits);
}

/** `{api-root}collections/{id}/objects/?added_after=…&limit=…` or, within a chain, `&next=…`. */
export function taxiiObjectsUrl(target: TaxiiTarget, q: { addedAfter: string | null; next?: string | undefined; limit: number }): string {
  const url = new URL(`collections/${encodeURIComponent(target.collectionId)}/objects/`, target.apiRoot);
  if (q.addedAfter) url.searchParams.set('added_after', q.addedAfter);
  url.searchParams.set('limit', String(q.limit));
  if (q.next) url.searchParams.set('next', q.next);
  return url.href;
}

function authorization(auth: TaxiiAuth): Record<string, string> {
  switch (auth.kind) {
    case 'none':
      return {};
    case 'basic':
      return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
    case 'bearer':
      return { authorization: `Bearer ${auth.token}` };
    case 'header':
      return { [auth.name.toLowerCase()]: auth.value };
  }
}

const header = (res: PeerResponse, name: string) => responseHeader(res.headers, name);

const TWO_ZERO = 'only TAXII 2.1 servers are supported: TAXII 2.0 pages by Range headers and serves STIX 2.0 bundles';

/** The answer's status and media type, as a TAXII 2.1 server gives them, or why not. */
function checkAnswer(res: PeerResponse): void {
  const type = (header(res, 'content-type') ?? '').toLowerCase();
  if (res.status === 401 || res.status === 403)
    throw new PullError('auth-refused', `authentication refused: the server answered ${res.status}`);
  if (res.status === 406) throw new PullError('unsupported-version', `the server refused TAXII 2.1 (406 Not Acceptable): ${TWO_ZERO}`);
  if (res.status !== 200) {
    const wait = res.status === 429 || res.status === 503 ? retryAfterSeconds(header(res, 'retry-after')) : undefined;
    const why = res.status === 404 ? ': no such API root or collection, or not readable with these credentials' : '';
    throw new PullError(
      'http-status',
      `the server answered ${res.status}, not 200${why}${wait !== undefined ? ` (retry after ${wait} s)` : ''}`,
      wait,
    );
  }
  if (type.startsWith('application/vnd.oasis.'))
    throw new PullError('unsupported-version', `the server answered in ${type.split(';')[0]}, a TAXII 2.0 media type: ${TWO_ZERO}`);
  const media = type.split(';')[0]!.trim();
  const version = /;\s*version\s*=\s*"?([\d.]+)/.exec(type)?.[1];
  if ((media !== 'application/taxii+json' && media !== 'application/json') || (version !== undefined && version !== '2.1'))
    throw new PullError('malformed', `the server answered ${type || 'without a Content-Type'}, not application/taxii+json;version=2.1`);
}

export async function fetchTaxiiPage(
  clients: PeerClients,
  target: TaxiiTarget,
  q: { addedAfter: string | null; next?: string | undefined; limit: number },
  limits?: Partial<Limits>,
): Promise<TaxiiPage> {
  const url = taxiiObjectsUrl(target, q);
  const res = await asPullError(clients.get(url, { accept: TAXII_ACCEPT, ...authorization(target.auth) }, limits));
  checkAnswer(res);
  const json = jsonBody(res.body, 'the page');
  if ((json as { type?: unknown } | null)?.type === 'bundle')
    throw new PullError('unsupported-version', `the server answered a STIX bundle, as TAXII 2.0 does: ${TWO_ZERO}`);
  const page = shaped(json, envelope, 'the page', 'a TAXII envelope');
  const objects = page.objects ?? [];
  const last = header(res, 'x-taxii-date-added-last');
  if (objects.length > 0 && (!last || timestampNs(last) === undefined))
    throw new PullError(
      'malformed',
      'the page has objects but no valid X-TAXII-Date-Added-Last (TAXII 2.1 §5.4): there is no telling where to resume',
    );
  return {
    objects: objects.map((object) => ({ object, json: JSON.stringify(object) })),
    more: page.more ?? false,
    next: page.next,
    last: objects.length > 0 ? last : undefined,
    digest: bodyDigest(res.body),
  };
}
