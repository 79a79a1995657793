import type { Context } from 'hono';
import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { hashToken, sameHash } from '../services/tokens.ts';
import { parseAuthorization } from '../taxii/credentials.ts';

/**
 * GET /metrics in the Prometheus text format. Metrics name collections and peers, so they need
 * a token: METRICS_TOKEN (what Prometheus is given, as its bearer token) or the admin token.
 */
export function metricsRoute(deps: Deps) {
  const metricsTokenHash = deps.config.metricsToken ? hashToken(deps.config.metricsToken) : undefined;
  return async (c: Context) => {
    const creds = parseAuthorization(c.req.header('authorization'));
    const secret = creds?.scheme === 'bearer' ? creds.token : creds?.password;
    const hash = secret === undefined ? undefined : hashToken(secret);
    const allowed =
      hash !== undefined && (sameHash(hash, deps.adminTokenHash) || (metricsTokenHash !== undefined && sameHash(hash, metricsTokenHash)));
    if (!allowed) throw new VigilError('unauthorized', 'send METRICS_TOKEN (or the admin token) as a Bearer token');
    // The operator's tokens: exempt from rate limits, as the admin is.
    deps.rateLimits.admit(c, { kind: 'admin' });
    const text = await deps.metrics.registry.metrics();
    return c.body(text, 200, { 'Content-Type': deps.metrics.registry.contentType });
  };
}
