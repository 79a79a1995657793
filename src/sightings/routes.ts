import { Hono } from 'hono';
import type { Context } from 'hono';
import type { Deps } from '../deps.ts';
import { authenticated } from '../http/authenticated.ts';
import type { PrincipalEnv } from '../http/authenticated.ts';
import { jsonBody, queryParams } from '../http/json.ts';
import { refused } from '../http/rate-limit.ts';
import { TokenBuckets } from '../http/token-buckets.ts';
import * as sightings from '../services/sightings.ts';
import * as s from './schemas.ts';

/**
 * POST /sightings (a client reports what hit it) and GET /sightings (its organisation's reports;
 * every report for the admin): JSON, the client's TAXII token (docs/sightings.md). Reports have a
 * rate of their own per client (SIGHTINGS_PER_MINUTE), beside the requests' (this replica's memory).
 */
export function sightingRoutes(deps: Deps): Hono<PrincipalEnv> {
  const app = new Hono<PrincipalEnv>({ strict: false });
  const perMinute = deps.config.sightings.perMinute;
  const buckets = perMinute > 0 ? new TokenBuckets({ perMinute, burst: perMinute }) : undefined;
  app.use('*', authenticated(deps, 'send your client token: Bearer, or HTTP Basic with your client name'));
  const who = (c: Context<PrincipalEnv>) => c.get('principal');

  app.post('/', async (c) => {
    const caller = who(c);
    const wait = caller.kind === 'client' ? (buckets?.take(caller.id, performance.now()) ?? 0) : 0;
    if (wait > 0) throw refused(wait, 'this client has reported more sightings than SIGHTINGS_PER_MINUTE allows');
    return c.json(await sightings.reportSighting(deps, caller, await jsonBody(c, s.reportSightingBody)), 201);
  });
  app.get('/', async (c) => c.json({ sightings: await sightings.listSightings(deps, who(c), queryParams(c, s.listSightingsQuery).limit) }));
  return app;
}
