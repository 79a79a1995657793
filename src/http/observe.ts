import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Deps } from '../deps.ts';
import { withRequestId } from '../log.ts';

// Every request: an id (the caller's X-Request-Id when it is a sane one, so a proxy's id
// follows the request through; else a new one), carried by every log line written while it is
// handled and echoed in the answer; one access log line; the latency histogram by route pattern.

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function observeRequests(deps: Pick<Deps, 'log' | 'metrics'>): MiddlewareHandler {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const id = incoming && SANE_ID.test(incoming) ? incoming : randomUUID();
    const start = performance.now();
    // Set before the handler runs, so the answer it builds carries it: c.header() after the answer
    // exists would rebuild that answer as a stream (a copy of every page's body). A handler that
    // made its own Response gets it added after.
    c.header('X-Request-Id', id);
    await withRequestId(id, async () => {
      await next();
      if (!c.res.headers.has('X-Request-Id')) c.header('X-Request-Id', id);
      const seconds = (performance.now() - start) / 1000;
      // The pattern, not the path: ids in paths would make a label per object.
      const pattern = routePath(c);
      const route = !pattern || pattern.endsWith('*') ? 'unmatched' : pattern;
      const status = c.res.status;
      deps.metrics.httpRequests.observe({ method: c.req.method, route, status: String(status) }, seconds);
      deps.log.info({ method: c.req.method, path: c.req.path, route, status, ms: Math.round(seconds * 10_000) / 10 }, 'request');
    });
  };
}
