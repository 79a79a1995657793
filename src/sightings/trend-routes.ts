import { Hono } from 'hono';
import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { authenticated } from '../http/authenticated.ts';
import type { PrincipalEnv } from '../http/authenticated.ts';
import { queryParams } from '../http/json.ts';
import { getIndicatorSeries, getTrends } from '../services/trends.ts';
import * as s from './schemas.ts';

/**
 * GET /trends (the ranking of a window) and GET /trends/indicators/{id} (one indicator's series):
 * JSON, a client's token or the admin's, TLP as in TAXII reads (docs/sightings.md, "Trends").
 */
export function trendRoutes(deps: Deps): Hono<PrincipalEnv> {
  const app = new Hono<PrincipalEnv>({ strict: false });
  app.use('*', authenticated(deps, 'send your client token: Bearer, or HTTP Basic with your client name'));
  app.get('/', async (c) => c.json(await getTrends(deps, c.get('principal'), queryParams(c, s.trendsQuery))));
  app.get('/indicators/:id', async (c) => {
    const id = s.trendIndicatorId.safeParse(c.req.param('id'));
    if (!id.success) throw new VigilError('not-found', 'no indicator you may read has this id');
    return c.json(await getIndicatorSeries(deps, c.get('principal'), id.data, queryParams(c, s.seriesQuery)));
  });
  return app;
}
