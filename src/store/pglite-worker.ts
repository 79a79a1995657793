/**
 * The PGlite worker: PostgreSQL-in-WebAssembly running on its own thread, so that a heavy
 * statement (parsing a 44 MB request body as jsonb) blocks this thread, not the node's event
 * loop. The main thread talks to it through `PGliteWorker` (pglite-proxy.ts), one message per
 * call; this side runs the calls one after another, in the order they arrive, and answers each.
 *
 * Started as `new Worker(new URL('./pglite-worker.ts', import.meta.url))`: Node strips the
 * types of this file itself, so it must stay erasable TypeScript.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import type { QueryOptions } from '@electric-sql/pglite';
import type { WorkerData, WorkerError, WorkerReply, WorkerRequest } from './pglite-proxy.ts';
import { READY_ID } from './pglite-proxy.ts';

if (!parentPort) throw new Error('pglite-worker.ts is a worker_threads entry point, not a module to import');
const port = parentPort;
const { dir } = workerData as WorkerData;

/** What crosses back for an error: its message, name and own fields (code, detail, …), not the query's parameters. */
function serializeError(err: unknown): WorkerError {
  if (!(err instanceof Error)) return { message: String(err), name: 'Error' };
  const error: WorkerError = { message: err.message, name: err.name, stack: err.stack, fromQuery: 'query' in err };
  for (const [key, value] of Object.entries(err)) {
    // query, params and queryOptions are what PGlite attaches to a DatabaseError: the caller has them.
    if (key in error || key === 'query' || key === 'params' || key === 'queryOptions') continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') error[key] = value;
  }
  return error;
}

/** Posts an answer; never throws, so one bad answer cannot stall the calls queued after it. */
function reply(message: WorkerReply): void {
  try {
    port.postMessage(message);
  } catch (err) {
    // An answer that cannot be cloned (it should not happen: PGlite returns plain data).
    try {
      port.postMessage({ id: message.id, ok: false, error: serializeError(err) } satisfies WorkerReply);
    } catch {
      port.postMessage({
        id: message.id,
        ok: false,
        error: { message: 'the PGlite worker could not send its answer', name: 'Error' },
      } satisfies WorkerReply);
    }
  }
}

// PGlite's initdb sets shared_buffers to 128 MB, and WebAssembly memory, once touched, is never
// given back: an idle node held about 120 MB more than with 32 MB (measured, the same data
// folder). The embedded database is for a trial or a small node, whose pages the operating
// system's cache holds anyway; a node that needs more runs on PostgreSQL.
const SHARED_BUFFERS = '32MB';

// PGlite's own bytea serializer makes a string of each byte (`Array.from(bytes).map(…)`): a 38 MB
// request body, which the node hands PostgreSQL as bytea to parse (store/statuses.ts), took this
// thread's heap past the limit `npm start` sets and the worker down with it. Buffer's hex
// encoding makes the same text natively.
const BYTEA = 17;
function byteaText(value: unknown): string {
  if (!(value instanceof Uint8Array)) throw new Error('Invalid input for bytea type');
  return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
}

const opened = PGlite.create(dir, {
  startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${SHARED_BUFFERS}`],
  serializers: { [BYTEA]: byteaText },
});

async function run(req: WorkerRequest): Promise<unknown> {
  const pglite = await opened;
  switch (req.op) {
    case 'query':
      return pglite.query(req.sql, req.params, req.options as QueryOptions | undefined);
    case 'exec':
      return pglite.exec(req.sql);
    case 'close':
      if (!pglite.closed) await pglite.close();
      return null;
  }
}

async function answer(req: WorkerRequest): Promise<void> {
  try {
    reply({ id: req.id, ok: true, result: await run(req) });
  } catch (err) {
    reply({ id: req.id, ok: false, error: serializeError(err) });
  }
}

// The first answer says whether PGlite opened; then one call at a time, in arrival order (the
// main side relies on it for BEGIN … COMMIT), each answered whatever happens.
let tail: Promise<void> = opened.then(
  () => reply({ id: READY_ID, ok: true, result: null }),
  (err: unknown) => reply({ id: READY_ID, ok: false, error: serializeError(err) }),
);
port.on('message', (req: WorkerRequest) => {
  tail = tail.then(() => answer(req));
});
