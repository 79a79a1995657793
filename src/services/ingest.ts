import { randomUUID } from 'node:crypto';
import type { Deps } from '../deps.ts';
import { validateStixObject } from '../stix/validate.ts';
import { insertObjects, versionlessVersions } from '../store/objects.ts';
import type { NewObject } from '../store/objects.ts';
import { insertJob, insertStatus, upsertDetails } from '../store/statuses.ts';
import type { DetailRow } from '../store/statuses.ts';

type NewStatus = Parameters<typeof insertStatus>[1];
import { writableCollection } from './access.ts';
import type { Principal } from './auth.ts';
import { getStatus } from './status.ts';
import type { StatusResource } from './status.ts';

/** Objects per transaction: big enough to batch well, small enough to hold the collection's write lock briefly. */
export const CHUNK_SIZE = 500;

export type Entry = { seq: number; object: unknown };

/**
 * Validates and stores one chunk of a request in one transaction with its status details,
 * so a status's counts always match what is stored.
 */
export async function ingestChunk(
  deps: Deps,
  collectionId: string,
  statusId: string,
  entries: Entry[],
  newStatus?: NewStatus,
): Promise<void> {
  const details: DetailRow[] = [];
  const batch: (NewObject & { seq: number })[] = [];
  for (const { seq, object } of entries) {
    const result = validateStixObject(object);
    if (!result.ok) {
      details.push({ seq, outcome: 'failure', object_id: result.id, version: result.version, message: result.message });
      continue;
    }
    const m = result.meta;
    batch.push({ seq, id: m.id, type: m.type, specVersion: m.specVersion, version: m.version, markingRefs: m.markingRefs, json: JSON.stringify(object) });
  }
  await deps.database.db.transaction().execute(async (tx) => {
    if (newStatus) await insertStatus(tx, newStatus);
    const outcomes = await insertObjects(tx, collectionId, batch);
    const versionless = batch.filter((o) => o.version === null).map((o) => o.id);
    const serverVersions = await versionlessVersions(tx, collectionId, versionless);
    batch.forEach((o, i) => {
      details.push({
        seq: o.seq,
        outcome: 'success',
        object_id: o.id,
        version: o.version ?? serverVersions.get(o.id) ?? null,
        message: outcomes[i]!.inserted ? 'added' : 'already present: nothing changed',
      });
    });
    await upsertDetails(tx, statusId, details);
  });
}

/** A best-effort id and version for a pending object, before it is validated. */
function pendingDetail(seq: number, object: unknown): DetailRow {
  const o = (typeof object === 'object' && object !== null ? object : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v.slice(0, 300) : null);
  return { seq, outcome: 'pending', object_id: str(o.id), version: str(o.modified) ?? str(o.created), message: null };
}

export type AddRequest = { root: string; collectionId: string; objects: unknown[]; rawBody: string };

/**
 * TAXII 2.1 §5.5. Small requests are stored before the 202 and answer `complete`; large ones
 * are queued durably in the database and answer `pending`, so no connection or event loop waits
 * on them, and another replica finishes them if this one dies.
 */
export async function addObjects(deps: Deps, who: Principal, req: AddRequest): Promise<StatusResource> {
  await writableCollection(deps, who, req.root, req.collectionId);
  const statusId = randomUUID();
  const status = {
    id: statusId,
    collectionId: req.collectionId,
    clientId: who.kind === 'client' ? who.id : null,
    total: req.objects.length,
    retentionHours: deps.config.statusRetentionHours,
  };
  if (req.objects.length <= deps.config.syncIngestMaxObjects) {
    // One transaction: the request is stored whole, status included, or not at all.
    const entries = req.objects.map((object, seq) => ({ seq, object }));
    await ingestChunk(deps, req.collectionId, statusId, entries, status);
  } else {
    await deps.database.db.transaction().execute(async (tx) => {
      await insertStatus(tx, status);
      await upsertDetails(tx, statusId, req.objects.map((o, seq) => pendingDetail(seq, o)));
      await insertJob(tx, statusId, req.collectionId, req.rawBody);
    });
    // The answer is read before the work starts: a queued request always answers `pending`.
    const pending = await getStatus(deps, who, req.root, statusId);
    deps.jobs.kick(statusId);
    return pending;
  }
  return getStatus(deps, who, req.root, statusId);
}
