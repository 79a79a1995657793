// Who a request is from, as the services see it (authentication decides it: auth.ts, peer-auth.ts).
import type { Clearance } from '../policy/levels.ts';

/** A client of this node, or a peer node (its agreement: GREEN always, AMBER if peerAmber). */
export type ClientPrincipal = {
  kind: 'client';
  id: string;
  name: string;
  role: 'client' | 'peer';
  clearance: Clearance;
  ownOrg: boolean;
  peerAmber: boolean;
};

/** `anonymous`: no credentials at all, which only a public collection accepts. */
export type Principal = { kind: 'admin' } | ClientPrincipal | { kind: 'anonymous' };

/** What a request's Authorization header says: a token, or (HTTP Basic, which many SIEMs speak) a name and a token. */
export type Credentials = { scheme: 'bearer'; token: string } | { scheme: 'basic'; user: string; password: string };
