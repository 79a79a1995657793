import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PGLITE_ONLY, POSTGRES_PASS_ENV, POSTGRES_WHEN_GIVEN, projects, SECONDS } from '../passes.ts';

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

  it('is what the PostgreSQL project excludes, and that project runs only with TEST_DATABASE_URL', () => {
    const names = (url: string | undefined) => projects(url).map((p) => p.test?.name);
    expect(names(undefined)).toEqual(['pglite']);
    expect(names('postgres://db.example/test')).toEqual(['pglite', 'postgres']);
    expect(projects(undefined)[0]?.test?.exclude).toBeUndefined();
    const [pglite, postgres] = projects('postgres://db.example/test');
    // With a server, a file that stands PGlite in for PostgreSQL runs on PostgreSQL only.
    expect(pglite?.test?.exclude).toEqual(expect.arrayContaining(Object.keys(POSTGRES_WHEN_GIVEN)));
    for (const glob of Object.keys(POSTGRES_WHEN_GIVEN)) expect(postgres?.test?.exclude).not.toContain(glob);
    // The PGlite pass knows the PostgreSQL pass runs beside it (property tests run fewer cases there).
    expect(pglite?.test?.env).toEqual({ TEST_DATABASE_URL: '', [POSTGRES_PASS_ENV]: '1' });
    expect(projects(undefined)[0]?.test?.env).toEqual({ TEST_DATABASE_URL: '' });
    expect(postgres?.test?.env).toEqual({ TEST_DATABASE_URL: 'postgres://db.example/test' });
    for (const glob of Object.keys(PGLITE_ONLY)) expect(postgres?.test?.exclude).toContain(glob);
  });

  it('names in POSTGRES_WHEN_GIVEN only files that exist and run on PostgreSQL, each with its reason', () => {
    for (const [glob, why] of Object.entries(POSTGRES_WHEN_GIVEN)) {
      expect(BOTH.filter((f) => path.matchesGlob(f, glob)).length, glob).toBeGreaterThan(0);
      expect(why.length, glob).toBeGreaterThan(10);
    }
  });

  it('weighs only files that exist, for the order of the run', () => {
    for (const file of Object.keys(SECONDS)) expect(FILES, file).toContain(file);
  });
});
