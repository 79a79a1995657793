import { parseArgs } from 'node:util';

export type Sizes = {
  /** Objects in the large collection for the head poll, growth and TLP (issue 6: 1,000,000). */
  objects: number;
  /** Objects in it when the full read pages through it (issue 6: 200,000; at most `objects`). */
  readObjects: number;
  /** The small size the growth scenario compares with. */
  growthBase: number;
  envelopes: number;
  perEnvelope: number;
  ingestClients: number;
  pollClients: number;
  pollSeconds: number;
  /** SIEM polls, open loop: the rates tried (requests/s, increasing) and seconds at each. */
  siemRates: number[];
  siemSeconds: number;
  bundleObjects: number;
  /** Characters of description per indicator in the bundle: about 40 MB at 25,000 objects. */
  bundlePad: number;
  pageLimit: number;
  /** Early warning: webhook subscriptions in all (over `alertClients` clients), how many match, indicators posted. */
  alertSubscriptions: number;
  alertClients: number;
  alertMatching: number;
  alertIndicators: number;
  /** Federation: objects a peer catches up on, its pull interval, objects timed one by one. */
  federationObjects: number;
  /** The large catch-up (issue 17: 1,000,000 objects, under 2 minutes); PostgreSQL only, 0 for none. */
  federationLargeObjects: number;
  /** Objects for the SIEM polls with a read replica, on a pair started for it; PostgreSQL only, 0 for none. */
  replicaObjects: number;
  federationInterval: number;
  federationProbes: number;
  /** Lines of the firewall feed served in one poll (issue 18: 1,000,000). */
  feedLines: number;
  /** Sighting reports by POST /sightings (issue 19: 1,000,000), on indicators stored first, from clients of organisations. */
  sightingReports: number;
  sightingIndicators: number;
  sightingClients: number;
  sightingOrganisations: number;
  sightingConnections: number;
  /** Reports a POST /sightings carries in the row that times the whole path. */
  sightingBatch: number;
  /** POST /sightings, open loop: the rates tried (reports/s, increasing) and seconds at each. */
  sightingRates: number[];
  sightingSeconds: number;
  /** GET /trends, open loop: its fixed rate and seconds per window. */
  trendsRate: number;
  trendsSeconds: number;
};

/** Parts of a run: the suite on each database, the read-replica polls, federation, sightings. */
// `bundle`: the suite's large-bundle rows alone (within `suite` otherwise).
export const PARTS = ['suite', 'replica', 'federation', 'sightings', 'bundle'] as const;
export type Part = (typeof PARTS)[number];

export type Options = {
  smoke: boolean;
  out: string;
  /** The parts to run (`--only sightings,federation`); every part unless given. */
  parts: Part[];
  databases: { kind: 'postgres' | 'pglite'; url?: string; sizes: Sizes }[];
};

const FULL: Sizes = {
  objects: 1_000_000,
  readObjects: 200_000,
  growthBase: 10_000,
  envelopes: 20,
  perEnvelope: 1000,
  ingestClients: 4,
  pollClients: 50,
  pollSeconds: 10,
  // 2,000 is the target for polls that find nothing: tried as a rate of its own, not skipped from 1,600 to 2,400.
  siemRates: [100, 200, 400, 800, 1600, 2000, 2400, 3200],
  siemSeconds: 5,
  bundleObjects: 25_000,
  bundlePad: 1250,
  pageLimit: 1000,
  alertSubscriptions: 1000,
  alertClients: 100,
  alertMatching: 20,
  alertIndicators: 20,
  federationObjects: 100_000,
  federationLargeObjects: 1_000_000,
  replicaObjects: 100_000,
  federationInterval: 5,
  federationProbes: 5,
  feedLines: 1_000_000,
  sightingReports: 1_000_000,
  sightingIndicators: 10_000,
  sightingClients: 300,
  sightingOrganisations: 100,
  sightingConnections: 16,
  sightingBatch: 100,
  sightingRates: [100, 200, 400, 800, 1600],
  sightingSeconds: 5,
  trendsRate: 10,
  trendsSeconds: 10,
};
const PGLITE: Partial<Sizes> = {
  objects: 20_000,
  readObjects: 20_000,
  envelopes: 8,
  bundleObjects: 5000,
  pollSeconds: 5,
  federationObjects: 10_000,
  feedLines: 200_000,
  sightingReports: 20_000,
};
const SMOKE: Sizes = {
  objects: 600,
  readObjects: 600,
  growthBase: 300,
  envelopes: 4,
  perEnvelope: 50,
  ingestClients: 2,
  pollClients: 4,
  pollSeconds: 0.5,
  siemRates: [20, 40],
  siemSeconds: 0.3,
  bundleObjects: 200,
  bundlePad: 200,
  pageLimit: 100,
  alertSubscriptions: 20,
  alertClients: 4,
  alertMatching: 2,
  alertIndicators: 2,
  federationObjects: 200,
  federationLargeObjects: 0,
  replicaObjects: 600,
  federationInterval: 1,
  federationProbes: 1,
  feedLines: 2_000,
  sightingReports: 24,
  sightingIndicators: 5,
  sightingClients: 6,
  sightingOrganisations: 4,
  sightingConnections: 4,
  sightingBatch: 4,
  sightingRates: [20],
  sightingSeconds: 0.2,
  trendsRate: 20,
  trendsSeconds: 0.1,
};

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/vigil_ci';

/**
 * `npm run bench -- --objects 200000 --read-objects 100000`: PostgreSQL at BENCH_DATABASE_URL and PGlite, full sizes.
 * `--smoke`: tiny sizes, on PostgreSQL when TEST_DATABASE_URL is set, else on PGlite.
 * `--only sightings` (or a comma list of PARTS): only those parts.
 */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      smoke: { type: 'boolean', default: false },
      out: { type: 'string', default: 'test/bench/results/latest.json' },
      db: { type: 'string' },
      objects: { type: 'string' },
      'read-objects': { type: 'string' },
      'growth-base': { type: 'string' },
      envelopes: { type: 'string' },
      'poll-seconds': { type: 'string' },
      'poll-clients': { type: 'string' },
      'siem-seconds': { type: 'string' },
      'bundle-objects': { type: 'string' },
      'pglite-objects': { type: 'string' },
      'alert-subscriptions': { type: 'string' },
      'federation-objects': { type: 'string' },
      'federation-large-objects': { type: 'string' },
      'replica-objects': { type: 'string' },
      'feed-lines': { type: 'string' },
      sightings: { type: 'string' },
      'sighting-indicators': { type: 'string' },
      'sighting-batch': { type: 'string' },
      only: { type: 'string' },
    },
  });
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v.replaceAll('_', '')));
  const given = Object.fromEntries(
    Object.entries({
      objects: num(values.objects),
      readObjects: num(values['read-objects']),
      growthBase: num(values['growth-base']),
      envelopes: num(values.envelopes),
      pollSeconds: num(values['poll-seconds']),
      pollClients: num(values['poll-clients']),
      siemSeconds: num(values['siem-seconds']),
      bundleObjects: num(values['bundle-objects']),
      alertSubscriptions: num(values['alert-subscriptions']),
      federationObjects: num(values['federation-objects']),
      federationLargeObjects: num(values['federation-large-objects']),
      replicaObjects: num(values['replica-objects']),
      feedLines: num(values['feed-lines']),
      sightingReports: num(values.sightings),
      sightingIndicators: num(values['sighting-indicators']),
      sightingBatch: num(values['sighting-batch']),
    }).filter(([, v]) => v !== undefined),
  ) as Partial<Sizes>;
  const parts = values.only === undefined ? [...PARTS] : values.only.split(',').map((p) => p.trim());
  for (const p of parts) if (!PARTS.includes(p as Part)) throw new Error(`--only: ${p} is none of ${PARTS.join(', ')}`);
  if (values.smoke) {
    const url = env.TEST_DATABASE_URL;
    const sizes = { ...SMOKE, ...given };
    return {
      smoke: true,
      out: values.out!,
      parts: parts as Part[],
      databases: [url ? { kind: 'postgres', url, sizes } : { kind: 'pglite', sizes }],
    };
  }
  const full = { ...FULL, ...given };
  const pgliteObjects = num(values['pglite-objects']);
  const pglite = { ...full, ...PGLITE, ...(pgliteObjects ? { objects: pgliteObjects, readObjects: pgliteObjects } : {}) };
  const all = [
    { kind: 'postgres' as const, url: env.BENCH_DATABASE_URL || DEFAULT_URL, sizes: full },
    { kind: 'pglite' as const, sizes: pglite },
  ];
  return { smoke: false, out: values.out!, parts: parts as Part[], databases: values.db ? all.filter((d) => d.kind === values.db) : all };
}
