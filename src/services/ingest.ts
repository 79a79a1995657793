import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { validateStixObject } from '../stix/validate.ts';
import type { Schema } from '../store/schema.ts';
import { collectionPolicy } from '../store/collections.ts';
import { insertObjects, versionlessVersions } from '../store/objects.ts';
import { classifyBatch } from './ingest-policy.ts';
import type { Candidate, OriginSigner } from './ingest-policy.ts';
import { originSigner } from '../federation/origin-signature.ts';
import { insertDetails, insertJob, insertStatus, parseRequestObjects, pendingObjects, settleDetails } from '../store/statuses.ts';
import type { DetailRow } from '../store/statuses.ts';
import { requireAuthenticated, writableCollection } from './access.ts';
import type { Principal } from './auth.ts';
import { getStatus } from './status.ts';
import { countIngested } from '../metrics/metrics.ts';
import type { StatusResource } from './status.ts';

/** Objects per transaction: big enough to batch well, small enough to hold the collection's write lock briefly. */
export const CHUNK_SIZE = 500;

/**
 * Validates and stores objects (JSON text, by seq) in the given transaction; answers each one's
 * outcome, for the caller to record in the same transaction.
 */
/** What a batch stored: each object's outcome, and the TLP levels of the versions that are new (for the metrics). */
type Stored = { details: DetailRow[]; levels: number[] };

async function storeObjects(tx: Transaction<Schema>, signer: OriginSigner, collectionId: string, objects: { seq: number; json: string }[]): Promise<Stored> {
  if (objects.length === 0) return { details: [], levels: [] };
  const policy = await collectionPolicy(tx, collectionId);
  const details: DetailRow[] = [];
  const candidates: Candidate[] = [];
  for (const { seq, json } of objects) {
    const object: unknown = JSON.parse(json);
    const result = validateStixObject(object);
    if (!result.ok) details.push({ seq, outcome: 'failure', object_id: result.id, version: result.version, message: result.message });
    else candidates.push({ seq, object: object as Record<string, unknown>, meta: result.meta, json });
  }
  const { accepted, rejected, shipped } = await classifyBatch(tx, collectionId, policy, candidates, signer);
  for (const r of rejected) details.push({ seq: r.seq, outcome: 'failure', object_id: r.id, version: r.version, message: r.message });
  const batch = [...shipped, ...accepted];
  const outcomes = await insertObjects(tx, collectionId, batch);
  const levels = batch.filter((_, i) => outcomes[i]!.inserted).map((o) => o.level);
  const versionless = accepted.filter((o) => o.version === null).map((o) => o.id);
  const serverVersions = await versionlessVersions(tx, collectionId, versionless);
  accepted.forEach((o, i) => {
    const inserted = outcomes[shipped.length + i]!.inserted;
    const denied = o.denyReason ? `; withheld from every recipient: ${o.denyReason}` : '';
    details.push({
      seq: o.seq,
      outcome: 'success',
      object_id: o.id,
      version: o.version ?? serverVersions.get(o.id) ?? null,
      message: inserted ? `added${denied}` : 'already present: nothing changed',
    });
  });
  return { details, levels };
}

/**
 * Validates and stores the pending objects of a request with seq in [from, from + CHUNK_SIZE),
 * with their outcomes, in the given transaction, so a status's counts always match what is stored.
 */
export async function ingestChunk(tx: Transaction<Schema>, signer: OriginSigner, collectionId: string, statusId: string, from: number): Promise<number[]> {
  const pending = await pendingObjects(tx, statusId, from, CHUNK_SIZE);
  if (pending.length === 0) return [];
  const stored = await storeObjects(tx, signer, collectionId, pending);
  await settleDetails(tx, statusId, stored.details);
  return stored.levels;
}

/**
 * Runs chunk after chunk over a request's `total` objects; `between` runs after each chunk and
 * may answer false to stop there (the rest stays pending). True when every chunk ran.
 */
export async function ingestPending(
  run: (work: (tx: Transaction<Schema>) => Promise<void>) => Promise<void>,
  signer: OriginSigner,
  collectionId: string,
  statusId: string,
  total: number,
  between: () => Promise<boolean> = async () => true,
  /** After each chunk commits: the TLP levels of the versions it stored. */
  committed: (levels: number[]) => void = () => {},
): Promise<boolean> {
  for (let from = 0; from < total; from += CHUNK_SIZE) {
    let levels: number[] = [];
    await run(async (tx) => {
      levels = await ingestChunk(tx, signer, collectionId, statusId, from);
    });
    committed(levels);
    if (!(await between())) return from + CHUNK_SIZE >= total;
  }
  return true;
}

export type AddRequest = { root: string; collectionId: string; body: string; kind: 'envelope' | 'bundle' };

/** PostgreSQL's word on a body it could not parse as JSON is the client's error, not ours. */
function asClientError(err: unknown): never {
  const code = (err as { code?: string }).code;
  if (code === '22P02' || code === '22P05' || code === '54000') {
    throw new VigilError('invalid-json', `the body is not valid JSON: ${(err as Error).message}`);
  }
  throw err;
}

/**
 * TAXII 2.1 §5.5. Small requests are stored, whole, in the transaction that records them and
 * answer `complete`; large ones are queued durably and answer `pending`, so no connection or
 * event loop waits on them, and another replica finishes them if this one dies.
 */
export async function addObjects(deps: Deps, who: Principal, req: AddRequest): Promise<StatusResource> {
  requireAuthenticated(who);
  await writableCollection(deps, who, req.root, req.collectionId);
  const statusId = randomUUID();
  const levels: number[] = [];
  const queued = await deps.database.db
    .transaction()
    .execute(async (tx) => {
      const clientId = who.kind === 'client' ? who.id : null;
      await insertStatus(tx, { id: statusId, collectionId: req.collectionId, clientId, retentionHours: deps.config.statusRetentionHours });
      const shape = await parseRequestObjects(tx, statusId, req.body, deps.config.syncIngestMaxObjects);
      if (shape.type !== 'object') throw new VigilError('unprocessable', 'the body must be a JSON object: a TAXII envelope or a STIX bundle');
      if (req.kind === 'bundle' && shape.bundleType !== 'bundle') {
        throw new VigilError('unprocessable', 'an application/stix+json body must be a STIX bundle ("type": "bundle")');
      }
      if (shape.objectsType !== null && shape.objectsType !== 'array') throw new VigilError('unprocessable', 'objects: must be a list of STIX objects');
      if (shape.count > deps.config.syncIngestMaxObjects) {
        await insertJob(tx, statusId, req.collectionId);
        return true;
      }
      // Stored inline: each object is sent to PostgreSQL once more (to store it), never parked as pending.
      const signer = originSigner(deps.keyring);
      const details: DetailRow[] = [];
      for (let from = 0; from < shape.objects.length; from += CHUNK_SIZE) {
        const stored = await storeObjects(tx, signer, req.collectionId, shape.objects.slice(from, from + CHUNK_SIZE));
        details.push(...stored.details);
        levels.push(...stored.levels);
      }
      await insertDetails(tx, statusId, details);
      return false;
    })
    .catch(asClientError);
  // Committed: count what was stored, and let the alert matcher look at once.
  countIngested(deps.metrics, req.collectionId, levels);
  if (levels.length > 0) deps.alerts.kick();
  // A queued request's answer is read before its work starts: it always says `pending`.
  const status = await getStatus(deps, who, req.root, statusId);
  if (queued) deps.jobs.kick(statusId);
  return status;
}
