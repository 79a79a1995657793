// Which test files run on which pass of the suite. CI runs it twice: on the embedded PGlite
// (every file), then on PostgreSQL (TEST_DATABASE_URL set). The PostgreSQL pass runs only the
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
