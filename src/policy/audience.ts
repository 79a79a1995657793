import { AMBER, AMBER_STRICT } from './levels.ts';
import type { Clearance, Level } from './levels.ts';

/**
 * Who a response is for, as the read queries need it (tlp.md, "The rules this node enforces").
 * - admin: everything, denied objects included.
 * - client: up to its clearance (AMBER+STRICT only for the node's own organisation), RED only
 *   where it is a named recipient of the collection.
 * - peer: GREEN and below; AMBER only if its agreement allows and this node originated it.
 * - public: CLEAR only (an anonymous public collection).
 */
export type Audience =
  | { kind: 'admin' }
  | { kind: 'client'; maxLevel: Level; red: boolean }
  | { kind: 'peer'; amber: boolean }
  | { kind: 'public' };

export function clientAudience(clearance: Clearance, ownOrganisation: boolean, redRecipient: boolean): Audience {
  const maxLevel = clearance === AMBER_STRICT && !ownOrganisation ? AMBER : clearance;
  return { kind: 'client', maxLevel, red: redRecipient };
}
