import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Context, MiddlewareHandler } from 'hono';
import type { Config } from '../config.ts';
import { VigilError } from '../errors.ts';
import type { Log } from '../log.ts';
import type { Principal } from '../services/principal.ts';
import { clientAddress, trustedRanges } from './client-address.ts';
import { TokenBuckets } from './token-buckets.ts';

// Request rates (docs/operating.md, "Rate limits"). A request is charged to its principal once authentication
// names one (admit), else to its address: no credentials, or credentials that named no one. Kept in
// this replica's memory, as a database round trip per poll would cost more than it saves: with N
// replicas behind a load balancer a caller gets up to N times the rate.

/** Probes of load balancers and orchestrators: a 429 there would take a healthy replica out of rotation. */
const PROBES = new Set(['/healthz', '/readyz']);

const seconds = (wait: number) => Math.max(1, Math.ceil(wait));
const NO_ONE = 'too many requests from this address without valid credentials';

export class RateLimits {
  readonly #principals: TokenBuckets | undefined;
  readonly #addresses: TokenBuckets | undefined;
  readonly #trusted: ReturnType<typeof trustedRanges>;
  readonly #log: Log;
  readonly #now: () => number;
  /** Requests without credentials, charged to their address up front: admitting one gives the token back. */
  readonly #prepaid = new WeakMap<Request, string>();
  readonly #admitted = new WeakSet<Request>();
  /** A connection's address key, worked out on its first request: a SIEM's polls share one kept-alive connection. */
  readonly #socketAddresses = new WeakMap<Socket, string>();
  #warned = false;

  constructor(config: Pick<Config, 'rateLimits' | 'trustedProxies'>, log: Log, now: () => number = () => performance.now()) {
    const { perMinute, burst, anonymousPerMinute } = config.rateLimits;
    this.#principals = perMinute > 0 ? new TokenBuckets({ perMinute, burst }) : undefined;
    this.#addresses = anonymousPerMinute > 0 ? new TokenBuckets({ perMinute: anonymousPerMinute, burst: anonymousPerMinute }) : undefined;
    this.#trusted = trustedRanges(config.trustedProxies);
    this.#log = log;
    this.#now = now;
  }

  /** Every request but the probes: charges its address when it brings no credentials, or brings ones that name no one. */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const addresses = this.#addresses;
      if (!addresses || PROBES.has(c.req.path.replace(/\/+$/, ''))) return next();
      const address = this.#addressOf(c);
      if (c.req.header('authorization') === undefined) {
        const wait = addresses.take(address, this.#now());
        if (wait > 0) throw refused(wait, NO_ONE);
        this.#prepaid.set(c.req.raw, address);
        return next();
      }
      // An address that has spent its budget (failed authentications count against it) is refused
      // before its credentials are checked: answering them, even with 429, would let guessing go on.
      const wait = addresses.wait(address, this.#now());
      if (wait > 0) throw refused(wait, NO_ONE);
      await next();
      if (!this.#admitted.has(c.req.raw)) addresses.charge(address, this.#now());
    };
  }

  /**
   * Called where authentication names the caller: charges its principal, a client or a peer (by
   * its client id). The admin is exempt: one operator's token, used by the CLI and scripts in bulk
   * and in an incident; a limit would slow the operator and stop no one who holds it.
   */
  admit(c: Context, principal: Principal): void {
    this.#admitted.add(c.req.raw);
    const prepaid = this.#prepaid.get(c.req.raw);
    if (prepaid !== undefined && principal.kind !== 'anonymous') {
      this.#prepaid.delete(c.req.raw);
      this.#addresses?.refund(prepaid, this.#now());
    }
    if (principal.kind !== 'client' || !this.#principals) return;
    const wait = this.#principals.take(principal.id, this.#now());
    if (wait > 0)
      throw refused(wait, `${principal.role === 'peer' ? 'this peer' : 'this client'} has sent more requests than its rate limit allows`);
  }

  #addressOf(c: Context): string {
    const socket = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket;
    const forwarded = c.req.header('x-forwarded-for');
    if (forwarded !== undefined && this.#trusted.length === 0 && !this.#warned) {
      this.#warned = true;
      this.#log.warn(
        { peer: socket?.remoteAddress },
        "requests carry X-Forwarded-For but TRUSTED_PROXIES is unset: callers without credentials share their proxy's rate limit",
      );
    }
    if (forwarded !== undefined || !socket) return clientAddress(socket?.remoteAddress, forwarded, this.#trusted);
    let address = this.#socketAddresses.get(socket);
    if (address === undefined) this.#socketAddresses.set(socket, (address = clientAddress(socket.remoteAddress, undefined, this.#trusted)));
    return address;
  }
}

/** A 429 that says how long to wait. */
export function refused(wait: number, why: string): VigilError {
  const s = seconds(wait);
  return new VigilError('too-many-requests', `${why}; retry after ${s} s`, { retry_after_seconds: s });
}
