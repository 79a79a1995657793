import { configDefaults, defineConfig } from 'vitest/config';
import { PGLITE_ONLY } from './test/passes.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The PostgreSQL pass (TEST_DATABASE_URL) runs only the files where the database matters;
    // the rest run once, on PGlite (test/passes.ts says which, and why).
    exclude: [...configDefaults.exclude, ...(process.env.TEST_DATABASE_URL ? Object.keys(PGLITE_ONLY) : [])],
    globalSetup: ['test/global-setup.ts'],
    // Tests that start PGlite processes ran 21-29 s on CI's shared cores (one CLI test passed 30 s):
    // a hang is still caught, a loaded machine no longer fails the suite.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Most files wait on child processes, PGlite's worker thread or PostgreSQL: three at once on
    // two cores took the PGlite pass from 610 s to 426 s (vitest's default here is one).
    maxWorkers: 3,
  },
});
