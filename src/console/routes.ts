import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Context } from 'hono';
import type { Deps } from '../deps.ts';
import { RETRY_AFTER_SECONDS, VigilError, allowHeader, retryAfterHeader } from '../errors.ts';
import { onlyAllowedMethods } from '../http/methods.ts';
import { isDatabaseUnreachable } from '../store/unreachable.ts';
import { assetRoutes } from './assets.ts';
import type { ConsoleEnv } from './env.ts';
import { errorPage } from './layout.ts';
import { browseRoutes } from './pages/browse.ts';
import { operationsRoutes } from './pages/operations.ts';
import { signInRoutes } from './pages/signin.ts';
import { submitRoutes } from './pages/submit.ts';
import { trendsRoutes } from './pages/trends.ts';
import { consoleHeaders } from '../http/security-headers.ts';
import { CSRF_FIELD, CSRF_HEADER, PRESESSION_COOKIE, SESSION_COOKIE, readCookie, sameOrigin, sameToken } from './security.ts';
import { loadSession } from './sessions.ts';

/** The CSRF token a POST carries: a form field, or a header for fetch. */
async function postedToken(c: Context<ConsoleEnv>): Promise<unknown> {
  const header = c.req.header(CSRF_HEADER);
  if (header !== undefined) return header;
  const type = c.req.header('content-type') ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded') && !type.startsWith('multipart/form-data')) return undefined;
  // parseBody caches the body: the handler reads it again without a second read of the stream.
  return (await c.req.parseBody())[CSRF_FIELD];
}

/** The web console for analysts and operators (docs/console.md): HTML pages over the services. */
export function consoleRoutes(deps: Deps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>({ strict: false });

  app.onError((err, c) => {
    const session = c.get('session');
    if (err instanceof VigilError) {
      if (err.code === 'method-not-allowed') c.header('Allow', allowHeader(err));
      if (err.code === 'too-many-requests') c.header('Retry-After', retryAfterHeader(err));
      return errorPage(c, session, err.status, err.code === 'not-found' ? 'Not found' : 'Request refused', err.message);
    }
    if (isDatabaseUnreachable(err)) {
      deps.log.warn({ err, path: new URL(c.req.url).pathname, method: c.req.method }, 'console: database unreachable');
      c.header('Retry-After', String(RETRY_AFTER_SECONDS));
      return errorPage(c, session, 503, 'Unavailable', 'the node cannot reach its database; try again shortly');
    }
    deps.log.error({ err, path: new URL(c.req.url).pathname, method: c.req.method }, 'console: unhandled error');
    return errorPage(c, session, 500, 'Something went wrong', 'the node failed to handle this request; the error is in its log');
  });

  app.use('*', async (c, next) => {
    await next();
    consoleHeaders(c);
  });
  app.use('*', onlyAllowedMethods(app, { mount: '/console' }));
  app.route('/assets', assetRoutes());

  app.use('*', async (c, next) => {
    const id = readCookie(c, SESSION_COOKIE);
    const session = id ? await loadSession(deps, id) : undefined;
    c.set('sessionId', id);
    c.set('session', session);
    if (session) deps.rateLimits.admit(c, session.principal);
    await next();
  });

  // Bodies are read whole for the CSRF field: bounded first (an API root's own, smaller limit
  // is checked again on the bundle itself). Multipart framing gets a little room.
  app.use(
    '*',
    bodyLimit({
      maxSize: deps.config.maxContentLength + 65_536,
      onError: (c) => errorPage(c, c.get('session'), 413, 'Too large', `the request exceeds ${deps.config.maxContentLength} octets`),
    }),
  );

  // Every state-changing request: from our own pages (Origin / Sec-Fetch-Site), with the token
  // of the session, or before sign-in the token of the pre-session cookie (double submit).
  app.use('*', async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const session = c.get('session');
    if (!sameOrigin(deps, c)) return errorPage(c, session, 403, 'Request refused', 'this form was not sent from a page of this console');
    const path = new URL(c.req.url).pathname.replace(/\/$/, '');
    // Signing out with no live session changes nothing: it only clears the cookie.
    if (!session && path === '/console/signout') return next();
    const isSignIn = path === '/console/signin';
    const expected = isSignIn ? readCookie(c, PRESESSION_COOKIE) : session?.csrf;
    if (!sameToken(await postedToken(c), expected)) {
      return errorPage(
        c,
        session,
        403,
        'Request refused',
        'the form’s security token is missing or out of date: reload the page and try again',
      );
    }
    return next();
  });

  app.get('/', (c) => c.redirect(c.get('session') ? '/console/collections' : '/console/signin', 303));
  app.route('/', signInRoutes(deps));

  app.use('*', async (c, next) => {
    if (c.get('session')) return next();
    if (c.req.method === 'GET' && !c.req.path.endsWith('/data')) return c.redirect('/console/signin', 303);
    return errorPage(c, undefined, 401, 'Signed out', 'your session has ended: sign in again');
  });
  app.route('/', browseRoutes(deps));
  app.route('/', submitRoutes(deps));
  app.route('/', operationsRoutes(deps));
  app.route('/', trendsRoutes(deps));
  app.all('*', (c) => errorPage(c, c.get('session'), 404, 'Not found', `nothing at ${new URL(c.req.url).pathname}`));
  return app;
}
