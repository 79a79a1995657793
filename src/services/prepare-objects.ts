import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { VigilError } from '../errors.ts';
import { originLeaf } from '../federation/origin-signature.ts';
import type { OriginLeaf, OriginSigner } from '../federation/origin-signature.ts';
import { objectSpans } from '../stix/object-spans.ts';
import { validateStixObject } from '../stix/validate.ts';
import type { DetailRow } from '../store/statuses.ts';
import { derivedOf } from './ingest-policy.ts';
import type { Candidate } from './ingest-policy.ts';

/** A batch after the work that needs no database: parsed, validated, and signed as origin. */
export type Prepared = { failures: DetailRow[]; candidates: Candidate[] };

/** A chunk of a queued request, prepared; `count`: the objects it holds, failed or not. */
export type PreparedChunk = Prepared & { count: number };

/** Objects validated between yields to the event loop, so a chunk's statements keep flowing while the next one is prepared. */
const PREPARE_SLICE = 25;

/**
 * Object types whose parsed form and text are read after preparation (classifyBatch, sighting
 * reports and figures); the others keep no parsed form, nor their text where a pending row holds
 * it: a chunk's candidates live until it is stored, and the less they hold, the less the garbage
 * collector copies and the node's heap grows.
 */
const KEEPS_PARSED = new Set(['marking-definition', 'sighting']);
const NOT_KEPT: Record<string, unknown> = Object.freeze({});

/**
 * Parses and validates objects (JSON text, by seq), makes each one's leaf for the batch's origin
 * signature, and takes what its row needs from it alone (derivedOf). Pure CPU: it may run ahead
 * of the transaction that stores them, where it would hold the writer's connection. Text that is
 * not JSON makes the request's body not JSON: it is refused whole, as PostgreSQL refuses it.
 */
function prepareObjects(objects: { seq: number; json: string }[], pending: boolean): Prepared & { leaves: OriginLeaf[] } {
  const prepared: Prepared & { leaves: OriginLeaf[] } = { failures: [], candidates: [], leaves: [] };
  for (const { seq, json } of objects) {
    let object: unknown;
    try {
      object = JSON.parse(json);
    } catch (err) {
      throw new VigilError('invalid-json', `the body is not valid JSON: objects[${seq}]: ${(err as Error).message}`);
    }
    const result = validateStixObject(object);
    if (!result.ok) {
      prepared.failures.push({ seq, outcome: 'failure', object_id: result.id, version: result.version, message: result.message });
      continue;
    }
    let leaf: OriginLeaf;
    try {
      leaf = originLeaf(object);
    } catch (err) {
      // A value validation let through and signing cannot take fails its object, not the request.
      prepared.failures.push({
        seq,
        outcome: 'failure',
        object_id: result.meta.id,
        version: result.meta.version,
        message: `object: cannot be signed as its origin (${(err as Error).message})`,
      });
      continue;
    }
    const record = object as Record<string, unknown>;
    const keeps = KEEPS_PARSED.has(result.meta.type);
    prepared.candidates.push({
      seq,
      object: keeps ? record : NOT_KEPT,
      meta: result.meta,
      json: keeps || !pending ? json : null,
      derived: derivedOf(result.meta, record),
    });
    prepared.leaves.push(leaf);
  }
  return prepared;
}

/**
 * prepareObjects in slices, letting other work (a chunk being stored, requests) run between
 * them; then signs them as their origin, one signature a batch (origin-signature.ts). A version
 * the collection's policy then refuses (PAP) was signed for nothing, which is rare and harmless.
 * `pending`: the objects are a queued request's, whose pending rows hold them (candidates then
 * keep no text the store does not read).
 */
export async function prepareInSlices(signer: OriginSigner, objects: { seq: number; json: string }[], pending = false): Promise<Prepared> {
  const prepared: Prepared = { failures: [], candidates: [] };
  const leaves: OriginLeaf[] = [];
  for (let at = 0; at < objects.length; at += PREPARE_SLICE) {
    if (at > 0) await yieldToEventLoop();
    const slice = prepareObjects(objects.slice(at, at + PREPARE_SLICE), pending);
    prepared.failures.push(...slice.failures);
    prepared.candidates.push(...slice.candidates);
    leaves.push(...slice.leaves);
  }
  const signatures = signer.signLeaves(leaves);
  prepared.candidates.forEach((c, i) => {
    c.signature = signatures[i]!;
  });
  return prepared;
}

/**
 * The first chunks of a queued request, prepared from the request's body while PostgreSQL
 * records it. The job that stores the request then starts with work done: the node would
 * otherwise wait, idle, for the recording, then prepare. Answers undefined for a chunk it did not
 * prepare (past its first few, or a body it could not walk): the job reads that one back from
 * PostgreSQL as always, and so does a job another replica took over.
 */
export type PreparedAhead = {
  /** How many objects the body's `objects` holds (the job compares it with what PostgreSQL recorded), or undefined. */
  count: Promise<number | undefined>;
  /** The chunk of objects [from, from + chunk size), or undefined. */
  chunk(from: number): Promise<PreparedChunk | undefined>;
  /** Stops preparing: the request was not queued, or its job is done with these. */
  cancel(): void;
};

/**
 * Prepares the first `chunks` chunks of `chunkSize` objects of a request body (a bundle or an
 * envelope) from its bytes, one after another in the background. The objects are the body's own
 * text, where the job would read PostgreSQL's rendering of them: both parse to the same values,
 * the same validation and the same canonical JSON (its origin leaf), and the job stores what
 * PostgreSQL parsed either way.
 */
export function prepareAhead(signer: OriginSigner, body: Buffer, chunkSize: number, chunks: number): PreparedAhead {
  let cancelled = false;
  const count = Promise.withResolvers<number | undefined>();
  const prepared = Array.from({ length: chunks }, () => Promise.withResolvers<PreparedChunk | undefined>());
  const giveUp = () => {
    count.resolve(undefined);
    for (const p of prepared) p.resolve(undefined);
  };
  void (async () => {
    const spans = await objectSpans(body);
    count.resolve(spans?.length);
    for (let k = 0; k < chunks; k++) {
      const from = k * chunkSize;
      if (cancelled || !spans || from >= spans.length) break;
      const objects = spans.slice(from, from + chunkSize).map((s, i) => ({ seq: from + i, json: body.toString('utf8', s.start, s.end) }));
      prepared[k]!.resolve({ count: objects.length, ...(await prepareInSlices(signer, objects, true)) });
    }
    giveUp();
  })().catch(giveUp);
  return {
    count: count.promise,
    chunk: (from) =>
      from % chunkSize === 0 && from / chunkSize < chunks ? prepared[from / chunkSize]!.promise : Promise.resolve(undefined),
    cancel() {
      cancelled = true;
    },
  };
}
