import http from 'node:http';
import type { TestNode } from './node.ts';
import { adminJson } from './stix.ts';
import { listenOnLoopback } from './loopback.ts';

// A small TAXII server that behaves like the ones real feeds run on, not like Vigil: date_added
// to the millisecond (ties included), no `next` unless asked, pages smaller than asked, `more`
// left out when false, `{}` when nothing is new; or a TAXII 2.0 server, a 401, a 429.

export type FeedObject = { object: Record<string, unknown>; dateAdded: string };

export type FeedBehaviour = {
  /** What a request must carry: `Authorization` (Basic or Bearer) or a header of its own. */
  auth?: { header: string; value: string };
  /** Gives `next` tokens while there is more (false: pages by X-TAXII-Date-Added-Last only). */
  next?: boolean;
  /** The most objects a page holds, whatever `limit` asks. */
  maxPage?: number;
  /** Leaves `more` out when it is false. */
  moreAbsent?: boolean;
  /** '2.0-406': refuses the 2.1 media type; '2.0-bundle': ignores it and answers a STIX 2.0 bundle. */
  version?: '2.1' | '2.0-406' | '2.0-bundle';
  /** Answers every request with this status (and Retry-After). */
  status?: { code: number; retryAfter?: string };
  /** Leaves out X-TAXII-Date-Added-Last. */
  noLastHeader?: boolean;
  /** Answers this long after the request came (a slow server). */
  delayMs?: number;
  /** Answers with this Content-Type (a server that is not TAXII 2.1 at all). */
  contentType?: string;
};

export type TaxiiFeed = {
  /** The API root URL. */
  apiRoot: string;
  collectionId: string;
  objects: FeedObject[];
  behaviour: FeedBehaviour;
  /** Each request's query string and Authorization, in order. */
  requests: { search: string; authorization: string | undefined }[];
  close(): Promise<void>;
};

const ns = (t: string) => {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(t)!;
  return BigInt(Date.parse(`${m[1]}Z`)) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
};

export async function startTaxiiFeed(collectionId = '91a7b528-80eb-42ed-a74d-c6fbd5a26116'): Promise<TaxiiFeed> {
  const feed: Omit<TaxiiFeed, 'apiRoot' | 'close'> = { collectionId, objects: [], behaviour: {}, requests: [] };
  const answer = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url!, 'http://feed');
    feed.requests.push({ search: url.search, authorization: req.headers.authorization });
    const b = feed.behaviour;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res
        .writeHead(status, { 'content-type': b.contentType ?? 'application/taxii+json;version=2.1', ...headers })
        .end(JSON.stringify(body));
    if (url.pathname !== `/api1/collections/${collectionId}/objects/`) return send(404, { title: 'Not found' });
    if (b.auth && req.headers[b.auth.header.toLowerCase()] !== b.auth.value)
      return send(401, { title: 'Unauthorized' }, { 'www-authenticate': 'Basic realm="feed"' });
    if (b.status) return send(b.status.code, { title: 'busy' }, b.status.retryAfter ? { 'retry-after': b.status.retryAfter } : {});
    if (b.version === '2.0-406')
      return send(406, { title: 'Not Acceptable' }, { 'content-type': 'application/vnd.oasis.taxii+json; version=2.0' });
    if (b.version === '2.0-bundle') {
      const bundle = { type: 'bundle', id: 'bundle--5d0092c5-5f74-4287-9642-33f4c354e56d', spec_version: '2.0', objects: [] };
      return res.writeHead(200, { 'content-type': 'application/vnd.oasis.stix+json; version=2.0' }).end(JSON.stringify(bundle));
    }
    const after = url.searchParams.get('added_after');
    const limit = Math.min(Number(url.searchParams.get('limit') ?? 100), b.maxPage ?? Number.POSITIVE_INFINITY);
    const offset = Number(url.searchParams.get('next') ?? 0);
    const all = feed.objects
      .map((o, i) => ({ o, i }))
      .filter(({ o }) => after === null || ns(o.dateAdded) > ns(after))
      .sort((x, y) => (ns(x.o.dateAdded) < ns(y.o.dateAdded) ? -1 : ns(x.o.dateAdded) > ns(y.o.dateAdded) ? 1 : x.i - y.i))
      .map(({ o }) => o);
    const page = all.slice(offset, offset + limit);
    const more = offset + page.length < all.length;
    if (page.length === 0) return send(200, {});
    const envelope: Record<string, unknown> = { objects: page.map((o) => o.object) };
    if (more || !b.moreAbsent) envelope.more = more;
    if (more && b.next) envelope.next = String(offset + page.length);
    send(
      200,
      envelope,
      b.noLastHeader ? {} : { 'x-taxii-date-added-first': page[0]!.dateAdded, 'x-taxii-date-added-last': page[page.length - 1]!.dateAdded },
    );
  };
  const server = http.createServer((req, res) => {
    const delay = feed.behaviour.delayMs;
    if (delay) setTimeout(() => answer(req, res), delay);
    else answer(req, res);
  });
  const { port, close } = await listenOnLoopback(server);
  return {
    ...feed,
    get objects() {
      return feed.objects;
    },
    set objects(v) {
      feed.objects = v;
    },
    get behaviour() {
      return feed.behaviour;
    },
    set behaviour(v) {
      feed.behaviour = v;
    },
    apiRoot: `http://127.0.0.1:${port}/api1/`,
    close,
  };
}

/** A TAXII source on `node` pulling this feed into a new collection; `body` adds to the admin API's request. */
export async function addTaxiiSource(node: TestNode, feed: TaxiiFeed, body: Record<string, unknown> = {}) {
  const col = (await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: 'from a feed' })).id as string;
  const answer = await adminJson(node, 'POST', '/admin/sources', {
    kind: 'taxii',
    url: feed.apiRoot,
    remote_collection_id: feed.collectionId,
    collection_id: col,
    ...body,
  });
  return { id: answer.id as string, col, answer };
}
