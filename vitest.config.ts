import { defineConfig } from 'vitest/config';
import { projects } from './test/passes.ts';
import { HeaviestFirst } from './test/sequencer.ts';

// Two projects, run side by side in one pool (test/passes.ts): every file on the embedded
// PGlite, and, when TEST_DATABASE_URL names a PostgreSQL server, the files where the database
// matters on it too. One run rather than two passes: neither ends with one long file running
// alone while the other core idles.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Tests that start PGlite processes ran 21-29 s on CI's shared cores (one CLI test passed 30 s):
    // a hang is still caught, a loaded machine no longer fails the suite.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Most files wait on child processes, PGlite's worker thread or PostgreSQL: three at once on
    // two cores took the PGlite pass from 610 s to 426 s (vitest's default here is one).
    maxWorkers: 3,
    sequence: { sequencer: HeaviestFirst },
    projects: projects(process.env.TEST_DATABASE_URL),
  },
});
