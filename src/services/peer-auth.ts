import type { JWK } from 'jose';
import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { ProofError, verifyRequestProof } from '../federation/request-proof.ts';
import type { ProofClaims } from '../federation/request-proof.ts';
import type { Clearance } from '../policy/levels.ts';
import { findPeerByNodeId, forgetExpiredNonces, rememberNonce } from '../store/peers.ts';
import type { ClientPrincipal } from './auth.ts';

/**
 * A peer node's signed pull: the proof verifies against the keys pinned for it, for this node,
 * this method and this URL, and its jti was never seen (a replay is a 401 like the rest).
 */
export async function authenticatePeer(
  deps: Deps,
  token: string,
  method: string,
  url: string,
): Promise<{ principal: ClientPrincipal; proof: ProofClaims }> {
  const db = deps.database.db;
  let claims: ProofClaims;
  let peer: Awaited<ReturnType<typeof findPeerByNodeId>>;
  try {
    claims = await verifyRequestProof(token, { audience: deps.keyring.nodeId, method, url }, async (nodeId) => {
      peer = await findPeerByNodeId(db, nodeId);
      return peer && { nodeId, keys: Array.isArray(peer.pinned_keys) ? (peer.pinned_keys as JWK[]) : [] };
    });
  } catch (err) {
    if (err instanceof ProofError) throw new VigilError('unauthorized', `request proof refused: ${err.message}`);
    throw err;
  }
  if (!(await rememberNonce(db, claims.jti, claims.exp)))
    throw new VigilError('unauthorized', 'request proof refused: it was used already');
  if (Math.random() < 0.01) await forgetExpiredNonces(db);
  const p = peer!;
  return {
    principal: {
      kind: 'client',
      id: p.id,
      name: p.name,
      role: 'peer',
      clearance: p.clearance as Clearance,
      ownOrg: p.own_org,
      peerAmber: p.peer_amber,
    },
    proof: claims,
  };
}
