/**
 * Makes a fresh PGlite data folder (PGlite's initdb), then exits: run as a process of its own by
 * openPGlite (database.ts), which says why. Usage: `node pglite-initdb.ts <folder>`. On failure
 * its last line on stderr says why, for the node to report.
 * Node strips the types of this file itself, so it must stay erasable TypeScript.
 */
import { PGlite } from '@electric-sql/pglite';

const folder = process.argv[2];
try {
  if (!folder) throw new Error('usage: node pglite-initdb.ts <folder>');
  const pglite = await PGlite.create(folder);
  await pglite.close();
} catch (err) {
  // PGlite's file system errors are plain objects ({ name: 'ErrnoError', errno }), not Errors.
  process.stderr.write(`\n${err instanceof Error ? err.message : JSON.stringify(err)}\n`);
  process.exitCode = 1;
}
