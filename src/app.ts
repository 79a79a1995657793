import { Hono } from 'hono';
import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { adminRoutes } from './admin/routes.ts';
import { alertRoutes } from './alerts/routes.ts';
import { consoleRoutes } from './console/routes.ts';
import { feedRoutes } from './feeds/routes.ts';
import { sightingRoutes } from './sightings/routes.ts';
import { trendRoutes } from './sightings/trend-routes.ts';
import type { Deps } from './deps.ts';
import { RETRY_AFTER_SECONDS, VigilError, allowHeader, errorResource, retryAfterHeader } from './errors.ts';
import { apiDocsRoutes } from './http/api-docs.ts';
import { onlyAllowedMethods } from './http/methods.ts';
import { observeRequests } from './http/observe.ts';
import { securityHeaders } from './http/security-headers.ts';
import { metricsRoute } from './http/metrics-route.ts';
import { pendingMigrations } from './store/migrate.ts';
import { isDatabaseExhausted, isDatabaseUnreachable, isWriteConflict } from './store/unreachable.ts';
import { WWW_AUTHENTICATE } from './taxii/credentials.ts';
import { TAXII_MEDIA_TYPE } from './taxii/media.ts';
import { taxiiRoutes } from './taxii/routes.ts';

/** The one place where an error becomes a response: a TAXII error resource (§3.6.1). */
function toResponse(c: Context, err: Error, deps: Deps): Response {
  let error: VigilError;
  if (err instanceof VigilError) error = err;
  else if (err instanceof HTTPException) error = new VigilError(err.status === 413 ? 'payload-too-large' : 'bad-request', err.message);
  else if (isDatabaseUnreachable(err)) {
    deps.log.warn({ err, path: new URL(c.req.url).pathname, method: c.req.method }, 'database unreachable');
    deps.metrics.errors.inc({ kind: 'http' });
    error = new VigilError('unavailable', 'the node cannot reach its database; try again shortly');
  } else if (isDatabaseExhausted(err)) {
    deps.log.error({ err, path: new URL(c.req.url).pathname, method: c.req.method }, 'database out of resources');
    deps.metrics.errors.inc({ kind: 'http' });
    error = new VigilError(
      'unavailable',
      'the database is out of disk space, memory or connections; nothing of this request was stored; try again later',
    );
  } else if (isWriteConflict(err)) {
    deps.log.warn({ err, path: new URL(c.req.url).pathname, method: c.req.method }, 'write conflict; nothing stored');
    deps.metrics.errors.inc({ kind: 'http' });
    error = new VigilError('unavailable', 'this write met another at the same objects; nothing of this request was stored; send it again');
  } else {
    deps.log.error({ err, path: new URL(c.req.url).pathname, method: c.req.method }, 'unhandled error');
    deps.metrics.errors.inc({ kind: 'http' });
    error = new VigilError('internal', 'the node failed to handle this request; the error is in its log');
  }
  const headers: Record<string, string> = { 'Content-Type': TAXII_MEDIA_TYPE };
  if (error.code === 'unauthorized') headers['WWW-Authenticate'] = WWW_AUTHENTICATE;
  if (error.code === 'method-not-allowed') headers.Allow = allowHeader(error);
  if (error.code === 'unavailable') headers['Retry-After'] = String(RETRY_AFTER_SECONDS);
  if (error.code === 'too-many-requests') headers['Retry-After'] = retryAfterHeader(error);
  return c.body(JSON.stringify(errorResource(error)), error.status, headers);
}

/**
 * A NUL character in a path segment or a query value names nothing here, and PostgreSQL refuses
 * it in any text: the request is a 400 before a route hands it to a query. (Bodies are read as
 * JSON, where PostgreSQL's parser refuses \u0000 as a request error.)
 */
const refuseNulCharacters: MiddlewareHandler = async (c, next) => {
  const url = c.req.url;
  if (url.includes('%00') || url.includes('\u0000')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(url);
    } catch {
      decoded = '\u0000';
    }
    if (decoded.includes('\u0000')) throw new VigilError('bad-request', 'the request URL holds a NUL character (%00)');
  }
  await next();
};

/** Builds the node's HTTP app; no I/O happens until a request arrives. */
export function createApp(deps: Deps): Hono {
  const app = new Hono({ strict: false });
  app.use('*', observeRequests(deps));
  app.use('*', securityHeaders(deps.config));
  app.use('*', deps.rateLimits.middleware());
  app.use('*', refuseNulCharacters);
  // The console answers its own paths with its HTML error page.
  app.use('*', onlyAllowedMethods(app, { except: '/console' }));
  app.onError((err, c) => toResponse(c, err, deps));
  app.notFound((c) => toResponse(c, new VigilError('not-found', `nothing at ${new URL(c.req.url).pathname}`), deps));

  app.get('/metrics', metricsRoute(deps));
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    let pending: string[];
    try {
      pending = await pendingMigrations(deps.database, deps.migrations);
    } catch (err) {
      if (!isDatabaseUnreachable(err)) throw err;
      return c.json({ status: 'database unreachable' }, 503);
    }
    if (pending.length) return c.json({ status: 'migrations pending', pending }, 503);
    if (deps.database.replicas.length === 0) return c.json({ status: 'ready' });
    // Read replicas are reported, not required: writes and the other replicas' reads go on without one.
    const replicas = await Promise.all(
      deps.database.replicas.map(async (r) => {
        try {
          return { replica: r.name, lag_seconds: await r.lagSeconds() };
        } catch {
          return { replica: r.name, status: 'unreachable' };
        }
      }),
    );
    return c.json({ status: 'ready', replicas });
  });
  app.get('/.well-known/jwks.json', (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.body(JSON.stringify({ keys: deps.keyring.publicKeys() }), 200, { 'Content-Type': 'application/jwk-set+json' });
  });
  // /openapi.json and /docs: public, and before the TAXII routes, whose /:root would take /docs.
  app.route('/', apiDocsRoutes(deps));
  app.route('/admin', adminRoutes(deps));
  app.route('/alerts', alertRoutes(deps));
  app.route('/console', consoleRoutes(deps));
  app.route('/feeds', feedRoutes(deps));
  app.route('/sightings', sightingRoutes(deps));
  app.route('/trends', trendRoutes(deps));
  app.route('/', taxiiRoutes(deps));
  return app;
}
