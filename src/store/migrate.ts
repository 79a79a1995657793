import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

export type MigrationResult = { applied: string[]; error?: { migration: string; message: string } };

/**
 * Applies the numbered SQL files not applied yet, each in its own transaction, under an
 * advisory lock so that replicas starting together apply each file once. Forward-only.
 */
export async function migrate(database: Database, dir = MIGRATIONS_DIR): Promise<MigrationResult> {
  const files = await migrationFiles(dir);
  return database.withScriptSession(async (session) => {
    await session.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set((await session.query<{ name: string }>('SELECT name FROM schema_migrations')).map((r) => r.name));
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      const script = await readFile(new URL(file, `file://${dir}/`), 'utf8');
      try {
        await session.exec(`BEGIN;\n${script}\n;INSERT INTO schema_migrations (name) VALUES ('${file}');\nCOMMIT;`);
      } catch (err) {
        await session.exec('ROLLBACK').catch(() => {});
        return { applied, error: { migration: file, message: (err as Error).message } };
      }
      applied.push(file);
    }
    return { applied };
  });
}

/** The numbered SQL files of this release, in order. */
export async function migrationFiles(dir = MIGRATIONS_DIR): Promise<string[]> {
  return (await readdir(dir)).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort();
}

/**
 * The files of `files` (migrationFiles, read once at start) not applied to the database yet: all
 * of them before the first migration. A database that cannot answer throws, for /readyz to say so.
 */
export async function pendingMigrations(database: Database, files: readonly string[]): Promise<string[]> {
  let rows: { name: string }[];
  try {
    rows = (await database.db
      .selectFrom('schema_migrations' as never)
      .select('name' as never)
      .execute()) as { name: string }[];
  } catch (err) {
    // 42P01 undefined_table: no migration has run on this database.
    if ((err as { code?: unknown }).code === '42P01') return [...files];
    throw err;
  }
  const done = new Set(rows.map((r) => r.name));
  return files.filter((f) => !done.has(f));
}
