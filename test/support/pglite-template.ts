import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openPGlite } from '../../src/store/database.ts';
import { migrateOrThrow } from '../../src/node.ts';

// A fresh PGlite data directory costs 4-6 s of CPU (initdb inside WebAssembly), and the PGlite
// pass of the suite made about sixty: a third of its CPU on CI's two cores. The suite's global
// setup makes one, migrated, and the test support copies it (about 40 MB, tens of milliseconds)
// wherever a test wants a fresh PGlite database. First starts on an empty directory are still
// tested where that is the point (`vigil migrate` on a fresh directory, the docs' commands).

/** Set by the global setup for the test workers and the node processes they start. */
export const TEMPLATE_ENV = 'VIGIL_TEST_PGLITE_TEMPLATE';

/** Makes the migrated template; returns its directory and a function that removes it. */
export async function createPGliteTemplate(): Promise<{ dir: string; remove(): void }> {
  const root = mkdtempSync(path.join(tmpdir(), 'vigil-pglite-template-'));
  const dir = path.join(root, 'pgdata');
  const database = await openPGlite(dir);
  try {
    await migrateOrThrow(database);
  } finally {
    await database.close();
  }
  return { dir, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * Fills `dir` (a PGlite data directory not made yet) with a copy of the template, where the
 * global setup made one; otherwise leaves it for PGlite to create.
 */
export function seedPGlite(dir: string): void {
  const template = process.env[TEMPLATE_ENV];
  if (!template || existsSync(dir)) return;
  mkdirSync(path.dirname(dir), { recursive: true });
  cpSync(template, dir, { recursive: true });
}
