import { configDefaults } from 'vitest/config';
import type { TestProjectInlineConfiguration } from 'vitest/config';

// Which test files run on which database. The suite has two passes, run side by side as vitest
// projects: `pglite`, on the embedded PGlite (every file), and `postgres`, when TEST_DATABASE_URL
// names a PostgreSQL server (CI sets it). The PostgreSQL pass runs only the
// files where the database can change the outcome: storage (SQL, transactions, notifications,
// migrations), and the processes and network paths that carry it. A file runs once, on PGlite,
// when what it checks is decided before or outside the store: unit tests (all of test/unit/),
// and HTTP-level tests whose assertions are about headers, routes, documents or in-memory
// limits. test/unit/test-passes.test.ts checks that every file is classified and that each file
// the PostgreSQL pass runs opens a database.

/** Globs (relative to the repository) of the files the PostgreSQL pass leaves out, with why. */
export const PGLITE_ONLY: Record<string, string> = {
  'test/unit/**': 'no database: pure functions, the CLI offline, the repository itself',
  'test/integration/pglite-worker.test.ts': "PGlite's worker thread itself",
  'test/integration/alerts-connect-guard.test.ts': 'no database: the webhook sender and a stubbed resolver',
  'test/integration/security-headers.test.ts': 'HTTP headers set by middleware',
  'test/integration/methods.test.ts': '405 and 404 from the route table',
  'test/integration/openapi.test.ts': 'the OpenAPI document against the app’s routes, and /docs',
  'test/integration/jwks.test.ts': 'the node’s keys, read from its data directory',
  'test/integration/rate-limits.test.ts': 'in-memory token buckets in front of the routes',
  'test/integration/docs-commands.test.ts':
    "the guides' shell blocks as a user types them, against a node on the embedded database; what each command does to storage is tested on both passes by its capability's own files",
  'test/browser/docs.test.ts': 'a static page (the API reference) in a browser',
  'test/browser/console.test.ts':
    "the console's pages in a browser; its routes and reads run on both passes in console-http.test.ts, the services behind them in the TAXII and alert tests",
};

/**
 * Globs of files that stand PGlite in for a PostgreSQL server only because none may be given:
 * when one is, they run on it alone, with why.
 */
export const POSTGRES_WHEN_GIVEN: Record<string, string> = {
  'test/integration/compose-walkthrough.test.ts':
    "docker-compose.yml's nodes run on PostgreSQL; on PGlite the walkthrough runs only so that npm test without a server still covers it",
};

/** Set to '1' in the PGlite pass when the PostgreSQL pass runs in the same run. */
export const POSTGRES_PASS_ENV = 'SUITE_HAS_POSTGRES_PASS';

/** The suite's projects: PGlite always, PostgreSQL when `pgUrl` is given. */
export function projects(pgUrl: string | undefined): TestProjectInlineConfiguration[] {
  return [
    // An empty TEST_DATABASE_URL is unset to the suite (test/support/node.ts reads it as a boolean).
    // SUITE_HAS_POSTGRES_PASS tells the PGlite pass that the PostgreSQL pass runs beside it
    // (test/support/property-runs.ts).
    {
      extends: true,
      test: {
        name: 'pglite',
        env: { TEST_DATABASE_URL: '', ...(pgUrl ? { [POSTGRES_PASS_ENV]: '1' } : {}) },
        ...(pgUrl ? { exclude: [...configDefaults.exclude, ...Object.keys(POSTGRES_WHEN_GIVEN)] } : {}),
      },
    },
    ...(pgUrl
      ? [
          {
            extends: true,
            test: {
              name: 'postgres',
              exclude: [...configDefaults.exclude, ...Object.keys(PGLITE_ONLY)],
              env: { TEST_DATABASE_URL: pgUrl },
            },
          },
        ]
      : []),
  ];
}

/**
 * Seconds a file took in a run of the whole suite on CI's two cores (`.ci/run` at 1408930, 495 s;
 * `postgres` where that project's run differs much), read off vitest's report; the property
 * tests' PGlite figures are for the quarter of their cases that pass runs beside PostgreSQL
 * (support/property-runs.ts). The run starts the heaviest files first (test/sequencer.ts), so
 * that no long file starts last and runs alone at the end while the other cores idle. Only the
 * order depends on these figures: a stale one costs time, never a test. Files not listed weigh
 * by their size.
 */
export const SECONDS: Record<string, { pglite: number; postgres?: number }> = {
  'test/integration/tlp-property.test.ts': { pglite: 15, postgres: 73 },
  'test/integration/docs-commands.test.ts': { pglite: 54 },
  'test/integration/faults.test.ts': { pglite: 44, postgres: 18 },
  'test/integration/feeds-tlp-property.test.ts': { pglite: 14, postgres: 22 },
  'test/integration/bench-smoke.test.ts': { pglite: 36, postgres: 42 },
  'test/integration/compose-walkthrough.test.ts': { pglite: 29 },
  'test/integration/federation-pull.test.ts': { pglite: 27, postgres: 22 },
  'test/integration/alerts-restart.test.ts': { pglite: 21 },
  'test/browser/console.test.ts': { pglite: 21 },
  'test/integration/pglite-worker.test.ts': { pglite: 21 },
  'test/integration/sightings-privacy-property.test.ts': { pglite: 8, postgres: 12 },
  'test/integration/tlp-endpoints.test.ts': { pglite: 20, postgres: 13 },
  'test/integration/cli.test.ts': { pglite: 20, postgres: 9 },
  'test/integration/cli-alerts.test.ts': { pglite: 18, postgres: 9 },
  'test/integration/fuzz.test.ts': { pglite: 18, postgres: 11 },
  'test/integration/federation-e2e.test.ts': { pglite: 17 },
  'test/integration/markings-later.test.ts': { pglite: 15, postgres: 6 },
  'test/integration/published-bundles.test.ts': { pglite: 13, postgres: 7 },
  'test/integration/alerts-trends.test.ts': { pglite: 12, postgres: 6 },
  'test/integration/feeds.test.ts': { pglite: 12 },
  'test/integration/endpoints.test.ts': { pglite: 12, postgres: 5 },
  'test/integration/latest-versions.test.ts': { pglite: 11, postgres: 6 },
  'test/integration/late-commit.test.ts': { pglite: 10 },
  'test/integration/alerts-stream.test.ts': { pglite: 10 },
  'test/integration/pagination.test.ts': { pglite: 8 },
  'test/integration/taxii-sources.test.ts': { pglite: 7 },
  'test/integration/misp-sources.test.ts': { pglite: 8 },
  'test/integration/job-resume.test.ts': { pglite: 8, postgres: 3 },
  'test/integration/sightings-federation.test.ts': { pglite: 8 },
  'test/integration/cli-submit.test.ts': { pglite: 8 },
  'test/integration/sightings-withdrawn.test.ts': { pglite: 8, postgres: 2 },
  'test/integration/feed-urls.test.ts': { pglite: 8 },
  // 11 s idle on PostgreSQL (the pool's idle timeout): started early, not last.
  'test/integration/database-pool.test.ts': { pglite: 1, postgres: 12 },
};
