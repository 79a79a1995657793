import type { Deps } from '../deps.ts';
import { findClientByTokenHash } from '../store/clients.ts';
import { hashToken, sameHash } from './tokens.ts';

export type { ClientPrincipal, Credentials, Principal } from './principal.ts';
import type { ClientHint } from './client-hints.ts';
import type { ClientPrincipal, Credentials, Principal } from './principal.ts';
import { VigilError } from '../errors.ts';
import type { Clearance } from '../policy/levels.ts';

export const ADMIN_USER = 'admin';

/**
 * Bearer: a client token or the admin token. Basic (what many SIEMs speak): the client's name
 * and its token, or `admin` and the admin token. Only hashes are compared, in constant time.
 * A peer node proves who it is only by a signed request (peer-auth.ts): a token naming one is unknown.
 * So is a feed client's token (authenticateFeed): it reads feeds and nothing else.
 */
export async function authenticate(deps: Deps, creds: Credentials): Promise<Principal | undefined> {
  return principalOf(deps, creds, ['client']);
}

/**
 * Who may read a feed (docs/feeds.md): in the Authorization header, the admin, a client or a feed
 * client; in the URL (`?token=`, for firewalls that cannot send headers), a feed client only. A
 * token in a URL lands in proxies' logs: only one that can do nothing but read feeds may ride there.
 */
export async function authenticateFeed(
  deps: Deps,
  creds: Credentials | { scheme: 'query'; token: string },
): Promise<Principal | undefined> {
  if (creds.scheme === 'query') return principalOf(deps, { scheme: 'bearer', token: creds.token }, ['feed'], false);
  return principalOf(deps, creds, ['client', 'feed']);
}

/** The client a hint names, looked up afresh (and the hint kept or dropped by what is found); a 401 when there is none. */
export async function proveHint(deps: Deps, hint: ClientHint): Promise<Principal> {
  deps.clientHints.forget(hint.tokenHash);
  const principal = await authenticate(deps, hint.credentials);
  if (!principal) throw new VigilError('unauthorized', 'the credentials were not accepted');
  return principal;
}

async function principalOf(
  deps: Deps,
  creds: Credentials,
  kinds: readonly ('client' | 'feed')[],
  adminAllowed = true,
): Promise<Principal | undefined> {
  const secret = creds.scheme === 'bearer' ? creds.token : creds.password;
  const hash = hashToken(secret);
  if (sameHash(hash, deps.adminTokenHash)) {
    if (!adminAllowed) return undefined;
    return creds.scheme === 'basic' && creds.user !== ADMIN_USER ? undefined : { kind: 'admin' };
  }
  const client = await findClientByTokenHash(deps.database.db, hash);
  if (!client || !sameHash(Buffer.from(client.token_hash), hash) || !(kinds as readonly string[]).includes(client.kind)) return undefined;
  if (creds.scheme === 'basic' && creds.user !== client.name) return undefined;
  const principal: ClientPrincipal = {
    kind: 'client',
    id: client.id,
    name: client.name,
    role: 'client',
    clearance: client.clearance as Clearance,
    ownOrg: client.own_org,
    peerAmber: client.peer_amber,
  };
  if (client.kind === 'client') deps.clientHints.remember(hash, principal);
  return principal;
}
