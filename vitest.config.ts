import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Most files wait on child processes, PGlite's worker thread or PostgreSQL: three at once on
    // two cores took the PGlite pass from 610 s to 426 s (vitest's default here is one).
    maxWorkers: 3,
  },
});
