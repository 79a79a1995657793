import type { MiddlewareHandler } from 'hono';
import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { authenticate } from '../services/auth.ts';
import type { Principal } from '../services/auth.ts';
import { parseAuthorization } from '../taxii/credentials.ts';

/** What the JSON APIs' handlers find in their context: who is calling. */
export type PrincipalEnv = { Variables: { principal: Principal } };

/** The JSON APIs (admin, alerts) take a token, Bearer or Basic; anything else is a 401 saying what to send. */
export function authenticated(deps: Deps, whatToSend: string): MiddlewareHandler<PrincipalEnv> {
  return async (c, next) => {
    const creds = parseAuthorization(c.req.header('authorization'));
    const principal = creds && (await authenticate(deps, creds));
    if (!principal) throw new VigilError('unauthorized', whatToSend);
    deps.rateLimits.admit(c, principal);
    c.set('principal', principal);
    await next();
  };
}
