import { Hono } from 'hono';
import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { authenticate } from '../services/auth.ts';
import { collectionRoutes } from './collections.ts';
import { parseAuthorization } from './credentials.ts';
import { discoveryRoutes } from './discovery.ts';
import type { TaxiiEnv } from './env.ts';
import { assertAcceptable } from './media.ts';
import { objectRoutes } from './objects.ts';

/** Every TAXII endpoint: content negotiation, then authentication, then the resource. */
export function taxiiRoutes(deps: Deps): Hono<TaxiiEnv> {
  const app = new Hono<TaxiiEnv>({ strict: false });
  app.use('*', async (c, next) => {
    assertAcceptable(c.req.header('accept'));
    // No Authorization at all is the anonymous caller, whom only a public collection serves;
    // credentials that do not check out are a 401 whatever the endpoint.
    const header = c.req.header('authorization');
    const creds = parseAuthorization(header);
    const principal = header === undefined ? ({ kind: 'anonymous' } as const) : creds && (await authenticate(deps, creds));
    if (!principal) throw new VigilError('unauthorized', 'the credentials were not accepted');
    c.set('principal', principal);
    await next();
  });
  app.route('/', discoveryRoutes(deps));
  app.route('/', collectionRoutes(deps));
  app.route('/', objectRoutes(deps));
  return app;
}
