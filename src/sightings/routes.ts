import { Hono } from 'hono';
import { z } from 'zod';
import type { Context } from 'hono';
import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { authenticated } from '../http/authenticated.ts';
import type { PrincipalEnv } from '../http/authenticated.ts';
import { issueMessage, jsonBody, parsedAs, queryParams } from '../http/json.ts';
import { refused } from '../http/rate-limit.ts';
import { TokenBuckets } from '../http/token-buckets.ts';
import * as sightings from '../services/sightings.ts';
import * as s from './schemas.ts';

/**
 * POST /sightings (a client reports what hit it: one report, or an array of up to 1,000, each
 * failing alone) and GET /sightings (its organisation's reports;
 * every report for the admin): JSON, the client's TAXII token (docs/sightings.md). Reports have a
 * rate of their own per client (SIGHTINGS_PER_MINUTE, one token a report), beside the requests' (this replica's memory).
 */
export function sightingRoutes(deps: Deps): Hono<PrincipalEnv> {
  const app = new Hono<PrincipalEnv>({ strict: false });
  const perMinute = deps.config.sightings.perMinute;
  const buckets = perMinute > 0 ? new TokenBuckets({ perMinute, burst: perMinute }) : undefined;
  app.use('*', authenticated(deps, 'send your client token: Bearer, or HTTP Basic with your client name'));
  const who = (c: Context<PrincipalEnv>) => c.get('principal');

  app.post('/', async (c) => {
    const caller = who(c);
    const body = await jsonBody(c, z.unknown());
    // An array is a batch, each element checked on its own; anything else is one report.
    const batch = Array.isArray(body) ? parsedAs(s.reportSightingsBatch, body) : undefined;
    const reports = batch?.length ?? 1;
    if (buckets && reports > buckets.burst)
      throw new VigilError(
        'payload-too-large',
        `${reports} reports in one request: SIGHTINGS_PER_MINUTE lets a client report at most ${buckets.burst} at once`,
      );
    const wait = caller.kind === 'client' ? (buckets?.take(caller.id, performance.now(), reports) ?? 0) : 0;
    if (wait > 0) throw refused(wait, 'this client has reported more sightings than SIGHTINGS_PER_MINUTE allows');
    if (!batch) return c.json(await sightings.reportSighting(deps, caller, parsedAs(s.reportSightingBody, body)), 201);
    const inputs = batch.map((item): sightings.ReportInput => {
      const parsed = s.reportSightingBody.safeParse(item);
      return parsed.success ? parsed.data : { invalid: issueMessage(parsed.error, 'report') };
    });
    const results = await sightings.reportSightings(deps, caller, inputs);
    const failed = results.filter((r) => r.outcome === 'failure').length;
    return c.json({ errors: failed > 0, success_count: results.length - failed, failure_count: failed, results });
  });
  app.get('/', async (c) => c.json({ sightings: await sightings.listSightings(deps, who(c), queryParams(c, s.listSightingsQuery).limit) }));
  return app;
}
