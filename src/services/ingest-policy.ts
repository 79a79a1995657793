import type { Transaction } from 'kysely';
import { AMBER_STRICT, CLEAR, DENY, PAP_NAMES } from '../policy/levels.ts';
import type { Level, Pap } from '../policy/levels.ts';
import { classifyMarkingDefinition, defaultLevelFor, RELEASED_NOTE, resolveMarkings, WAITING_MARK } from '../policy/markings.ts';
import type { MarkingKind } from '../policy/markings.ts';
import { objectReferences } from '../policy/references.ts';
import type { RefKind } from '../policy/references.ts';
import { objectsToShip } from '../policy/shipped-markings.ts';
import { TLP_IDS } from '../policy/tlp-ids.ts';
import type { StixMeta } from '../stix/validate.ts';
import { FEED_TYPES, feedSource } from '../stix/feed-values.ts';
import type { FeedSource } from '../stix/feed-values.ts';
import { findMarkingDefinitions } from '../store/objects.ts';
import { noteOnDetails } from '../store/statuses.ts';
import type { NewObject } from '../store/objects.ts';
import type { Schema } from '../store/schema.ts';
import { sourceDefaultLevels } from '../store/sources.ts';
import { releaseVersions, waitingFor } from '../store/waiting.ts';
import type { Released, Resolved } from '../store/waiting.ts';

export type CollectionPolicy = { defaultLevel: Level; papGreenOnly: boolean };

/** Where a version pulled from a source came from: a peer's as received, never signed again; a server's as signed at intake. */
export type ReceivedOrigin = { origin: string; originNode: string; originSignature: string; originVerified: boolean };

/** What a version's row takes from its object alone (no database): its references and feed values. */
export type Derived = { refs: { kind: RefKind | null; refs: string[] }; feed: FeedSource | null };

export function derivedOf(meta: StixMeta, object: Record<string, unknown>): Derived {
  return { refs: objectReferences(object), feed: FEED_TYPES.includes(meta.type) ? (feedSource(object) ?? null) : null };
}

/**
 * `signature`: this node's origin signature, and `derived`: derivedOf, when made ahead, outside
 * the writer's transaction (see ingest.ts); `received`: a peer's version.
 */
export type Candidate = {
  seq: number;
  object: Record<string, unknown>;
  meta: StixMeta;
  /** The object's text; null where a queued request's pending row holds it (the insert reads it there). */
  json: string | null;
  signature?: string;
  derived?: Derived;
  received?: ReceivedOrigin;
};

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
  json: string | null,
  object: Record<string, unknown>,
  signer: OriginSigner,
  received?: ReceivedOrigin,
  signature?: string,
  derived: Derived = derivedOf(meta, object),
): Omit<NewObject, 'level' | 'pap' | 'denyReason' | 'unresolvedRefs'> {
  const { refs, feed } = derived;
  // Pulled from a peer: its origin and signature pass on unchanged (and `modified` is never
  // rewritten), so two nodes pulling from each other never loop.
  const provenance = received ?? {
    origin: null,
    originNode: signer.nodeId,
    originSignature: signature ?? signer.sign(object),
    originVerified: true,
  };
  return {
    id: meta.id,
    type: meta.type,
    specVersion: meta.specVersion,
    version: meta.version,
    markingRefs: meta.markingRefs,
    json,
    refKind: refs.kind,
    refIds: refs.refs,
    // From the object parsed already: the writer's statement need not parse it again.
    feed,
    // Submitted here: this node is where it enters the federation, and signs it as such.
    ...provenance,
  };
}

/** The classified marking definitions these ids name, as stored in the collection or given. */
async function definitionsFor(
  tx: Transaction<Schema>,
  collectionId: string,
  referenced: Iterable<string>,
  given: ReadonlyMap<string, Record<string, unknown>> = new Map(),
): Promise<{ definitions: Map<string, MarkingKind>; stored: Map<string, Record<string, unknown>> }> {
  const lookup = [...new Set(referenced)].filter((id) => !given.has(id) && (!TLP_IDS.has(id) || objectsToShip([id]).length > 0));
  const stored = await findMarkingDefinitions(tx, collectionId, lookup);
  const definitions = new Map<string, MarkingKind>();
  for (const [id, md] of [...stored, ...given]) definitions.set(id, classifyMarkingDefinition(md));
  return { definitions, stored };
}

/** Why the collection refuses a PAP level, or null when it takes it. */
function papRefusal(policy: CollectionPolicy, pap: Pap | null): string | null {
  if (!policy.papGreenOnly || pap === null || pap < 2) return null;
  return `object_marking_refs: marked PAP:${PAP_NAMES[pap]}; this collection takes PAP:CLEAR and PAP:GREEN content only`;
}

/**
 * Resolves each valid object's markings against the alias table and the marking definitions
 * held in the collection or sent in the same batch (shared/reference/tlp.md). A marking no
 * definition is known for leaves the object waiting (withheld) until it arrives: see
 * releaseWaiting. A request's definitions are stored before its other objects (ingest.ts), so
 * within a request the order of objects does not matter.
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
  const { definitions, stored } = await definitionsFor(tx, collectionId, referenced, inBatch);

  const result: Classified = { accepted: [], rejected: [], shipped: [] };
  for (const c of batch) {
    const r = resolveMarkings(c.meta.markingRefs, definitions, defaultLevelFor(c.meta.type, policy.defaultLevel));
    const refused = papRefusal(policy, r.pap);
    if (refused) {
      result.rejected.push({ seq: c.seq, id: c.meta.id, version: c.meta.version, message: refused });
      continue;
    }
    result.accepted.push({
      seq: c.seq,
      ...toNew(c.meta, c.json, c.object, signer, c.received, c.signature, c.derived),
      level: r.level,
      pap: r.pap,
      denyReason: r.reason ?? null,
      unresolvedRefs: r.unresolved ?? [],
    });
  }
  const missing = [...referenced].filter((id) => !stored.has(id) && !inBatch.has(id));
  for (const md of objectsToShip(missing)) {
    if (stored.has(md.id) || inBatch.has(md.id)) continue;
    const meta: StixMeta = { id: md.id, type: md.type, specVersion: '2.1', version: md.created as string, markingRefs: [] };
    result.shipped.push({ ...toNew(meta, JSON.stringify(md), md, signer), level: CLEAR, pap: null, denyReason: null, unresolvedRefs: [] });
  }
  return result;
}

/**
 * Releases the collection's versions that wait for marking definitions a batch just stored (or
 * sent again), and those of the batch itself whose definitions a writer committed while the
 * batch was classified: run after insertObjects, which took the locks of a writer (lockForWrite),
 * so every definition committed before is seen. Each is resolved again against what the
 * collection now holds, and served at its real level once every marking is known. Fail closed
 * still: a definition that turns out TLP-like but unknown, a PAP level the collection refuses,
 * or AMBER+STRICT or RED received from a peer (which never leaves its node) keeps the version
 * withheld, for good.
 */
export async function releaseWaiting(
  tx: Transaction<Schema>,
  collectionId: string,
  policy: CollectionPolicy,
  stored: NewObject[],
): Promise<Released> {
  const definitionIds = new Set<string>();
  for (const o of stored) {
    if (o.type === 'marking-definition') definitionIds.add(o.id);
    for (const ref of o.unresolvedRefs) definitionIds.add(ref);
  }
  const waiting = await waitingFor(tx, collectionId, [...definitionIds]);
  if (waiting.length === 0) return { ids: [], restamped: 0 };
  const { definitions } = await definitionsFor(
    tx,
    collectionId,
    waiting.flatMap((w) => w.marking_refs),
  );
  // A version taken in from a TAXII source takes that source's default level, not the collection's.
  const sourceIds = [...new Set(waiting.filter((w) => isIntakeOrigin(w.origin)).map((w) => w.origin!.slice('source/'.length)))];
  const sourceDefaults = await sourceDefaultLevels(tx, sourceIds);
  const resolved: Resolved[] = [];
  for (const w of waiting) {
    const base = (isIntakeOrigin(w.origin) ? sourceDefaults.get(w.origin!.slice('source/'.length)) : undefined) ?? policy.defaultLevel;
    const r = resolveMarkings(w.marking_refs, definitions, defaultLevelFor(w.type, base));
    // Still waiting for the same definitions: nothing to record.
    if (r.unresolved && r.unresolved.join('\u0000') === w.unresolved_refs.join('\u0000')) continue;
    const refused = r.unresolved ? null : (papRefusal(policy, r.pap) ?? relayRefusal(w.origin, r.level));
    if (refused) resolved.push({ date_added: w.date_added, level: DENY, pap: r.pap, deny_reason: refused, unresolved: [] });
    else
      resolved.push({
        date_added: w.date_added,
        level: r.level,
        pap: r.pap,
        deny_reason: r.reason ?? null,
        unresolved: r.unresolved ?? [],
      });
  }
  const released = await releaseVersions(tx, collectionId, resolved);
  // The statuses that said these versions were withheld until a definition was known say it is.
  await noteOnDetails(tx, collectionId, released.ids, WAITING_MARK, RELEASED_NOTE);
  return released;
}

/**
 * The origin of versions taken in from a source outside the federation (a TAXII server):
 * `source/<id>`. A peer's node id never holds "/", so the two never meet.
 */
export const intakeOrigin = (sourceId: string): string => `source/${sourceId}`;
export const isIntakeOrigin = (origin: string | null): boolean => origin?.startsWith('source/') ?? false;

/**
 * AMBER+STRICT and RED never leave their node: a peer that sent one broke the rules. A server
 * outside the federation breaks none by sending them: such versions stay on this node.
 */
export function relayRefusal(origin: string | null, level: number): string | null {
  if (origin === null || isIntakeOrigin(origin) || level < AMBER_STRICT || level === DENY) return null;
  return 'marked AMBER+STRICT or RED, which never leaves its node: received from a peer';
}
