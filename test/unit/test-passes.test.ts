import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PGLITE_ONLY } from '../passes.ts';

// The suite's split between its two passes (test/passes.ts): no file is lost, and the PostgreSQL
// pass runs only files that open a database.

const ROOT = path.resolve(import.meta.dirname, '../..');
const FILES = readdirSync(path.join(ROOT, 'test'), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => path.posix.join('test', f.split(path.sep).join('/')))
  .sort();
const pgliteOnly = (file: string) => Object.keys(PGLITE_ONLY).some((glob) => path.matchesGlob(file, glob));
const BOTH = FILES.filter((f) => !pgliteOnly(f));

// What opens a database in a test: a node (in-process or a process), a database or schema of its
// own, or a harness that picks its database from TEST_DATABASE_URL (the bench, the Compose emulation).
const OPENS_DATABASE = /\b(startTestNode|testDatabase|testSchema|nodeProcess|openPGlite|openPostgres|onPostgres|TEST_DATABASE_URL)\b/;

describe('the two passes of the suite', () => {
  it('finds the test files', () => {
    expect(FILES.length).toBeGreaterThan(60);
    expect(FILES).toContain('test/unit/test-passes.test.ts');
  });

  it('runs every file on PGlite, and on PostgreSQL every file not listed as PGlite-only', () => {
    // The PGlite pass excludes nothing; the PostgreSQL pass excludes exactly PGLITE_ONLY.
    const union = new Set([...FILES.filter(pgliteOnly), ...BOTH]);
    expect([...union].sort()).toEqual(FILES);
    expect(BOTH.length).toBeGreaterThan(30);
  });

  it('names in PGLITE_ONLY only files that exist, each with its reason', () => {
    for (const [glob, why] of Object.entries(PGLITE_ONLY)) {
      expect(
        FILES.some((f) => path.matchesGlob(f, glob)),
        glob,
      ).toBe(true);
      expect(why.length, glob).toBeGreaterThan(10);
    }
  });

  it('runs a file on both databases only when it opens one', () => {
    const without = BOTH.filter((f) => !OPENS_DATABASE.test(readFileSync(path.join(ROOT, f), 'utf8')));
    expect(without, 'these open no database: list them in test/passes.ts PGLITE_ONLY').toEqual([]);
  });

  it('is what vitest.config.ts excludes on the PostgreSQL pass', () => {
    const config = readFileSync(path.join(ROOT, 'vitest.config.ts'), 'utf8');
    expect(config).toMatch(/process\.env\.TEST_DATABASE_URL \? Object\.keys\(PGLITE_ONLY\) : \[\]/);
  });
});
