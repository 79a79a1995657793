/**
 * The main thread's side of the PGlite worker (pglite-worker.ts): an object with the part of
 * PGlite's API that Kysely's PGlite driver and the migrations use (`query`, `exec`,
 * `transaction`, `close`, `closed`, `ready`, `waitReady`), each call a message to the worker.
 * Values cross by structured clone, which keeps what PGlite returns (objects parsed from
 * jsonb, Date, number or bigint for int8, Uint8Array for bytea, arrays, null) as they are.
 */
import { Worker } from 'node:worker_threads';
import type { Results, Transaction } from '@electric-sql/pglite';

export type WorkerData = { dir: string | undefined };

/** The options that can cross to the worker (parsers, serializers and callbacks are functions). */
export type WorkerQueryOptions = { rowMode?: 'array' | 'object'; paramTypes?: number[] };

export type WorkerRequest =
  | { id: number; op: 'query'; sql: string; params: unknown[] | undefined; options: WorkerQueryOptions | undefined }
  | { id: number; op: 'exec'; sql: string }
  | { id: number; op: 'close' };

/**
 * An error as it crosses: its message and name, and PostgreSQL's fields as PGlite sets them
 * (code, severity, detail, hint, constraint, …), never the query's parameters.
 */
export type WorkerError = {
  message: string;
  name: string;
  stack?: string | undefined;
  code?: string | undefined;
  /** A PGlite DatabaseError, to which PGlite attaches the query and its parameters. */
  fromQuery?: boolean | undefined;
  [field: string]: string | number | boolean | undefined;
};

export type WorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: WorkerError };

/** The id of the worker's first answer: PGlite is open (or failed to open). */
export const READY_ID = 0;

const WORKER_URL = new URL('./pglite-worker.ts', import.meta.url);

type Pending = { resolve(value: unknown): void; reject(err: Error): void; sql?: string; params?: unknown[]; options?: unknown };

/** PGlite's transaction object, as far as this proxy provides it. */
export type WorkerTransaction = Pick<Transaction, 'query' | 'exec' | 'rollback' | 'closed'>;

/**
 * The proxy's own errors for a database it can no longer reach carry the SQLSTATE a driver gives a
 * lost connection: 08003 (closed) or 08006 (the worker stopped), so callers tell an outage from a bug.
 */
function connectionError(message: string, code: '08003' | '08006', cause?: Error): Error {
  return Object.assign(new Error(message, cause ? { cause } : undefined), { code });
}

/** An Error from the worker: the same message, name and PostgreSQL fields (`code` above all). */
function rebuildError(e: WorkerError, call: Pending | undefined): Error {
  const { message, name, stack, fromQuery, ...fields } = e;
  const err = Object.assign(new Error(message), fields) as Error & Record<string, unknown>;
  if (err.name !== name) Object.defineProperty(err, 'name', { value: name, configurable: true, writable: true });
  if (stack) err.stack = `${stack}\n    at <PGlite worker>`;
  if (fromQuery && call) {
    err.query = call.sql;
    err.params = call.params;
    err.queryOptions = call.options;
  }
  return err;
}

export class PGliteWorker {
  /** Resolves when PGlite is open in the worker; rejects with the reason it could not open. */
  readonly waitReady: Promise<void>;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = READY_ID + 1;
  #ready = false;
  #closing: Promise<void> | undefined;
  #closed = false;
  /** Set once the worker is gone: every call from then on fails with it. */
  #gone: Error | undefined;
  #lastError: Error | undefined;
  /** Queues callers like PGlite's transaction mutex: a transaction runs alone, start to end. */
  #tail: Promise<void> = Promise.resolve();

  /**
   * Starts the worker and opens PGlite in `dir` (in memory when undefined); await `waitReady`.
   * `workerUrl` is pglite-worker.ts unless a test stands in a worker of its own.
   */
  constructor(dir: string | undefined, workerUrl: URL = WORKER_URL) {
    this.#worker = new Worker(workerUrl, {
      workerData: { dir } satisfies WorkerData,
      name: 'pglite',
      // The worker inherits the process's Node options, but `--input-type` (`node --input-type=module
      // -e …`) applies to string input only, and V8's heap flags (`npm start` caps the young
      // generation) are refused in a worker: either would stop it from starting.
      execArgv: process.execArgv.filter((arg) => !arg.startsWith('--input-type') && !/^--max-(semi|old)-space-size/.test(arg)),
    });
    this.waitReady = new Promise<unknown>((resolve, reject) => {
      this.#pending.set(READY_ID, { resolve, reject });
    }).then(() => {
      this.#ready = true;
    });
    // create() awaits it; an instance made with `new` and never awaited must not crash the process.
    this.waitReady.catch(() => {});
    this.#worker.on('message', (reply: WorkerReply) => this.#answer(reply));
    this.#worker.on('error', (err) => {
      // An uncaught exception in the worker; 'exit' follows and fails the pending calls.
      this.#lastError = err;
    });
    this.#worker.on('messageerror', (err) => {
      // An answer that could not be deserialized. The worker answers in order, so it was the oldest call's.
      const oldest = this.#pending.keys().next();
      if (!oldest.done) this.#settle(oldest.value)?.reject(new Error(`cannot read the PGlite worker's answer: ${err.message}`));
    });
    this.#worker.on('exit', (code) => {
      const reason = this.#closing
        ? connectionError('PGlite is closed', '08003')
        : connectionError(
            `the PGlite worker stopped unexpectedly (exit code ${code})${this.#lastError ? `: ${this.#lastError.message}` : ''}`,
            '08006',
            this.#lastError,
          );
      this.#gone = reason;
      this.#closed = true;
      this.#ready = false;
      for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(reason);
    });
  }

  /** Starts a worker and waits for PGlite to open in it; stops the worker if it cannot. */
  static async create(dir: string | undefined, workerUrl?: URL): Promise<PGliteWorker> {
    const pglite = new PGliteWorker(dir, workerUrl);
    try {
      await pglite.waitReady;
    } catch (err) {
      await pglite.#worker.terminate();
      throw err;
    }
    return pglite;
  }

  get ready(): boolean {
    return this.#ready && !this.#closing && !this.#closed;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async query<T>(sql: string, params?: unknown[], options?: WorkerQueryOptions): Promise<Results<T>> {
    this.#checkOpen();
    return this.#exclusive(() => this.#query<T>(sql, params, options));
  }

  /** Runs a script of one or more statements (PostgreSQL's simple query protocol). */
  async exec(sql: string): Promise<Results[]> {
    this.#checkOpen();
    return this.#exclusive(() => this.#exec(sql));
  }

  /**
   * BEGIN, then `callback` with a transaction whose queries go to the worker, then COMMIT, or
   * ROLLBACK and rethrow when the callback throws. Like PGlite's own, other callers wait until
   * it ends, and a COMMIT that PostgreSQL turns into a ROLLBACK throws with code 25P02.
   */
  async transaction<T>(callback: (tx: WorkerTransaction) => Promise<T>): Promise<T> {
    try {
      this.#checkOpen();
    } catch (err) {
      return this.#unopened(callback, err as Error);
    }
    return this.#exclusive(async () => {
      try {
        await this.#exec('BEGIN');
      } catch (err) {
        return this.#unopened(callback, err as Error);
      }
      let closed = false;
      const open = () => {
        if (closed) throw new Error('Transaction is closed');
      };
      const tx: WorkerTransaction = {
        query: async <R>(sql: string, params?: unknown[], options?: WorkerQueryOptions) => {
          open();
          return this.#query<R>(sql, params, options);
        },
        exec: async (sql: string) => {
          open();
          return this.#exec(sql);
        },
        rollback: async () => {
          open();
          await this.#exec('ROLLBACK');
          closed = true;
        },
        get closed() {
          return closed;
        },
      };
      try {
        const result = await callback(tx);
        if (!closed) {
          closed = true;
          const [commit] = await this.#exec('COMMIT');
          if (commit?.command === 'ROLLBACK') {
            const aborted = new Error('Transaction was rolled back instead of committed') as Error & Record<string, unknown>;
            Object.assign(aborted, { severity: 'ERROR', code: '25P02', query: 'COMMIT' });
            throw aborted;
          }
        }
        return result;
      } catch (err) {
        if (!closed) {
          closed = true;
          // The callback's error is the one worth seeing; a failed ROLLBACK means the worker is gone.
          await this.#exec('ROLLBACK').catch(() => {});
        }
        throw err;
      }
    });
  }

  /**
   * A transaction that could not begin (the worker gone, the database closed) still runs its
   * callback, with a transaction whose every call fails with the reason, then fails with it too.
   * Kysely's PGlite driver waits for the callback before it runs anything: a transaction() that
   * failed without calling it left every request that writes waiting forever, and its rejection
   * unheard (which ends the process).
   */
  async #unopened<T>(callback: (tx: WorkerTransaction) => Promise<T>, reason: Error): Promise<T> {
    const tx: WorkerTransaction = {
      query: () => Promise.reject(reason),
      exec: () => Promise.reject(reason),
      rollback: async () => {},
      closed: true,
    };
    await callback(tx).catch(() => {});
    throw reason;
  }

  /** Closes PGlite once the calls already made are done, then stops the worker. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.#exclusive(() => this.#call({ id: this.#nextId++, op: 'close' }));
      } catch (err) {
        // Closing a worker that has already stopped has nothing left to do.
        if (!this.#gone) throw err;
      } finally {
        this.#closed = true;
        this.#ready = false;
        await this.#worker.terminate();
      }
    })();
    return this.#closing;
  }

  /** Calls made once close() has begun fail, as with PGlite; calls made before it still run. */
  #checkOpen(): void {
    if (this.#gone) throw this.#gone;
    if (this.#closing || this.#closed) throw connectionError('PGlite is closed', '08003');
  }

  #query<T>(sql: string, params: unknown[] | undefined, options: WorkerQueryOptions | undefined): Promise<Results<T>> {
    const crossing = options && { rowMode: options.rowMode, paramTypes: options.paramTypes };
    if (options && Object.keys(options).some((key) => key !== 'rowMode' && key !== 'paramTypes')) {
      return Promise.reject(new Error('PGlite in a worker takes only the rowMode and paramTypes query options'));
    }
    return this.#call({ id: this.#nextId++, op: 'query', sql, params, options: crossing }, params, options) as Promise<Results<T>>;
  }

  #exec(sql: string): Promise<Results[]> {
    return this.#call({ id: this.#nextId++, op: 'exec', sql }) as Promise<Results[]>;
  }

  /** Runs fn once every earlier caller is done (PGlite's transaction mutex). */
  async #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => (release = resolve));
    try {
      await previous;
      return await fn();
    } finally {
      release();
    }
  }

  #call(request: WorkerRequest, params?: unknown[], options?: unknown): Promise<unknown> {
    if (this.#gone) return Promise.reject(this.#gone);
    if (this.#closed) return Promise.reject(connectionError('PGlite is closed', '08003'));
    return new Promise((resolve, reject) => {
      const sql = request.op === 'close' ? undefined : request.sql;
      this.#pending.set(request.id, { resolve, reject, sql, params, options });
      // While a call is out the worker keeps the process alive; idle, it does not (as PGlite in-thread).
      if (this.#pending.size === 1) this.#worker.ref();
      try {
        this.#worker.postMessage(request);
      } catch (err) {
        // A parameter that cannot be cloned (a function, a class instance with private state, …).
        this.#settle(request.id)?.reject(err as Error);
      }
    });
  }

  #answer(reply: WorkerReply): void {
    const call = this.#settle(reply.id);
    if (!call) return;
    if (reply.ok) call.resolve(reply.result);
    else call.reject(rebuildError(reply.error, call));
  }

  #settle(id: number): Pending | undefined {
    const call = this.#pending.get(id);
    if (!call) return undefined;
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#worker.unref();
    return call;
  }
}
