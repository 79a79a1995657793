import ipaddr from 'ipaddr.js';
import { z } from 'zod';

// The only reader of process.env: every setting is validated once, at start, then frozen.
const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

const configSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(8000),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  // Hot standbys of DATABASE_URL that serve TAXII reads (docs/operating.md, "Read replicas").
  DATABASE_READ_URL: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
    )
    .pipe(
      z
        .array(z.string().regex(/^postgres(ql)?:\/\//, 'each must be a postgres:// or postgresql:// URL'))
        .min(1)
        .max(16),
    )
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  PUBLIC_URL: z
    .url({ protocol: /^https?$/ })
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  LOG_LEVEL: z.enum(logLevels).default('info'),
  MAX_CONTENT_LENGTH: positiveInt.default(104_857_600),
  PAGE_SIZE_MAX: positiveInt.max(100_000).default(1000),
  STATUS_RETENTION_HOURS: positiveInt.default(24),
  SYNC_INGEST_MAX_OBJECTS: z.coerce.number().int().min(0).default(1000),
  WORK_LEASE_SECONDS: z.coerce.number().int().min(2).max(3600).default(120),
  // Bounds on a JSON request body, checked as it streams in (src/taxii/json-limits.ts). STIX
  // nests a handful of levels (a file's extensions: 7); PostgreSQL's parser runs out of stack
  // past a few thousand, PGlite's spins.
  JSON_MAX_DEPTH: z.coerce.number().int().min(4).max(1000).default(64),
  JSON_MAX_MEMBERS: positiveInt.max(1_000_000).default(10_000),
  JSON_MAX_STRING_BYTES: positiveInt.default(16_777_216),
  REQUEST_MAX_OBJECTS: positiveInt.default(100_000),
  // Request bodies held at once by this process (src/taxii/body.ts, BodyBudget): twice the
  // default max_content_length.
  REQUEST_BYTES_IN_FLIGHT: positiveInt.default(209_715_200),
  NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'must be 1-128 letters, digits, ".", "_", ":" or "-"')
    .optional(),
  KEY_DIR: z.string().min(1).optional(),
  KEY_ACTIVATION_DELAY_SECONDS: z.coerce.number().int().min(0).default(3600),
  KEY_RETENTION_SECONDS: z.coerce.number().int().min(0).default(604_800),
  PULL_TICK_MS: z.coerce.number().int().min(0).max(3_600_000).default(1000),
  SOURCE_ALLOW_HTTP: z.stringbool().default(false),
  ALERT_TICK_MS: z.coerce.number().int().min(0).max(60_000).default(250),
  ALERT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(12),
  ALERT_RETRY_BASE_SECONDS: z.coerce.number().min(0.01).max(3600).default(5),
  ALERT_RETRY_MAX_SECONDS: z.coerce.number().min(0.01).max(86_400).default(3600),
  ALERT_RETENTION_HOURS: positiveInt.default(168),
  ALERT_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  ALERT_WEBHOOK_ALLOW_PRIVATE: z.stringbool().default(false),
  ALERT_WEBHOOK_ALLOW_HTTP: z.stringbool().default(false),
  ALERT_WEBHOOK_HOSTS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z
          .string()
          .regex(
            /^(\*\.)?[a-z0-9.-]+$|^\[?[0-9a-f:.]+\]?$/,
            'must be a comma-separated list of host names ("*.example.org" for a domain and its subdomains) or IP addresses',
          ),
      ),
    )
    .optional(),
  TRUST_ANCHOR: z.string().min(1).optional(),
  // Sightings (docs/sightings.md): where this node is, and what the privacy rule of its aggregates asks.
  NODE_COUNTRY: z
    .string()
    .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code (FR, DE, …)')
    .transform((v) => v.toUpperCase())
    .optional(),
  NODE_SECTOR: z
    .string()
    .regex(/^[a-z][a-z-]{1,49}$/, 'must be a STIX industry sector (health-care, …) in lower case; health stands for health-care')
    .default('health'),
  SIGHTINGS_MIN_ORGS: z.coerce.number().int().min(2).max(1000).default(3),
  SIGHTINGS_PER_MINUTE: z.coerce.number().int().min(0).max(100_000).default(60),
  SIGHTINGS_TICK_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  TRUST_LIST: z.string().min(1).optional(),
  // Requests a minute (and at once) per client or peer, and per address without valid credentials; 0: no limit.
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(600),
  RATE_LIMIT_BURST: positiveInt.max(1_000_000).default(300),
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(120),
  TRUSTED_PROXIES: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z
          .string()
          .refine(
            (v) => ipaddr.isValidCIDR(v) || ipaddr.IPv4.isValidFourPartDecimal(v) || ipaddr.IPv6.isValid(v),
            'must be a comma-separated list of IP addresses or CIDR ranges (10.0.0.0/8)',
          ),
      ),
    )
    .optional(),
});

/** Every environment variable the node reads (docs/operating.md documents each). */
export const SETTINGS = Object.keys(configSchema.shape);

export type Config = Readonly<{
  host: string;
  port: number;
  databaseUrl: string | undefined;
  /** Read replicas (hot standbys of databaseUrl) for TAXII reads; empty: every read on the primary. */
  databaseReadUrls: readonly string[];
  dataDir: string;
  adminToken: string | undefined;
  /** Lets a Prometheus server read /metrics without holding the admin token. */
  metricsToken: string | undefined;
  publicUrl: string | undefined;
  logLevel: (typeof logLevels)[number];
  maxContentLength: number;
  /** Bytes of request bodies this process holds at once; one body is always taken when none is held. */
  requestBytesInFlight: number;
  pageSizeMax: number;
  statusRetentionHours: number;
  syncIngestMaxObjects: number;
  /**
   * How long a replica's claim on a queued request (between chunks) or a pull (between pages)
   * lasts: the work of a replica that died is taken over about this long after.
   */
  workLeaseSeconds: number;
  /** What a JSON request body may hold: nesting, members of an object, bytes of a string, objects of a request. */
  jsonLimits: Readonly<{ maxDepth: number; maxMembers: number; maxStringBytes: number; maxObjects: number }>;
  /** How peers name this node; unset: chosen with the first key and kept with it. */
  nodeId: string | undefined;
  keyDir: string;
  keyActivationDelaySeconds: number;
  keyRetentionSeconds: number;
  /** The federation operator's public key (a JWK file) and the signed trust list it checks. */
  trustAnchor: string | undefined;
  trustList: string | undefined;
  /** How often the puller looks for due sources; 0 turns the timer off (pulls run only on demand). */
  pullTickMs: number;
  /** TAXII sources over plain http:// to hosts other than loopback (off: https only, http on loopback). */
  sourceAllowHttp: boolean;
  /** Requests a minute and at once per principal, and a minute per address without valid credentials; 0: no limit. */
  rateLimits: Readonly<{ perMinute: number; burst: number; anonymousPerMinute: number }>;
  /** Proxies whose X-Forwarded-For names the caller's address: IP addresses and CIDR ranges. */
  trustedProxies: readonly string[];
  sightings: Readonly<{
    /** ISO 3166-1 alpha-2, upper case; unset: reports are taken and kept, no aggregate is published. */
    country: string | undefined;
    /** The STIX industry sector the node's aggregates are sighted in (health-care unless set). */
    sector: string;
    /** Distinct organisations an aggregate, and each of its updates, must rest on unless all its reporters allowed sharing. */
    minOrganisations: number;
    /** POST /sightings requests a minute per client (and at once); 0: no limit of its own. */
    perMinute: number;
    /** How often the aggregation job looks for due work besides being kicked by reports; 0 turns both off (tests drain it). */
    tickMs: number;
  }>;
  alerts: Readonly<{
    /** How often the matcher reads the outbox and the sender looks for due webhooks; 0 turns both off. */
    tickMs: number;
    /** Failed webhook attempts before an alert is dead (a dead letter, visible in the API). */
    maxAttempts: number;
    retryBaseSeconds: number;
    retryMaxSeconds: number;
    retentionHours: number;
    webhookTimeoutMs: number;
    /** Webhooks to addresses that are not public unicast: loopback, private, link-local, reserved (off: a webhook is a classic SSRF vector). */
    allowPrivate: boolean;
    /** Webhooks over plain http:// (off: https only). */
    allowHttp: boolean;
    /** When set, webhooks may only go to these hosts. */
    hosts: readonly string[] | undefined;
  }>;
}>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads the settings from an environment; an invalid one throws a ConfigError naming it. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "unset", as in most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const c = parsed.data;
  if (c.DATABASE_READ_URL && !c.DATABASE_URL) {
    throw new ConfigError(
      'invalid configuration:\n  DATABASE_READ_URL: read replicas need DATABASE_URL, the primary they replicate (the embedded database has none)',
    );
  }
  if (Boolean(c.TRUST_ANCHOR) !== Boolean(c.TRUST_LIST)) {
    throw new ConfigError(
      'invalid configuration:\n  TRUST_LIST: TRUST_LIST and TRUST_ANCHOR go together (the signed list, and the operator key that checks it)',
    );
  }
  return Object.freeze({
    host: c.HOST,
    port: c.PORT,
    databaseUrl: c.DATABASE_URL,
    databaseReadUrls: Object.freeze(c.DATABASE_READ_URL ?? []),
    dataDir: c.DATA_DIR,
    adminToken: c.ADMIN_TOKEN,
    metricsToken: c.METRICS_TOKEN,
    publicUrl: c.PUBLIC_URL,
    logLevel: c.LOG_LEVEL,
    maxContentLength: c.MAX_CONTENT_LENGTH,
    requestBytesInFlight: c.REQUEST_BYTES_IN_FLIGHT,
    pageSizeMax: c.PAGE_SIZE_MAX,
    statusRetentionHours: c.STATUS_RETENTION_HOURS,
    syncIngestMaxObjects: c.SYNC_INGEST_MAX_OBJECTS,
    workLeaseSeconds: c.WORK_LEASE_SECONDS,
    jsonLimits: Object.freeze({
      maxDepth: c.JSON_MAX_DEPTH,
      maxMembers: c.JSON_MAX_MEMBERS,
      maxStringBytes: c.JSON_MAX_STRING_BYTES,
      maxObjects: c.REQUEST_MAX_OBJECTS,
    }),
    nodeId: c.NODE_ID,
    keyDir: c.KEY_DIR ?? `${c.DATA_DIR.replace(/\/+$/, '')}/keys`,
    keyActivationDelaySeconds: c.KEY_ACTIVATION_DELAY_SECONDS,
    keyRetentionSeconds: c.KEY_RETENTION_SECONDS,
    trustAnchor: c.TRUST_ANCHOR,
    trustList: c.TRUST_LIST,
    pullTickMs: c.PULL_TICK_MS,
    sourceAllowHttp: c.SOURCE_ALLOW_HTTP,
    rateLimits: Object.freeze({
      perMinute: c.RATE_LIMIT_PER_MINUTE,
      burst: c.RATE_LIMIT_BURST,
      anonymousPerMinute: c.RATE_LIMIT_ANONYMOUS_PER_MINUTE,
    }),
    trustedProxies: Object.freeze(c.TRUSTED_PROXIES ?? []),
    sightings: Object.freeze({
      country: c.NODE_COUNTRY,
      sector: c.NODE_SECTOR === 'health' ? 'health-care' : c.NODE_SECTOR,
      minOrganisations: c.SIGHTINGS_MIN_ORGS,
      perMinute: c.SIGHTINGS_PER_MINUTE,
      tickMs: c.SIGHTINGS_TICK_MS,
    }),
    alerts: Object.freeze({
      tickMs: c.ALERT_TICK_MS,
      maxAttempts: c.ALERT_MAX_ATTEMPTS,
      retryBaseSeconds: c.ALERT_RETRY_BASE_SECONDS,
      retryMaxSeconds: c.ALERT_RETRY_MAX_SECONDS,
      retentionHours: c.ALERT_RETENTION_HOURS,
      webhookTimeoutMs: c.ALERT_WEBHOOK_TIMEOUT_MS,
      allowPrivate: c.ALERT_WEBHOOK_ALLOW_PRIVATE,
      allowHttp: c.ALERT_WEBHOOK_ALLOW_HTTP,
      hosts: c.ALERT_WEBHOOK_HOSTS,
    }),
  });
}
