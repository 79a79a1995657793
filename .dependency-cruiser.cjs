// The import rules of src/ (src/README.md draws the map): test/unit/architecture.test.ts runs
// these and fails on any violation not listed in .dependency-cruiser-known-violations.json.
const CORE = '^src/(config|errors|log)\\.ts$|^src/(stix|policy)/';
const STORE = '^src/store/';
const SERVICES = '^src/(services|federation|metrics)/';
const HTTP = '^src/(app\\.ts$|http/|taxii/|admin/|alerts/|console/|feeds/|sightings/)';
const CLI = '^src/(cli/|cli\\.ts$)';
const ENTRY = '^src/(main|node|bootstrap|deps)\\.ts$';
/** The APIs' request bodies as zod schemas: contracts the HTTP layer checks input with, and services take typed. */
const CONTRACTS = '^src/(admin|alerts|sightings)/schemas\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle between modules: split what both need into a module of its own.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-is-pure',
      comment: 'config, errors, log, stix/ and policy/ depend on nothing of the node: everything else may use them.',
      severity: 'error',
      from: { path: CORE },
      to: { path: [STORE, SERVICES, HTTP, CLI, ENTRY] },
    },
    {
      name: 'store-is-below-services',
      comment: 'store/ holds the SQL and knows nothing of who calls it.',
      severity: 'error',
      from: { path: STORE },
      to: { path: [SERVICES, HTTP, CLI, ENTRY] },
    },
    {
      name: 'services-are-below-http',
      comment: 'services/, federation/ and metrics/ are what HTTP, the CLI and the background jobs share: they never import an HTTP layer.',
      severity: 'error',
      from: { path: SERVICES },
      to: { path: [HTTP, CLI], pathNot: CONTRACTS },
    },
    {
      name: 'contracts-are-pure',
      comment: 'A schema of a request body depends on zod and the domain, never on HTTP, SQL or the services that take it.',
      severity: 'error',
      from: { path: CONTRACTS },
      to: { path: [STORE, HTTP, CLI, ENTRY, '^src/services/(?!alert-filter\\.ts$)'], pathNot: CONTRACTS },
    },
    {
      name: 'cli-is-a-client',
      comment: 'The vigil command talks to a node over HTTP (and runs migrations): no HTTP layer imports it.',
      severity: 'error',
      from: { path: [CORE, STORE, SERVICES, HTTP] },
      to: { path: CLI },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
