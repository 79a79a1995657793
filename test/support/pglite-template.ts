import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openPGlite } from '../../src/store/database.ts';
import { migrateOrThrow } from '../../src/node.ts';
import { removeOlderThan } from './ram-tmpdir.ts';

// A fresh PGlite data directory costs 4-6 s of CPU (initdb inside WebAssembly), and the PGlite
// pass of the suite made about sixty: a third of its CPU on CI's two cores. The suite's global
// setup makes one, migrated, and the test support copies it (about 40 MB, tens of milliseconds)
// wherever a test wants a fresh PGlite database. First starts on an empty directory are still
// tested where that is the point (`vigil migrate` on a fresh directory, the docs' commands).
//
// The template outlives the run, in the temporary directory under a name that hashes everything
// it is made from (the migrations, the code that opens and migrates, PGlite's version): the next
// run on the machine copies it instead of spending the first seconds of the suite, one core
// idle, on initdb. A change to any of those inputs makes another name, so a stale one is never used.

/** Set by the global setup for the test workers and the node processes they start. */
export const TEMPLATE_ENV = 'VIGIL_TEST_PGLITE_TEMPLATE';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const TEMPLATE_PREFIX = 'vigil-pglite-template-';
/** A template of other inputs unused this long is removed (a run takes minutes; another checkout may still use its own). */
const STALE_MS = 60 * 60 * 1000;

/** The template's inputs, hashed: every migration, the store and node code that open and migrate, PGlite's version. */
function inputsHash(): string {
  const hash = createHash('sha256');
  const files = [
    ...readdirSync(path.join(ROOT, 'migrations')).map((f) => `migrations/${f}`),
    ...readdirSync(path.join(ROOT, 'src/store')).map((f) => `src/store/${f}`),
    'src/node.ts',
    'test/support/pglite-template.ts',
  ].sort();
  for (const f of files)
    hash
      .update(`${f}\0`)
      .update(readFileSync(path.join(ROOT, f)))
      .update('\0');
  hash.update(readFileSync(path.join(ROOT, 'node_modules/@electric-sql/pglite/package.json')));
  return hash.digest('hex').slice(0, 16);
}

/** Removes templates of other inputs that no run has used for a while. */
function removeStale(keep: string): void {
  removeOlderThan(tmpdir(), (entry) => entry.startsWith(TEMPLATE_PREFIX) && entry !== keep, STALE_MS);
}

/** The migrated template's data directory: the one kept from an earlier run with the same inputs, else made now. */
export async function createPGliteTemplate(): Promise<{ dir: string }> {
  const name = `${TEMPLATE_PREFIX}${inputsHash()}`;
  const root = path.join(tmpdir(), name);
  const dir = path.join(root, 'pgdata');
  removeStale(name);
  if (existsSync(dir)) {
    const now = new Date();
    utimesSync(root, now, now);
    return { dir };
  }
  // Made beside, then renamed into place: a run killed half-way, or two runs at once, never leave
  // a half-made template under the name.
  const making = mkdtempSync(path.join(tmpdir(), `${TEMPLATE_PREFIX}making-`));
  try {
    const database = await openPGlite(path.join(making, 'pgdata'));
    try {
      await migrateOrThrow(database);
    } finally {
      await database.close();
    }
    try {
      renameSync(making, root);
    } catch (err) {
      // Another run put the same template in place first.
      if (!existsSync(dir)) throw err;
    }
  } finally {
    rmSync(making, { recursive: true, force: true });
  }
  return { dir };
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

/**
 * A PGlite data directory of its own, for a test that opens PGlite itself rather than through
 * a test node: a copy of the template where there is one (else PGlite makes it at first open),
 * and its removal.
 */
export function pgliteDirectory(): { dir: string; remove(): void } {
  const root = mkdtempSync(path.join(tmpdir(), 'vigil-test-'));
  const dir = path.join(root, 'pgdata');
  seedPGlite(dir);
  return { dir, remove: () => rmSync(root, { recursive: true, force: true }) };
}
