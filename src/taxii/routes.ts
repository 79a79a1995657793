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
    const creds = parseAuthorization(c.req.header('authorization'));
    const principal = creds && (await authenticate(deps, creds));
    if (!principal) {
      throw new VigilError('unauthorized', creds ? 'the credentials were not accepted' : 'send a Bearer token, or HTTP Basic with your client name and token');
    }
    c.set('principal', principal);
    await next();
  });
  app.route('/', discoveryRoutes(deps));
  app.route('/', collectionRoutes(deps));
  app.route('/', objectRoutes(deps));
  return app;
}
