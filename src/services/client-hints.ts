import { hashToken, sameHash } from './tokens.ts';
import type { ClientPrincipal, Credentials } from './principal.ts';

/**
 * A client as its token named it when last looked up, kept so that a poll can carry the check of
 * its token in the page's own statement (read-objects.ts) instead of a round trip before it. A
 * hint, never a credential: whatever serves on a hint proves it in the same statement, against
 * the clients row as it stands, and falls back to authenticate when it does not hold.
 */
export type ClientHint = { principal: ClientPrincipal; tokenHash: Buffer; credentials: Credentials };

const HINTS_MAX = 10_000;

/**
 * This replica's hints, by token hash: only tokens that authenticated get one, so guessed tokens
 * cannot grow the table; more live clients than it holds start it again.
 */
export class ClientHints {
  readonly #byHash = new Map<string, { principal: ClientPrincipal; tokenHash: Buffer }>();

  /** The hint for these credentials, if their token named a client before (and, for Basic, by this name). */
  match(creds: Credentials): ClientHint | undefined {
    const tokenHash = hashToken(creds.scheme === 'bearer' ? creds.token : creds.password);
    const hint = this.#byHash.get(tokenHash.toString('hex'));
    if (!hint || !sameHash(hint.tokenHash, tokenHash)) return undefined;
    if (creds.scheme === 'basic' && creds.user !== hint.principal.name) return undefined;
    return { ...hint, credentials: creds };
  }

  remember(tokenHash: Buffer, principal: ClientPrincipal): void {
    if (this.#byHash.size >= HINTS_MAX) this.#byHash.clear();
    this.#byHash.set(tokenHash.toString('hex'), { principal, tokenHash });
  }

  forget(tokenHash: Buffer): void {
    this.#byHash.delete(tokenHash.toString('hex'));
  }
}
