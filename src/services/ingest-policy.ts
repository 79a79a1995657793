import type { Transaction } from 'kysely';
import { CLEAR, PAP_NAMES } from '../policy/levels.ts';
import type { Level } from '../policy/levels.ts';
import { classifyMarkingDefinition, defaultLevelFor, resolveMarkings } from '../policy/markings.ts';
import type { MarkingKind } from '../policy/markings.ts';
import { objectReferences } from '../policy/references.ts';
import { objectsToShip } from '../policy/shipped-markings.ts';
import { TLP_IDS } from '../policy/tlp-ids.ts';
import type { StixMeta } from '../stix/validate.ts';
import { findMarkingDefinitions } from '../store/objects.ts';
import type { NewObject } from '../store/objects.ts';
import type { Schema } from '../store/schema.ts';

export type CollectionPolicy = { defaultLevel: Level; papGreenOnly: boolean };

/** Where a version pulled from a peer came from: stored as received, never signed again. */
export type ReceivedOrigin = { origin: string; originNode: string; originSignature: string; originVerified: boolean };

/** `signature`: this node's origin signature, when made ahead (see ingest.ts); `received`: a peer's version. */
export type Candidate = { seq: number; object: Record<string, unknown>; meta: StixMeta; json: string; signature?: string; received?: ReceivedOrigin };

export type Classified = {
  accepted: (NewObject & { seq: number })[];
  rejected: { seq: number; id: string; version: string | null; message: string }[];
  /** TLP 2.0 definitions this batch references and the collection lacks: stored first. */
  shipped: NewObject[];
};

/** Signs an object version as its origin node (see federation/origin-signature.ts). */
export type OriginSigner = { nodeId: string; sign(object: unknown): string };

function toNew(
  meta: StixMeta,
  json: string,
  object: Record<string, unknown>,
  signer: OriginSigner,
  received?: ReceivedOrigin,
  signature?: string,
): Omit<NewObject, 'level' | 'pap' | 'denyReason'> {
  const refs = objectReferences(object);
  // Pulled from a peer: its origin and signature pass on unchanged (and `modified` is never
  // rewritten), so two nodes pulling from each other never loop.
  const provenance = received ?? { origin: null, originNode: signer.nodeId, originSignature: signature ?? signer.sign(object), originVerified: true };
  return {
    id: meta.id,
    type: meta.type,
    specVersion: meta.specVersion,
    version: meta.version,
    markingRefs: meta.markingRefs,
    json,
    refKind: refs.kind,
    refIds: refs.refs,
    // Submitted here: this node is where it enters the federation, and signs it as such.
    ...provenance,
  };
}

/**
 * Resolves each valid object's markings against the alias table and the marking definitions
 * held in the collection or sent in the same request (shared/reference/tlp.md).
 */
export async function classifyBatch(
  tx: Transaction<Schema>,
  collectionId: string,
  policy: CollectionPolicy,
  batch: Candidate[],
  signer: OriginSigner,
): Promise<Classified> {
  const inBatch = new Map<string, Record<string, unknown>>();
  for (const c of batch) if (c.meta.type === 'marking-definition') inBatch.set(c.meta.id, c.object);
  const referenced = new Set(batch.flatMap((c) => c.meta.markingRefs));
  const lookup = [...referenced].filter((id) => !inBatch.has(id) && (!TLP_IDS.has(id) || objectsToShip([id]).length > 0));
  const stored = await findMarkingDefinitions(tx, collectionId, lookup);
  const definitions = new Map<string, MarkingKind>();
  for (const [id, md] of [...stored, ...inBatch]) definitions.set(id, classifyMarkingDefinition(md));

  const result: Classified = { accepted: [], rejected: [], shipped: [] };
  for (const c of batch) {
    const r = resolveMarkings(c.meta.markingRefs, definitions, defaultLevelFor(c.meta.type, policy.defaultLevel));
    if (policy.papGreenOnly && r.pap !== null && r.pap >= 2) {
      result.rejected.push({ seq: c.seq, id: c.meta.id, version: c.meta.version, message: `object_marking_refs: marked PAP:${PAP_NAMES[r.pap]}; this collection takes PAP:CLEAR and PAP:GREEN content only` });
      continue;
    }
    result.accepted.push({ seq: c.seq, ...toNew(c.meta, c.json, c.object, signer, c.received, c.signature), level: r.level, pap: r.pap, denyReason: r.reason ?? null });
  }
  const missing = [...referenced].filter((id) => !stored.has(id) && !inBatch.has(id));
  for (const md of objectsToShip(missing)) {
    if (stored.has(md.id) || inBatch.has(md.id)) continue;
    const meta: StixMeta = { id: md.id, type: md.type, specVersion: '2.1', version: md.created as string, markingRefs: [] };
    result.shipped.push({ ...toNew(meta, JSON.stringify(md), md, signer), level: CLEAR, pap: null, denyReason: null });
  }
  return result;
}
