import { z } from 'zod';
import type { Limits, PeerClients, PeerResponse } from './peer-client.ts';
import { asPullError, jsonBody, PullError, responseHeader, retryAfterSeconds, shaped } from './pull.ts';
import { bodyDigest } from './response-signature.ts';

// One page of a MISP instance's events, as STIX 2.1: POST {misp}/events/restSearch with
// returnFormat stix2, which MISP converts itself (misp-stix). The answer is bounded while it
// streams in (peer-client.ts), then checked: status, media type, JSON, a STIX 2.1 bundle.

export type MispTarget = { baseUrl: string; key: string; tags: string[]; published: boolean };

/** What one request asks: the time filter (seconds since the epoch; none for the beginning) and the page. */
export type MispQuery = { since: number | null; page: number; limit: number };

export type MispPage = {
  objects: { object: Record<string, unknown>; json: string }[];
  /** The events on the page (reports and groupings) and their `modified` (MISP's event timestamp). */
  events: { id: string; modified: string }[];
  digest: string;
};

export const restSearchUrl = (baseUrl: string): string => new URL('events/restSearch', baseUrl).href;

/**
 * The restSearch body. With `published` only, events are asked by publish_timestamp: publishing
 * an event leaves its timestamp as it was, so an event published after the cursor passed its
 * last change would never come by timestamp.
 */
export function restSearchBody(target: MispTarget, q: MispQuery): Record<string, unknown> {
  const body: Record<string, unknown> = { returnFormat: 'stix2', 'stix-version': '2.1', limit: q.limit, page: q.page };
  if (q.since !== null) body[target.published ? 'publish_timestamp' : 'timestamp'] = String(q.since);
  if (target.published) body.published = true;
  if (target.tags.length > 0) body.tags = target.tags;
  return body;
}

// STIX 2.1 §8: a bundle. Objects are checked one by one when stored; here only that each is an object.
const bundle = z.looseObject({
  type: z.literal('bundle'),
  id: z.string().regex(/^bundle--/, 'must be a bundle id'),
  objects: z.array(z.record(z.string(), z.unknown())).optional(),
});

// MISP's error answers: {"name": …, "message": …, "url": …}.
const mispError = z.looseObject({ name: z.string().optional(), message: z.string().optional() });

/** MISP's own words for a refusal, short, on one line, and never the key (a server could echo it). */
function mispSays(body: Buffer, key: string): string {
  let said: string | undefined;
  try {
    const e = mispError.safeParse(JSON.parse(body.subarray(0, 4096).toString('utf8')));
    said = e.success ? (e.data.message ?? e.data.name) : undefined;
  } catch {
    said = undefined;
  }
  if (!said) return '';
  const clean = said.split(key).join('…').replace(/\s+/g, ' ').trim().slice(0, 200);
  return clean ? `: ${clean}` : '';
}

const header = (res: PeerResponse, name: string) => responseHeader(res.headers, name);

function checkAnswer(res: PeerResponse, key: string): void {
  if (res.status === 401 || res.status === 403)
    throw new PullError('auth-refused', `authentication refused: MISP answered ${res.status}${mispSays(res.body, key)}`);
  if (res.status !== 200) {
    const wait = res.status === 429 || res.status === 503 ? retryAfterSeconds(header(res, 'retry-after')) : undefined;
    const why = res.status === 404 ? ': no restSearch at this URL (is it the MISP base URL?)' : mispSays(res.body, key);
    throw new PullError(
      'http-status',
      `MISP answered ${res.status}, not 200${why}${wait !== undefined ? ` (retry after ${wait} s)` : ''}`,
      wait,
    );
  }
  const media = (header(res, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (media !== 'application/json' && !media.endsWith('+json'))
    throw new PullError('malformed', `MISP answered ${media || 'without a Content-Type'}, not JSON (a login page? check the URL)`);
}

export async function fetchMispPage(clients: PeerClients, target: MispTarget, q: MispQuery, limits?: Partial<Limits>): Promise<MispPage> {
  const headers = { authorization: target.key, accept: 'application/json', 'content-type': 'application/json' };
  const res = await asPullError(clients.post(restSearchUrl(target.baseUrl), headers, JSON.stringify(restSearchBody(target, q)), limits));
  checkAnswer(res, target.key);
  const answer = shaped(jsonBody(res.body, 'the answer'), bundle, 'the answer', 'a STIX bundle');
  if (answer.spec_version !== undefined && answer.spec_version !== '2.1')
    throw new PullError('unsupported-version', `MISP answered a STIX ${String(answer.spec_version).slice(0, 10)} bundle, not STIX 2.1`);
  const objects = answer.objects ?? [];
  const events = objects
    .filter((o) => (o.type === 'report' || o.type === 'grouping') && typeof o.id === 'string')
    .map((o) => ({ id: o.id as string, modified: typeof o.modified === 'string' ? o.modified : '' }));
  if (objects.length > 0 && events.length === 0)
    throw new PullError('malformed', 'the bundle holds objects but no event (no report or grouping): not a MISP restSearch answer');
  return { objects: objects.map((object) => ({ object, json: JSON.stringify(object) })), events, digest: bodyDigest(res.body) };
}
