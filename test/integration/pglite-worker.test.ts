import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPGlite } from '../../src/store/database.ts';
import type { Database } from '../../src/store/database.ts';
import { PGliteWorker } from '../../src/store/pglite-proxy.ts';
import { pgliteDirectory } from '../support/pglite-template.ts';

// PGlite runs in a worker thread (src/store/pglite-worker.ts), reached through PGliteWorker
// (src/store/pglite-proxy.ts). What crosses must come back as PGlite in-thread returns it,
// PostgreSQL's error codes must survive, and a heavy statement must leave the event loop free.

type DbError = Error & { code?: string; detail?: string };

/** The error a promise rejects with (the test fails if it resolves). */
async function failure(promise: Promise<unknown>): Promise<DbError> {
  try {
    await promise;
  } catch (err) {
    return err as DbError;
  }
  throw new Error('expected a rejection');
}

let inThread: PGlite;
let worker: PGliteWorker;
let database: Database;
// Each PGlite here opens a copy of the suite's migrated template: in memory, each would first run
// initdb (4-5 s of CPU). What crosses the worker does not depend on where the data lives.
const directories: { dir: string; remove(): void }[] = [];
const directory = () => {
  const d = pgliteDirectory();
  directories.push(d);
  return d.dir;
};

beforeAll(async () => {
  [inThread, worker, database] = await Promise.all([PGlite.create(directory()), PGliteWorker.create(directory()), openPGlite(directory())]);
  const ddl = `CREATE TABLE kinds (
      id int PRIMARY KEY, j jsonb, ts timestamptz, tsl timestamp, d date, n int8, b bytea, tags text[], nums int[], nothing text, f float8, ok bool
    );
    CREATE TABLE uniq (id int PRIMARY KEY, hash bytea NOT NULL UNIQUE);`;
  await Promise.all([inThread.exec(ddl), worker.exec(ddl), database.withScriptSession((s) => s.exec(ddl))]);
});

afterAll(async () => {
  await Promise.all([inThread?.close(), worker?.close(), database?.close()]);
  for (const d of directories.splice(0)) d.remove();
});

describe('values round-trip as PGlite in-thread returns them', () => {
  const insert = `INSERT INTO kinds VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`;
  const rows: unknown[][] = [
    [
      1,
      JSON.stringify({ type: 'bundle', objects: [{ id: 'x--1', n: 1.5, deep: { a: [null, true, 'é☃'] } }], empty: {} }),
      new Date('2024-02-29T12:34:56.789Z'),
      '2024-02-29 12:34:56.789',
      '2024-02-29',
      9_007_199_254_740_993n, // beyond 2^53: PGlite answers a bigint
      new Uint8Array([0, 1, 2, 253, 254, 255]),
      ['a', 'b c', '"q"', null],
      [1, null, 3],
      null,
      0.1,
      true,
    ],
    [2, { plain: 'object param' }, null, null, null, 42, Buffer.from('token-hash'), [], [], null, -0.5, false],
    [3, '[1, "two", null]', null, null, null, -1, new Uint8Array(0), null, null, null, null, null],
  ];
  const select = `SELECT *, j->'objects' AS objects, n::text AS n_text, ARRAY[j, j] AS js, '{"x": 1}'::json AS plain_json
    FROM kinds ORDER BY id`;

  it('jsonb, timestamps, dates, int8, bytea, arrays, floats, booleans and nulls', async () => {
    for (const row of rows) {
      await inThread.query(insert, row);
      await worker.query(insert, row);
    }
    const expected = await inThread.query(select, [], { rowMode: 'object' });
    const actual = await worker.query(select, [], { rowMode: 'object' });
    expect(actual.rows).toStrictEqual(expected.rows);
    expect(actual.fields).toStrictEqual(expected.fields);
    expect(actual.affectedRows).toBe(expected.affectedRows);

    const [first, second] = actual.rows as Record<string, unknown>[];
    expect(first!.j).toEqual({ type: 'bundle', objects: [{ id: 'x--1', n: 1.5, deep: { a: [null, true, 'é☃'] } }], empty: {} });
    expect(first!.ts).toBeInstanceOf(Date);
    expect((first!.ts as Date).toISOString()).toBe('2024-02-29T12:34:56.789Z');
    expect(first!.n).toBe(9_007_199_254_740_993n);
    expect(second!.n).toBe(42);
    expect(first!.b).toBeInstanceOf(Uint8Array);
    expect([...(first!.b as Uint8Array)]).toEqual([0, 1, 2, 253, 254, 255]);
    expect(first!.tags).toEqual(['a', 'b c', '"q"', null]);
    expect(first!.nothing).toBeNull();
    expect(second!.j).toEqual({ plain: 'object param' });
  });

  it('array row mode and affected rows', async () => {
    const q = `UPDATE kinds SET ok = NOT coalesce(ok, false) WHERE id >= $1 RETURNING id, ok`;
    const expected = await inThread.query(q, [2], { rowMode: 'array' });
    const actual = await worker.query(q, [2], { rowMode: 'array' });
    expect(actual).toStrictEqual(expected);
    expect(actual.affectedRows).toBe(2);
  });

  it('a multi-statement exec answers one result per statement', async () => {
    const script = `SELECT 1 AS one; SELECT 'two'::text AS two, now() AS at; CREATE TEMP TABLE scratch (x int)`;
    const expected = await inThread.exec(script);
    const actual = await worker.exec(script);
    expect(actual.map((r) => r.command)).toEqual(['SELECT', 'SELECT', 'CREATE']);
    expect(actual.map((r) => r.fields)).toEqual(expected.map((r) => r.fields));
    expect(actual[1]!.rows[0]!.at).toBeInstanceOf(Date);
  });

  it('through Kysely: a bytea token hash is found by equality', async () => {
    const hash = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
    await sql`INSERT INTO uniq VALUES (1, ${hash})`.execute(database.db);
    const found = await sql<{ id: number; hash: Uint8Array }>`SELECT id, hash FROM uniq WHERE hash = ${new Uint8Array(hash)}`.execute(
      database.db,
    );
    expect(found.rows).toHaveLength(1);
    expect(found.rows[0]!.hash).toBeInstanceOf(Uint8Array);
    expect(Buffer.compare(found.rows[0]!.hash, hash)).toBe(0);
  });
});

describe('PostgreSQL errors keep their code', () => {
  it('a unique violation is 23505, with its detail and constraint', async () => {
    const hash = Buffer.from('dup');
    await sql`INSERT INTO uniq VALUES (10, ${hash})`.execute(database.db);
    const err = await failure(sql`INSERT INTO uniq VALUES (11, ${hash})`.execute(database.db));
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: '23505', constraint: 'uniq_hash_key', severity: 'ERROR' });
    expect(err.message).toMatch(/duplicate key value violates unique constraint "uniq_hash_key"/);
    expect(err.detail).toMatch(/already exists/);
  });

  it('invalid jsonb is 22P02, with the same message as in-thread', async () => {
    const expected = await failure(inThread.query(`SELECT 'x'::jsonb`));
    const direct = await failure(worker.query(`SELECT 'x'::jsonb`));
    const viaKysely = await failure(sql`SELECT ${'{"objects": [1,'}::jsonb`.execute(database.db));
    expect(direct).toBeInstanceOf(Error);
    expect(direct).toMatchObject({ code: '22P02', message: expected.message, name: expected.name, query: `SELECT 'x'::jsonb` });
    expect(viaKysely).toMatchObject({ code: '22P02' });
    expect(viaKysely.message).toMatch(/invalid input syntax for type json/);
  });

  it('an error in a script passed to exec keeps its code too', async () => {
    const err = await failure(database.withScriptSession((s) => s.exec('SELECT 1; SELECT * FROM no_such_table')));
    expect(err).toMatchObject({ code: '42P01' });
  });
});

describe('transactions', () => {
  it('a transaction that throws is rolled back, and the session is usable after it', async () => {
    const boom = new Error('boom');
    const err = await worker
      .transaction(async (tx) => {
        await tx.query(`INSERT INTO uniq VALUES (20, '\\x20')`);
        expect((await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM uniq WHERE id = 20`)).rows[0]!.n).toBe(1);
        throw boom;
      })
      .catch((e: unknown) => e);
    expect(err).toBe(boom);
    expect((await worker.query<{ n: number }>(`SELECT count(*)::int AS n FROM uniq WHERE id = 20`)).rows[0]!.n).toBe(0);
    // Not left inside a transaction: this one commits for real.
    await worker.transaction(async (tx) => void (await tx.query(`INSERT INTO uniq VALUES (21, '\\x21')`)));
    expect((await worker.query<{ n: number }>(`SELECT count(*)::int AS n FROM uniq WHERE id = 21`)).rows[0]!.n).toBe(1);
  });

  it('a Kysely transaction that throws is rolled back', async () => {
    const err = await database.db
      .transaction()
      .execute(async (tx) => {
        await sql`INSERT INTO uniq VALUES (30, ${Buffer.from('thirty')})`.execute(tx);
        await sql`INSERT INTO uniq VALUES (31, ${Buffer.from('thirty')})`.execute(tx);
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '23505' });
    const left = await sql<{ n: number }>`SELECT count(*)::int AS n FROM uniq WHERE id IN (30, 31)`.execute(database.db);
    expect(left.rows[0]!.n).toBe(0);
  });

  it('a COMMIT that PostgreSQL turns into ROLLBACK throws 25P02, as in-thread', async () => {
    const aborted = async (db: PGlite | PGliteWorker) =>
      failure(
        db.transaction(async (tx) => {
          await tx.query(`INSERT INTO kinds (id) VALUES (40)`);
          await tx.query(`SELECT 1 / 0`).catch(() => {});
        }),
      );
    const expected = await aborted(inThread);
    const actual = await aborted(worker);
    expect(expected).toMatchObject({ code: '25P02' });
    expect(actual).toMatchObject({ code: '25P02', message: expected.message });
    expect((await worker.query(`SELECT 1 FROM kinds WHERE id = 40`)).rows).toHaveLength(0);
  });

  it('other callers wait for a transaction to end, never run inside it', async () => {
    let inside!: () => void;
    const started = new Promise<void>((resolve) => (inside = resolve));
    const tx = worker
      .transaction(async (t) => {
        await t.query(`INSERT INTO kinds (id) VALUES (50)`);
        inside();
        await new Promise((resolve) => setTimeout(resolve, 100));
        throw new Error('roll it back');
      })
      .catch((e: unknown) => e);
    await started;
    const seen = await worker.query<{ n: number }>(`SELECT count(*)::int AS n FROM kinds WHERE id = 50`);
    expect(await tx).toMatchObject({ message: 'roll it back' });
    expect(seen.rows[0]!.n).toBe(0);
  });
});

describe('the event loop while the worker is busy', () => {
  /** Runs one statement while a 10 ms interval ticks; the ticks that arrived before it answered. */
  async function ticksDuring(run: () => Promise<unknown>): Promise<{ ms: number; ticks: number }> {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const start = performance.now();
    try {
      await run();
    } finally {
      clearInterval(timer);
    }
    return { ms: performance.now() - start, ticks };
  }

  it('keeps ticking through a statement that takes over half a second', async () => {
    // Grow the statement until it takes long enough to mean something on this machine.
    let rows = 3_000_000;
    let m = await ticksDuring(() => worker.query(`SELECT count(*) FROM generate_series(1, ${rows})`));
    while (m.ms < 500 && rows < 200_000_000) {
      rows *= 4;
      m = await ticksDuring(() => worker.query(`SELECT count(*) FROM generate_series(1, ${rows})`));
    }
    expect(m.ms).toBeGreaterThanOrEqual(500);
    expect(m.ticks).toBeGreaterThanOrEqual(3);
  });

  it('keeps ticking while a ~20 MB jsonb body is parsed', async () => {
    const objects = Array.from({ length: 60_000 }, (_, i) => ({
      type: 'indicator',
      id: `indicator--${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`,
      description: 'x'.repeat(250),
      labels: ['malicious-activity'],
    }));
    const body = JSON.stringify({ type: 'bundle', objects });
    expect(body.length).toBeGreaterThan(18_000_000);
    let answer: unknown;
    const m = await ticksDuring(async () => {
      answer = await sql<{ n: number }>`SELECT jsonb_array_length(${body}::jsonb -> 'objects') AS n`.execute(database.db);
    });
    expect((answer as { rows: { n: number }[] }).rows[0]!.n).toBe(60_000);
    if (m.ms >= 500) expect(m.ticks).toBeGreaterThanOrEqual(3);
  });
});

describe('the worker itself', () => {
  it('a worker that dies fails the pending call and every call after it, with a clear error', async () => {
    // A stand-in worker that says it is ready, then exits on the first call without answering.
    const code = `import { parentPort } from 'node:worker_threads';
      parentPort.postMessage({ id: 0, ok: true, result: null });
      parentPort.on('message', () => process.exit(7));`;
    const doomed = await PGliteWorker.create(undefined, new URL(`data:text/javascript,${encodeURIComponent(code)}`));
    await expect(doomed.query('SELECT 1')).rejects.toThrow(/PGlite worker stopped unexpectedly \(exit code 7\)/);
    expect(doomed.closed).toBe(true);
    await expect(doomed.query('SELECT 1')).rejects.toThrow(/stopped unexpectedly/);
    await expect(doomed.transaction(async () => 1)).rejects.toThrow(/stopped unexpectedly/);
    await doomed.close(); // nothing left to close: resolves
  });

  it('a worker that dies fails a Kysely transaction at once, begun before or after, and ends nothing else', async () => {
    // Kysely's PGlite driver waits for the transaction's callback before anything else: a
    // transaction that could not begin must still call it, or the caller waits forever.
    const code = `import { parentPort } from 'node:worker_threads';
      parentPort.postMessage({ id: 0, ok: true, result: null });
      parentPort.on('message', () => process.exit(9));`;
    const doomed = await openPGlite(undefined, { workerUrl: new URL(`data:text/javascript,${encodeURIComponent(code)}`) });
    const unheard: unknown[] = [];
    const listen = (reason: unknown) => void unheard.push(reason);
    process.on('unhandledRejection', listen);
    try {
      const deadline = <T>(p: Promise<T>) =>
        Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the transaction hung')), 5000))]);
      // The BEGIN is the call the worker dies on; then the worker is gone before BEGIN.
      for (let i = 0; i < 2; i++) {
        await expect(deadline(doomed.db.transaction().execute((tx) => sql`SELECT 1`.execute(tx)))).rejects.toThrow(
          /PGlite worker stopped unexpectedly \(exit code 9\)/,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unheard).toEqual([]);
    } finally {
      process.off('unhandledRejection', listen);
      await doomed.close();
    }
  });

  it('a worker that fails to open PGlite rejects create()', async () => {
    const code = `import { parentPort } from 'node:worker_threads';
      parentPort.postMessage({ id: 0, ok: false, error: { message: 'no such data directory', name: 'Error', code: 'ENOENT' } });`;
    await expect(PGliteWorker.create(undefined, new URL(`data:text/javascript,${encodeURIComponent(code)}`))).rejects.toMatchObject({
      message: 'no such data directory',
      code: 'ENOENT',
    });
  });

  it('after close(), calls fail and the instance says it is closed', async () => {
    const pglite = await PGliteWorker.create(directory());
    const before = pglite.query<{ one: number }>('SELECT 1 AS one'); // made before close(): still answered
    const closing = pglite.close();
    expect((await before).rows).toEqual([{ one: 1 }]);
    await closing;
    expect(pglite.closed).toBe(true);
    expect(pglite.ready).toBe(false);
    await expect(pglite.query('SELECT 1')).rejects.toThrow('PGlite is closed');
  });

  it('an idle worker does not keep a process alive that never closes its database', async () => {
    const database = new URL('../../src/store/database.ts', import.meta.url).href;
    const script = `const { openPGlite } = await import(${JSON.stringify(database)});
      const d = await openPGlite(${JSON.stringify(directory())});
      const r = await d.withScriptSession((s) => s.query('SELECT 41 + 1 AS answer'));
      console.log(JSON.stringify(r));`;
    const r = await runNode(script);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('[{"answer":42}]');
  }, 120_000); // a hang fails at 90 s; a loaded machine, not before
});

/** Runs `script` (an ES module) in a Node process of its own: its exit code, stdout and stderr. */
function runNode(script: string, flags: string[] = []): Promise<{ code: number | string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...flags, '--input-type=module', '-e', script], { timeout: 90_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (err.code ?? err.signal ?? -1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

describe('memory', () => {
  it('runs with 32 MB of shared buffers, not the 128 MB initdb sets: WebAssembly memory is never given back', async () => {
    const res = await worker.query<{ shared_buffers: string }>('SHOW shared_buffers');
    expect(res.rows[0]?.shared_buffers).toBe('32MB');
  });

  it('makes a fresh data folder in a process of its own: initdb leaves none of its gigabyte in the node', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'vigil-fresh-'));
    try {
      const database = new URL('../../src/store/database.ts', import.meta.url).href;
      const r = await runNode(`const { openPGlite } = await import(${JSON.stringify(database)});
        const d = await openPGlite(${JSON.stringify(path.join(root, 'pgdata'))});
        await d.withScriptSession((s) => s.query('SELECT 1'));
        console.log(Math.round(process.memoryUsage().rss / 1048576));
        await d.close();`);
      expect(r.code, r.stderr).toBe(0);
      // Measured: 320-330 MB; 730 MB with initdb run in the node's own PGlite worker.
      expect(Number(r.stdout.trim())).toBeLessThan(500);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 120_000);

  it("takes a request body of 40 MB as bytea under npm start's heap limit (an ATT&CK bundle is about that size)", async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
    const flags = pkg.scripts.start.split(' ').filter((word) => word.startsWith('--'));
    expect(flags.join(' ')).toMatch(/--max-old-space-size=/);
    const database = new URL('../../src/store/database.ts', import.meta.url).href;
    const r = await runNode(
      `const { sql } = await import('kysely');
      const { openPGlite } = await import(${JSON.stringify(database)});
      const d = await openPGlite(${JSON.stringify(directory())});
      const body = new Uint8Array(40_000_000).fill(0x41);
      const r = await sql\`SELECT length(\${body}::bytea) AS n, md5(\${body}::bytea) = md5(repeat('A', 40000000)::bytea) AS same\`.execute(d.db);
      console.log(JSON.stringify(r.rows));
      await d.close();`,
      flags,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('[{"n":40000000,"same":true}]');
  }, 120_000);

  it('names the data folder it cannot make', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'vigil-fresh-'));
    try {
      writeFileSync(path.join(root, 'pgdata'), '');
      await expect(openPGlite(path.join(root, 'pgdata'))).rejects.toThrow(
        `PGlite's data folder ${path.join(root, 'pgdata')} is a file, not a folder`,
      );
      mkdirSync(path.join(root, 'other'));
      writeFileSync(path.join(root, 'other', 'base'), '');
      await expect(openPGlite(path.join(root, 'other'))).rejects.toThrow(
        `PGlite could not make its data folder ${path.join(root, 'other')}: `,
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 120_000);
});
