import { Hono } from 'hono';
import type { Context } from 'hono';
import { z } from 'zod';
import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { authenticateFeed } from '../services/auth.ts';
import type { Principal } from '../services/auth.ts';
import { pollFeed } from '../services/feeds.ts';
import { publicBase, readableFeeds } from '../services/feed-urls.ts';
import { queryParams } from '../http/json.ts';
import { FEED_KINDS } from '../stix/feed-values.ts';
import type { FeedFormat } from '../services/feeds.ts';
import { parseAuthorization } from '../taxii/credentials.ts';

// GET /feeds/{collection}/{kind}.txt and /feeds/{collection}/indicators.csv (docs/feeds.md), and
// GET /feeds/: the URLs of the feeds the caller may read.

/** GET /feeds/'s query: one collection's feeds only; a feed client's `token` as on the lists. */
export const feedIndexQuery = z.object({
  collection: z.uuid().optional().describe('Only this collection (404 if the caller may not read it)'),
});

const REFUSED = 'the credentials were not accepted (a token in the URL, ?token=, is taken from feed clients only)';

/** The caller: Authorization (admin, client or feed client), or a feed client's `?token=`; neither is the anonymous caller. */
async function feedCaller(deps: Deps, c: Context): Promise<Principal> {
  const header = c.req.header('authorization');
  const tokens = c.req.queries('token') ?? [];
  if (tokens.length > 0 && (header !== undefined || tokens.length > 1)) {
    throw new VigilError('bad-request', 'send one token: in the Authorization header or as ?token=, not both');
  }
  let principal: Principal | undefined;
  if (tokens.length === 1) principal = await authenticateFeed(deps, { scheme: 'query', token: tokens[0]! });
  else if (header !== undefined) {
    const creds = parseAuthorization(header);
    principal = creds && (await authenticateFeed(deps, creds));
  } else principal = { kind: 'anonymous' };
  if (!principal) throw new VigilError('unauthorized', REFUSED);
  deps.rateLimits.admit(c, principal);
  return principal;
}

/** The body's text chunks as a byte stream, read from the database only as the client takes them. */
function streamOf(first: string | undefined, rest: AsyncGenerator<string>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let pending = first;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pending !== undefined) {
        controller.enqueue(encoder.encode(pending));
        pending = undefined;
        return;
      }
      const next = await rest.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
    async cancel() {
      await rest.return(undefined);
    },
  });
}

export function feedRoutes(deps: Deps): Hono {
  const app = new Hono({ strict: false });
  const serve = (format: FeedFormat) => async (c: Context) => {
    const scheme = c.req.query('scheme');
    if (scheme !== undefined && (format !== 'url' || scheme !== 'omit')) {
      throw new VigilError(
        'invalid-parameter',
        "scheme: only url.txt takes it, and only as scheme=omit (URLs without 'http://' or 'https://')",
      );
    }
    const who = await feedCaller(deps, c);
    const answer = await pollFeed(
      deps,
      who,
      c.req.param('collection') ?? '',
      format,
      { ifNoneMatch: c.req.header('if-none-match'), ifModifiedSince: c.req.header('if-modified-since') },
      { schemeless: scheme === 'omit' },
    );
    const headers: Record<string, string> = {
      ETag: answer.etag,
      // Each poll asks again (with If-None-Match): a list is never served stale from a cache.
      'Cache-Control': 'private, no-cache',
      ...(answer.lastModified ? { 'Last-Modified': answer.lastModified } : {}),
    };
    if (answer.notModified) return c.body(null, 304, headers);
    headers['Content-Type'] = format === 'csv' ? 'text/csv; charset=utf-8' : 'text/plain; charset=utf-8';
    if (c.req.method === 'HEAD' || !answer.body) return c.body(null, 200, headers);
    // The first chunk is read before the answer starts: a database that fails now is a 503, not a cut list.
    const body = answer.body();
    const first = await body.next();
    return c.body(streamOf(first.done ? undefined : first.value, body), 200, headers);
  };
  app.get('/', async (c) => {
    const who = await feedCaller(deps, c);
    const { collection } = queryParams(c, feedIndexQuery);
    return c.json({ feeds: await readableFeeds(deps, who, publicBase(deps, c.req.url), collection?.toLowerCase()) });
  });
  // One route per list (an unknown one is the node's usual 404), so the OpenAPI table names each.
  for (const kind of FEED_KINDS) app.get(`/:collection/${kind}.txt`, serve(kind));
  app.get('/:collection/indicators.csv', serve('csv'));
  return app;
}
