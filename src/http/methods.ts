import type { Hono, MiddlewareHandler } from 'hono';
import { TrieRouter } from 'hono/router/trie-router';
import { VigilError } from '../errors.ts';

// A path the node serves, asked with a method it does not take: 405 with the methods it does take
// in Allow (RFC 9110 §15.5.6), not 404. HEAD goes with GET (Hono answers it from the GET route);
// OPTIONS is served nowhere, so it is never listed.

const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** The group of routes whose first segment is a parameter (TAXII's `/:root/…`). */
const ANY_FIRST = '/:';

const KNOWN_PATHS = 1024;

const firstSegment = (path: string) => path.split('/')[1] ?? '';

/**
 * The methods a path takes, by the route table. A first segment the table names literally
 * (`admin`, `taxii2`, …) is never a parameter's value: API root names exclude those.
 */
export function allowedMethods(routes: readonly { method: string; path: string }[]): (path: string) => string[] {
  const groups = new Map<string, TrieRouter<string>>();
  for (const { method, path } of routes) {
    // Middleware and catch-alls (`use`, `all`) take every method; they say nothing of a resource.
    if (method === 'ALL' || path.endsWith('*')) continue;
    const first = firstSegment(path);
    const key = first.startsWith(':') ? ANY_FIRST : first;
    let router = groups.get(key);
    if (!router) groups.set(key, (router = new TrieRouter<string>()));
    router.add('ALL', path, method);
  }
  // By path, for the paths asked again and again (a SIEM polls the same collection's objects);
  // bounded, so paths made up by the thousand start the table again rather than grow it.
  const known = new Map<string, string[]>();
  return (path) => {
    let allow = known.get(path);
    if (allow) return allow;
    const first = firstSegment(path);
    const router = groups.get(groups.has(first) ? first : ANY_FIRST);
    const methods = new Set(router?.match('GET', path)[0].map(([method]) => method));
    if (methods.has('GET')) methods.add('HEAD');
    allow = ORDER.filter((m) => methods.has(m));
    if (known.size >= KNOWN_PATHS) known.clear();
    if (path.length <= 256) known.set(path, allow);
    return allow;
  };
}

/**
 * Refuses a method the path does not take, before authentication: Allow reveals the route table,
 * no data. `app`'s routes are read on the first request, once all are added. `mount` is where
 * `app` is mounted; `except`, a prefix whose sub-app checks its own paths.
 */
export function onlyAllowedMethods(app: Pick<Hono, 'routes'>, options: { mount?: string; except?: string } = {}): MiddlewareHandler {
  const { mount = '', except } = options;
  let allowed: ((path: string) => string[]) | undefined;
  return async (c, next) => {
    const full = c.req.path;
    if (except && (full === except || full.startsWith(`${except}/`))) return next();
    const path = full.slice(mount.length) || '/';
    allowed ??= allowedMethods(app.routes);
    const allow = allowed(path);
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
    if (allow.length === 0 || allow.includes(method)) return next();
    throw new VigilError('method-not-allowed', `${c.req.method} is not allowed on ${full}; it takes ${allow.join(', ')}`, { allow });
  };
}
