import type { Principal } from '../services/auth.ts';
import type { ClientHint } from '../services/client-hints.ts';

/**
 * `principal`: who the request is from, authenticated. `hint` instead, on a poll of a collection's
 * objects whose token named a client before: the read proves it (taxii/objects.ts), and no
 * principal is set until then. `signed`: the answer is signed over its bytes (a peer's signed
 * pull, routes.ts), so a page must be made as bytes.
 */
export type TaxiiEnv = { Variables: { principal: Principal; hint?: ClientHint; signed?: boolean } };
