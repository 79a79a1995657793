import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import type { Schema } from '../store/schema.ts';
import { collectionPolicy } from '../store/collections.ts';
import { differingVersions, insertObjects, versionIdentity, versionlessVersions } from '../store/objects.ts';
import { asWriter } from '../store/write-horizon.ts';
import { withheldVersions } from '../store/waiting.ts';
import type { WithheldVersion } from '../store/waiting.ts';
import { classifyBatch, releaseWaiting } from './ingest-policy.ts';
import type { Candidate } from './ingest-policy.ts';
import { waitingReason } from '../policy/markings.ts';
import { originSigner } from '../federation/origin-signature.ts';
import type { OriginSigner } from '../federation/origin-signature.ts';
import { prepareAhead, prepareInSlices } from './prepare-objects.ts';
import type { Prepared, PreparedAhead, PreparedChunk } from './prepare-objects.ts';
import { PARSED_HERE_MAX_BYTES, parseBodyHere } from './request-body.ts';
import {
  insertDetails,
  insertJob,
  insertStatus,
  parseRequestObjects,
  pendingDefinitions,
  pendingObjects,
  settleDetails,
} from '../store/statuses.ts';
import type { BodyShape, DetailRow } from '../store/statuses.ts';
import { requireAuthenticated, writableCollection } from './access.ts';
import type { Principal } from './auth.ts';
import { getStatus } from './status.ts';
import { countIngested } from '../metrics/metrics.ts';
import type { StatusResource } from './status.ts';
import { takeSightingReports } from './sightings.ts';

/**
 * Objects per store: a queued request's chunk (a transaction of its own) and a statement of a
 * request stored inline. Each chunk pays its round trips (the writer's announcement, the policy,
 * the id locks, the commit) once: larger is faster, up to a point (at 4,000 the bench's 40 MB
 * bundle cost PostgreSQL more CPU per object, and took longer).
 */
export const CHUNK_SIZE = 2000;

/**
 * Chunks of a queued request prepared from its body while PostgreSQL records it: about what the
 * node prepares in that time for a 40 MB bundle (a second or so), held until its job stores them.
 */
const CHUNKS_AHEAD = 3;

/** What a batch stored: each object's outcome, the TLP levels of the versions that are new (for the metrics), sightings taken as reports. */
type Stored = { details: DetailRow[]; levels: number[]; reported: number };

/**
 * The versions a request has stored so far, by id, spec version and version, with the index
 * (seq) of the object that brought each: a later object of the same request under the same
 * version is a copy of it, or a conflict with it.
 */
type Seen = Map<string, number>;

/**
 * A request's objects in the order they are stored: its marking definitions first, so that
 * whatever the order of the request, no object waits for a definition the same request brings.
 */
function definitionsFirst(candidates: Candidate[]): Candidate[] {
  const isDefinition = (c: Candidate) => c.meta.type === 'marking-definition';
  return [...candidates.filter(isDefinition), ...candidates.filter((c) => !isDefinition(c))];
}

/** What the status says of a version that is stored but served to nobody, after its outcome. */
function withheldNote(withheld: WithheldVersion[], id: string, version: string | null): string {
  const mine = withheld.filter((w) => w.id === id);
  if (mine.length === 0) return '';
  const own = mine.find((w) => w.version === version);
  if (own && own.unresolved_refs.length > 0) return `; ${waitingReason(own.unresolved_refs)}`;
  if (own?.deny_reason) return `; withheld from every recipient: ${own.deny_reason}`;
  const other = mine.find((w) => w.unresolved_refs.length > 0 || w.deny_reason);
  const why = other
    ? ` (version ${other.version}: ${other.unresolved_refs.length > 0 ? waitingReason(other.unresolved_refs) : other.deny_reason})`
    : '';
  return `; withheld from every recipient: another version of this object is withheld${why}`;
}

/**
 * Stores prepared objects in the given transaction; answers each one's outcome, for the caller
 * to record in the same transaction. Marking definitions it stores (or holds already) release
 * the versions that waited for them. A client's sightings (`reporter`: its id) are taken in as
 * reports, after the rest (they may name an indicator of the same batch), never stored.
 */
async function storePrepared(
  tx: Transaction<Schema>,
  signer: OriginSigner,
  collectionId: string,
  all: Prepared,
  seen: Seen,
  reporter: string | null,
  /** The queued request whose pending rows hold these objects (the insert reads them there); null when stored inline. */
  pendingOf: string | null = null,
): Promise<Stored> {
  const isReport = (c: Candidate) => reporter !== null && c.meta.type === 'sighting';
  const prepared = { failures: all.failures, candidates: all.candidates.filter((c) => !isReport(c)) };
  const stored = await storeObjects(tx, signer, collectionId, prepared, seen, pendingOf);
  const reports = all.candidates.filter(isReport);
  if (reports.length === 0) return stored;
  const taken = await takeSightingReports(tx, reporter!, collectionId, reports);
  return { ...stored, details: [...stored.details, ...taken.details], reported: taken.reported };
}

/** Stores objects this node makes itself (its sighting aggregates), signed as their origin, in a writer's transaction. */
export async function storeOwnObjects(
  tx: Transaction<Schema>,
  signer: OriginSigner,
  collectionId: string,
  objects: Record<string, unknown>[],
): Promise<DetailRow[]> {
  const prepared = await prepareInSlices(
    signer,
    objects.map((o, seq) => ({ seq, json: JSON.stringify(o) })),
  );
  return (await storeObjects(tx, signer, collectionId, prepared, new Map())).details;
}

async function storeObjects(
  tx: Transaction<Schema>,
  signer: OriginSigner,
  collectionId: string,
  prepared: Prepared,
  seen: Seen,
  pendingOf: string | null = null,
): Promise<Stored> {
  const details = [...prepared.failures];
  if (prepared.candidates.length === 0) return { details, levels: [], reported: 0 };
  const policy = await collectionPolicy(tx, collectionId);
  const classified = await classifyBatch(tx, collectionId, policy, prepared.candidates, signer);
  const { rejected, shipped } = classified;
  const accepted =
    pendingOf === null ? classified.accepted : classified.accepted.map((o) => ({ ...o, pending: { statusId: pendingOf, seq: o.seq } }));
  for (const r of rejected) details.push({ seq: r.seq, outcome: 'failure', object_id: r.id, version: r.version, message: r.message });
  const batch = [...shipped, ...accepted];
  const outcomes = await insertObjects(tx, collectionId, batch);
  const levels = batch.filter((_, i) => outcomes[i]!.inserted).map((o) => o.level);
  const released = new Set((await releaseWaiting(tx, collectionId, policy, accepted)).ids);
  const held = accepted.filter((_, i) => !outcomes[shipped.length + i]!.inserted);
  const differing = new Set((await differingVersions(tx, collectionId, held)).map((i) => held[i]!.seq));
  // Why a version is withheld is read back only where it may be: stored withheld and not
  // released since, or held already (the common request asks nothing more).
  const mayBeWithheld = accepted.filter((o, i) => {
    const outcome = outcomes[shipped.length + i]!;
    return !outcome.inserted || (outcome.withheld && !released.has(o.id));
  });
  const withheld = await withheldVersions(tx, collectionId, [...new Set(mayBeWithheld.map((o) => o.id))]);
  const versionless = accepted.filter((o) => o.version === null).map((o) => o.id);
  const serverVersions = await versionlessVersions(tx, collectionId, versionless);
  accepted.forEach((o, i) => {
    const inserted = outcomes[shipped.length + i]!.inserted;
    const key = versionIdentity(o.id, o.specVersion, o.version);
    const first = seen.get(key);
    if (inserted) seen.set(key, o.seq);
    const version = o.version ?? serverVersions.get(o.id) ?? null;
    if (differing.has(o.seq)) {
      // STIX 2.1 §3.6: a change to an object is a new version, with a later `modified`.
      const message =
        first === undefined
          ? 'another object is already stored under this id and version, with other content: nothing changed (a change to an object needs a later modified)'
          : `same id and version as objects[${first}] of this request, with other content: objects[${first}] was stored (a change to an object needs a later modified)`;
      details.push({ seq: o.seq, outcome: 'failure', object_id: o.id, version, message });
      return;
    }
    const outcome = inserted
      ? 'added'
      : first === undefined
        ? 'already present: nothing changed'
        : `a copy of objects[${first}] of this request: stored once`;
    details.push({ seq: o.seq, outcome: 'success', object_id: o.id, version, message: outcome + withheldNote(withheld, o.id, version) });
  });
  return { details, levels, reported: 0 };
}

/** A queued request's chunk: its still-pending objects (seq in [from, from + CHUNK_SIZE)), prepared. */
async function loadChunk(db: Kysely<Schema>, signer: OriginSigner, statusId: string, from: number): Promise<PreparedChunk> {
  const pending = await pendingObjects(db, statusId, from, CHUNK_SIZE);
  return { count: pending.length, ...(await prepareInSlices(signer, pending, true)) };
}

/** A queued request's marking definitions still pending, prepared (the first chunk it stores). */
async function loadDefinitions(db: Kysely<Schema>, signer: OriginSigner, statusId: string): Promise<PreparedChunk> {
  const pending = await pendingDefinitions(db, statusId);
  return { count: pending.length, ...(await prepareInSlices(signer, pending, true)) };
}

/** A chunk less the objects of `settled` seqs (stored already, as marking definitions). */
function withoutSettled(chunk: PreparedChunk, settled: ReadonlySet<number>): PreparedChunk {
  const failures = chunk.failures.filter((f) => !settled.has(f.seq));
  const candidates = chunk.candidates.filter((c) => !settled.has(c.seq));
  return { count: failures.length + candidates.length, failures, candidates };
}

/** A queued request to store: its status, collection and `total` objects (as recorded). */
export type PendingRequest = { collectionId: string; statusId: string; total: number };

export type PendingHooks = {
  /** Runs after each chunk and may answer false to stop there (the rest stays pending). */
  between?: () => Promise<boolean>;
  /** After each chunk commits: the TLP levels of the versions it stored, and how many sightings it took as reports. */
  committed?: (levels: number[], reported: number) => void;
  /** The client that sent the request (its sightings are reports); null for the admin. */
  reporter?: string | null;
  /** Its first chunks, prepared from its body while it was recorded (the process that took it in). */
  ahead?: PreparedAhead;
};

/**
 * Runs chunk after chunk over a request's `total` objects, each stored with its outcomes in a
 * transaction of its own, so a status's counts always match what is stored. The request's
 * marking definitions go first, wherever they are in it: no object then waits for a definition
 * its own request brings, and readers get definitions before what they mark. While a chunk is
 * stored, the next one is read and prepared (parse, validation, origin signature): the node's CPU
 * work overlaps PostgreSQL's. Chunks are disjoint ranges of seq, and a chunk only settles objects
 * still pending, so reading one ahead of the previous commit changes nothing. True when every
 * chunk ran.
 */
export async function ingestPending(
  db: Kysely<Schema>,
  run: (work: (tx: Transaction<Schema>) => Promise<void>) => Promise<void>,
  signer: OriginSigner,
  request: PendingRequest,
  hooks: PendingHooks = {},
): Promise<boolean> {
  const { collectionId, statusId, total } = request;
  const { between = async () => true, committed = () => {}, reporter = null } = hooks;
  const seen: Seen = new Map();
  const store = async (prepared: PreparedChunk) => {
    let levels: number[] = [];
    let reported = 0;
    if (prepared.count > 0) {
      await run(async (tx) => {
        const stored = await storePrepared(tx, signer, collectionId, prepared, seen, reporter, statusId);
        await settleDetails(tx, statusId, stored.details);
        levels = stored.levels;
        reported = stored.reported;
      });
    }
    committed(levels, reported);
  };
  try {
    const definitions = total > 0 ? await loadDefinitions(db, signer, statusId) : undefined;
    // Stored first: a chunk prepared ahead from the body still holds them.
    const settled = new Set([...(definitions?.failures ?? []), ...(definitions?.candidates ?? [])].map((o) => o.seq));
    if (definitions && definitions.count > 0) {
      await store(definitions);
      if (!(await between())) return false;
    }
    // A chunk prepared ahead serves only where the body held what PostgreSQL recorded.
    const early = hooks.ahead && (await hooks.ahead.count) === total ? hooks.ahead : undefined;
    const load = async (from: number) => {
      const prepared = await early?.chunk(from);
      return prepared ? withoutSettled(prepared, settled) : loadChunk(db, signer, statusId, from);
    };
    let ahead = total > 0 ? load(0) : undefined;
    for (let from = 0; ahead; from += CHUNK_SIZE) {
      const prepared = await ahead;
      const following = from + CHUNK_SIZE;
      ahead = following < total ? load(following) : undefined;
      // A chunk read ahead and then abandoned (a failed store, a stop) must not become an unhandled rejection.
      ahead?.catch(() => {});
      await store(prepared);
      if (!(await between())) return following >= total;
    }
    return true;
  } finally {
    hooks.ahead?.cancel();
  }
}

/** `objectsAtMost`: an upper bound on the body's objects, when its reader counted them (readJsonBody). */
export type AddRequest = { root: string; collectionId: string; body: Uint8Array; kind: 'envelope' | 'bundle'; objectsAtMost?: number };

/** PostgreSQL's word on a body it could not parse as JSON is the client's error, not ours. */
function asClientError(err: unknown): never {
  const code = (err as { code?: string }).code;
  // 54001: a body nested past PostgreSQL's stack (JSON_MAX_DEPTH normally refuses it first).
  // 22003: a number past PostgreSQL's numeric (the JSON limits normally refuse it first).
  if (code === '22P02' || code === '22P05' || code === '22003' || code === '54000' || code === '54001' || code === '22021') {
    throw new VigilError('invalid-json', `the body is not valid JSON: ${(err as Error).message}`);
  }
  throw err;
}

/**
 * TAXII 2.1 §5.5. Small requests are stored, whole, in the transaction that records them and
 * answer `complete`; large ones are queued durably and answer `pending`, so no connection or
 * event loop waits on them, and another replica finishes them if this one dies.
 */
/**
 * The caller may add objects to the collection: checked before its body is read, so that a caller
 * without the right is answered at once, not after sending max_content_length octets for nothing.
 */
export async function requireWriter(deps: Deps, who: Principal, root: string, collectionId: string): Promise<void> {
  requireAuthenticated(who);
  await writableCollection(deps, who, root, collectionId);
}

/** Refuses a body that is JSON but no TAXII envelope, nor (for application/stix+json) a STIX bundle. */
function checkShape(req: AddRequest, shape: BodyShape): void {
  if (shape.type !== 'object') throw new VigilError('unprocessable', 'the body must be a JSON object: a TAXII envelope or a STIX bundle');
  if (req.kind === 'bundle' && shape.bundleType !== 'bundle') {
    throw new VigilError('unprocessable', 'an application/stix+json body must be a STIX bundle ("type": "bundle")');
  }
  if (shape.objectsType !== null && shape.objectsType !== 'array')
    throw new VigilError('unprocessable', 'objects: must be a list of STIX objects');
}

function statusRow(deps: Deps, who: Principal, req: AddRequest, statusId: string, total?: number) {
  const clientId = who.kind === 'client' ? who.id : null;
  return { id: statusId, collectionId: req.collectionId, clientId, retentionHours: deps.config.statusRetentionHours, total };
}

/** Records the request and its shape, as PostgreSQL parses it; a request over the inline size is queued (its objects pending, a job made). */
async function recordRequest(deps: Deps, who: Principal, req: AddRequest, statusId: string, tx: Transaction<Schema>) {
  await insertStatus(tx, statusRow(deps, who, req, statusId));
  const shape = await parseRequestObjects(tx, statusId, req.body, deps.config.syncIngestMaxObjects);
  checkShape(req, shape);
  const queued = shape.count > deps.config.syncIngestMaxObjects;
  if (queued) await insertJob(tx, statusId, req.collectionId);
  return { queued, shape };
}

/**
 * A request of at most SYNC_INGEST_MAX_OBJECTS objects, as its reader counted them, parsed and
 * prepared here before its writer's transaction begins (request-body.ts): no round trip for
 * PostgreSQL to parse the body and send each object back, and the transaction holds the
 * collection's horizon only while it stores. Undefined for a larger body, which PostgreSQL parses.
 */
async function preparedHere(
  deps: Deps,
  signer: OriginSigner,
  req: AddRequest,
  body: Buffer,
): Promise<{ total: number; prepared: Prepared } | undefined> {
  if (req.objectsAtMost === undefined || req.objectsAtMost > deps.config.syncIngestMaxObjects || body.byteLength > PARSED_HERE_MAX_BYTES)
    return undefined;
  const shape = await parseBodyHere(body);
  if (!shape) return undefined;
  checkShape(req, shape);
  return { total: shape.count, prepared: await prepareInSlices(signer, shape.objects) };
}

/** Thrown to roll back a request found small enough to store inline, which must be stored as a writer. */
class StoreInline extends Error {}

export async function addObjects(deps: Deps, who: Principal, req: AddRequest): Promise<StatusResource> {
  await requireWriter(deps, who, req.root, req.collectionId);
  const statusId = randomUUID();
  const levels: number[] = [];
  let reported = 0;
  // A request that may be queued is recorded in a transaction of its own, not as a writer: it
  // stores no object, and the seconds a large body takes to record must not hold readers back
  // (nor outlast a writer's lease). One that turns out small is rolled back and stored below.
  // Meanwhile, its first chunks are prepared from the body, for its job (prepare-objects.ts).
  const mayQueue = req.objectsAtMost !== undefined && req.objectsAtMost > deps.config.syncIngestMaxObjects;
  const body = Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength);
  const signer = originSigner(deps.keyring);
  const ahead = mayQueue ? prepareAhead(signer, body, CHUNK_SIZE, CHUNKS_AHEAD) : undefined;
  let queued = false;
  try {
    if (mayQueue)
      queued = await deps.database.db
        .transaction()
        .execute(async (tx) => {
          if (!(await recordRequest(deps, who, req, statusId, tx)).queued) throw new StoreInline();
          return true;
        })
        .catch((err: unknown) => (err instanceof StoreInline ? false : asClientError(err)));
  } finally {
    if (!queued) ahead?.cancel();
  }
  const here = queued ? undefined : await preparedHere(deps, signer, req, body);
  // A writer of the collection: readers stay before its stamps until it commits (write-horizon.ts).
  if (!queued)
    queued = await asWriter(deps.database.db, req.collectionId, deps.config.workLeaseSeconds, async (tx) => {
      // Stored inline, never parked as pending. Everything is prepared first (parse, validation,
      // signing), in slices (the transaction's locks on its ids need this event loop between
      // statements): before the transaction when the node parsed the body, else here. Then it is
      // stored CHUNK_SIZE objects a statement.
      let prepared: Prepared;
      if (here) {
        await insertStatus(tx, statusRow(deps, who, req, statusId, here.total));
        prepared = here.prepared;
      } else {
        const recorded = await recordRequest(deps, who, req, statusId, tx);
        if (recorded.queued) return true;
        prepared = await prepareInSlices(signer, recorded.shape.objects);
      }
      const details: DetailRow[] = [];
      const candidates = definitionsFirst(prepared.candidates);
      const seen: Seen = new Map();
      for (let from = 0; from === 0 || from < candidates.length; from += CHUNK_SIZE) {
        const chunk = { failures: from === 0 ? prepared.failures : [], candidates: candidates.slice(from, from + CHUNK_SIZE) };
        const stored = await storePrepared(tx, signer, req.collectionId, chunk, seen, who.kind === 'client' ? who.id : null);
        details.push(...stored.details);
        levels.push(...stored.levels);
        reported += stored.reported;
      }
      await insertDetails(tx, statusId, details);
      return false;
    }).catch(asClientError);
  // Committed: count what was stored, and let the alert matcher look at once.
  countIngested(deps.metrics, req.collectionId, levels);
  if (levels.length > 0) deps.alerts.kick();
  if (reported > 0) deps.sightings.kick();
  // A queued request's answer is read before its job stores anything: it always says `pending`.
  // The job reads and prepares its first objects meanwhile.
  const status = getStatus(deps, who, req.root, statusId);
  if (queued) deps.jobs.kick(statusId, status, ahead);
  return status;
}
