import { Hono } from 'hono';
import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { authenticate } from '../services/auth.ts';
import type { Principal } from '../services/auth.ts';
import { authenticatePeer } from '../services/peer-auth.ts';
import { PROOF_SCHEME } from '../federation/request-proof.ts';
import { RESPONSE_SIGNATURE_HEADER, signResponse } from '../federation/response-signature.ts';
import { collectionRoutes } from './collections.ts';
import { parseAuthorization } from './credentials.ts';
import { discoveryRoutes } from './discovery.ts';
import type { TaxiiEnv } from './env.ts';
import { assertAcceptable } from './media.ts';
import { objectRoutes } from './objects.ts';
import { bodyBytes } from './respond.ts';

/**
 * A poll of a collection's objects (TAXII 2.1 §5.4), what SIEMs send all day: its token is
 * checked in the page's own statement when a hint names its client (services/client-hints.ts).
 */
const OBJECTS_POLL = /^\/[^/]+\/collections\/[^/]+\/objects\/?$/;

/** Every TAXII endpoint: content negotiation, then authentication, then the resource. */
export function taxiiRoutes(deps: Deps): Hono<TaxiiEnv> {
  const app = new Hono<TaxiiEnv>({ strict: false });
  app.use('*', async (c, next) => {
    assertAcceptable(c.req.header('accept'));
    // No Authorization at all is the anonymous caller, whom only a public collection serves;
    // credentials that do not check out are a 401 whatever the endpoint.
    const header = c.req.header('authorization');
    const [scheme, proof] = header?.trim().split(/\s+/) ?? [];
    if (scheme === PROOF_SCHEME && proof) {
      // A peer node's signed pull: its answer is signed too, over the exact body. The proof is
      // bound to the URL the peer used: this node's public URL when it sits behind a proxy.
      const { origin, pathname, search } = new URL(c.req.url);
      const peer = await authenticatePeer(deps, proof, c.req.method, `${deps.config.publicUrl ?? origin}${pathname}${search}`);
      deps.rateLimits.admit(c, peer.principal);
      c.set('principal', peer.principal);
      c.set('signed', true);
      await next();
      const body = bodyBytes(c.res) ?? new Uint8Array(await c.res.clone().arrayBuffer());
      const last = c.res.headers.get('X-TAXII-Date-Added-Last');
      c.res.headers.set(RESPONSE_SIGNATURE_HEADER, await signResponse(deps.keyring, body, peer.proof.iss, peer.proof.jti, last));
      return;
    }
    const creds = parseAuthorization(header);
    const hint = creds && c.req.method === 'GET' && OBJECTS_POLL.test(c.req.path) ? deps.clientHints.match(creds) : undefined;
    if (hint) {
      deps.rateLimits.admit(c, hint.principal);
      c.set('hint', hint);
      return next();
    }
    const principal: Principal | undefined = header === undefined ? { kind: 'anonymous' } : creds && (await authenticate(deps, creds));
    if (!principal) throw new VigilError('unauthorized', 'the credentials were not accepted');
    deps.rateLimits.admit(c, principal);
    c.set('principal', principal);
    await next();
  });
  app.route('/', discoveryRoutes(deps));
  app.route('/', collectionRoutes(deps));
  app.route('/', objectRoutes(deps));
  return app;
}
