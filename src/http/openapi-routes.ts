import { z } from 'zod';
import * as admin from '../admin/schemas.ts';
import { sourceResource } from '../admin/source-resource.ts';
import * as alerts from '../alerts/schemas.ts';
import * as sightings from '../sightings/schemas.ts';
import { streamQuery } from '../alerts/stream.ts';
import { RESPONSE_SIGNATURE_HEADER } from '../federation/response-signature.ts';
import { DELETE_PARAMS, OBJECTS_PARAMS, OBJECT_PARAMS, VERSIONS_PARAMS, params as taxiiParams } from '../taxii/query.ts';
import { STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE } from '../taxii/media.ts';
import { taxiiResources } from '../taxii/resources.ts';
import { feedIndexQuery } from '../feeds/routes.ts';
import { FEED_KINDS } from '../stix/feed-values.ts';
import type { FeedKind } from '../stix/feed-values.ts';

// Every route of the node's APIs, declared once for the OpenAPI document (openapi.ts). The schemas
// are the ones the routes validate with; test/integration/openapi.test.ts fails when a route of
// the app is missing here, or when a route here is not in the app.

/** The named schemas of components.schemas; operations name them. */
export const componentSchemas = {
  TaxiiError: taxiiResources.error,
  Discovery: taxiiResources.discovery,
  ApiRoot: taxiiResources['api-root'],
  Collections: taxiiResources.collections,
  Collection: taxiiResources.collection,
  Manifest: taxiiResources.manifest,
  Envelope: taxiiResources.envelope,
  Versions: taxiiResources.versions,
  Status: taxiiResources.status,
  // POST objects also takes a bundle (services/ingest.ts checks `type`); its objects are the envelope's.
  StixBundle: z.looseObject({ type: z.literal('bundle'), id: z.string().optional(), objects: taxiiResources.envelope.shape.objects }),
  CreateApiRoot: admin.createApiRootBody,
  UpdateApiRoot: admin.updateApiRootBody,
  CreateCollection: admin.createCollectionBody,
  UpdateCollection: admin.updateCollectionBody,
  CreateClient: admin.createClientBody,
  UpdateClient: admin.updateClientBody,
  PutGrant: admin.putGrantBody,
  PeerIdentity: admin.peerIdentityBody,
  CreateSource: admin.createSourceBody,
  Source: sourceResource,
  Sources: z.object({ sources: z.array(sourceResource) }),
  CreateAlertSubscription: alerts.createAlertSubscriptionBody,
  UpdateAlertSubscription: alerts.updateAlertSubscriptionBody,
  Jwks: z.strictObject({ keys: z.array(admin.publicJwk) }),
  ReportSightings: sightings.reportSightingsDoc,
} satisfies Record<string, z.ZodType>;

export type SchemaName = keyof typeof componentSchemas;
export type Security = 'bearer' | 'basic' | 'vigilProof' | 'feedToken' | 'anonymous';
export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export type Operation = {
  method: Method;
  /** OpenAPI form: `{id}` for Hono's `:id`. */
  path: string;
  tag: 'TAXII' | 'Admin' | 'Alerts' | 'Sightings' | 'Feeds' | 'Operations';
  summary: string;
  description?: string;
  /** Kept for one release under an old name; `description` names the new one. */
  deprecated?: boolean;
  query?: Record<string, z.ZodType>;
  /** Media type → schema. */
  body?: Partial<Record<string, SchemaName>>;
  response: { status: number; description: string; media?: string; schema?: SchemaName; headers?: string[] };
  /** Answers other than the success and the errors: 304 to a conditional GET. */
  notModified?: boolean;
  errors: number[];
  security: readonly Security[];
};

const uuid = (what: string) => z.uuid().describe(what);

/** Path parameters by name, wherever they appear. */
export const pathParams: Record<string, z.ZodType> = {
  root: admin.apiRootName.describe('API root name'),
  name: admin.apiRootName.describe('API root name'),
  id: uuid('The id of the resource the path names (collection, client, source, subscription or status)'),
  objectId: z.string().min(1).describe('STIX identifier, e.g. indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f'),
  clientId: uuid('Client id'),
  collectionId: uuid('Collection id'),
  alertId: uuid('Alert id'),
  collection: uuid('Collection id'),
};

const pick = (names: readonly (keyof typeof taxiiParams.shape)[]) => Object.fromEntries(names.map((n) => [n, taxiiParams.shape[n]]));

// TAXII GETs serve public collections to anonymous callers; peers pull with a proof.
const TAXII_READ: readonly Security[] = ['bearer', 'basic', 'vigilProof', 'anonymous'];
const TAXII_AUTH: readonly Security[] = ['bearer', 'basic', 'vigilProof'];
const TOKEN: readonly Security[] = ['bearer', 'basic'];
const NONE: readonly Security[] = [];

const READ_ERRORS = [400, 401, 403, 404, 406];
const PAGE_HEADERS = ['X-TAXII-Date-Added-First', 'X-TAXII-Date-Added-Last', RESPONSE_SIGNATURE_HEADER];

function taxii(method: Method, path: string, summary: string, response: Operation['response'], more: Partial<Operation> = {}): Operation {
  return {
    method,
    path,
    tag: 'TAXII',
    summary,
    response: { media: TAXII_MEDIA_TYPE, ...response },
    errors: READ_ERRORS,
    security: TAXII_READ,
    ...more,
  };
}

const json = (description: string, status = 200) => ({ status, description, media: 'application/json' });
const noContent = { status: 204, description: 'Done' };

function adminOp(method: Method, path: string, summary: string, more: Partial<Operation> = {}): Operation {
  const errors = method === 'get' ? [401, 403, 404] : [400, 401, 403, 404, 409];
  return { method, path: `/admin${path}`, tag: 'Admin', summary, response: json(summary), errors, security: TOKEN, ...more };
}

function alertOp(method: Method, path: string, summary: string, more: Partial<Operation> = {}): Operation {
  return {
    method,
    path: `/alerts${path}`,
    tag: 'Alerts',
    summary,
    response: json(summary),
    errors: [400, 401, 403, 404],
    security: TOKEN,
    ...more,
  };
}

const operational: Operation[] = [
  {
    method: 'get',
    path: '/healthz',
    tag: 'Operations',
    summary: 'Liveness',
    response: json('{"status":"ok"}'),
    errors: [],
    security: NONE,
  },
  {
    method: 'get',
    path: '/readyz',
    tag: 'Operations',
    summary: 'Readiness: the database answers and no migration is pending',
    response: json('{"status":"ready"}'),
    errors: [503],
    security: NONE,
  },
  {
    method: 'get',
    path: '/.well-known/jwks.json',
    tag: 'Operations',
    summary: "The node's public signing keys",
    response: { status: 200, description: 'A JWK set (Ed25519)', media: 'application/jwk-set+json', schema: 'Jwks' },
    errors: [],
    security: NONE,
  },
  {
    method: 'get',
    path: '/metrics',
    tag: 'Operations',
    summary: 'Prometheus metrics of this replica',
    description: 'METRICS_TOKEN (what Prometheus is given) or the admin token, as a Bearer token.',
    response: { status: 200, description: 'Prometheus text exposition format', media: 'text/plain; version=0.0.4; charset=utf-8' },
    errors: [401],
    security: TOKEN,
  },
  {
    method: 'get',
    path: '/openapi.json',
    tag: 'Operations',
    summary: 'This document',
    response: json('OpenAPI 3.1'),
    errors: [],
    security: NONE,
  },
];

const objectsPath = '/{root}/collections/{id}/objects/';
const objectPath = `${objectsPath}{objectId}/`;

const taxiiOps: Operation[] = [
  taxii(
    'get',
    '/taxii2/',
    'Server discovery (TAXII 2.1 §4.1)',
    { status: 200, description: 'Discovery resource', schema: 'Discovery' },
    { security: TAXII_AUTH },
  ),
  taxii(
    'get',
    '/{root}/',
    'API root information (§4.2)',
    { status: 200, description: 'API root resource', schema: 'ApiRoot' },
    { security: TAXII_AUTH },
  ),
  taxii(
    'get',
    '/{root}/status/{id}/',
    'Status of an add-objects request (§4.3)',
    { status: 200, description: 'Status resource', schema: 'Status' },
    { security: TOKEN },
  ),
  taxii('get', '/{root}/collections/', 'Collections the caller may read or write (§5.1)', {
    status: 200,
    description: 'Collections resource',
    schema: 'Collections',
  }),
  taxii('get', '/{root}/collections/{id}/', 'One collection (§5.2)', {
    status: 200,
    description: 'Collection resource',
    schema: 'Collection',
  }),
  taxii(
    'get',
    '/{root}/collections/{id}/manifest/',
    'Manifest records (§5.3)',
    { status: 200, description: 'Manifest resource; `{}` when empty', schema: 'Manifest', headers: PAGE_HEADERS },
    { query: pick(OBJECTS_PARAMS) },
  ),
  taxii(
    'get',
    objectsPath,
    'Objects (§5.4)',
    { status: 200, description: 'Envelope; `{}` when empty', schema: 'Envelope', headers: PAGE_HEADERS },
    { query: pick(OBJECTS_PARAMS) },
  ),
  taxii(
    'post',
    objectsPath,
    'Add objects (§5.5): 202 and a status',
    { status: 202, description: 'Status resource', schema: 'Status' },
    {
      body: { [TAXII_MEDIA_TYPE]: 'Envelope', [STIX_MEDIA_TYPE]: 'StixBundle' },
      errors: [400, 401, 403, 404, 406, 413, 415, 422],
      security: TOKEN,
    },
  ),
  taxii(
    'get',
    objectPath,
    "One object's versions (§5.6)",
    { status: 200, description: 'Envelope', schema: 'Envelope', headers: PAGE_HEADERS },
    { query: pick(OBJECT_PARAMS) },
  ),
  taxii(
    'delete',
    objectPath,
    'Delete versions of an object (§5.7); all without filters',
    { status: 200, description: 'Deleted (empty body)' },
    {
      query: pick(DELETE_PARAMS),
      security: TOKEN,
    },
  ),
  taxii(
    'get',
    `${objectPath}versions/`,
    "An object's version list, oldest first (§5.8)",
    { status: 200, description: 'Versions resource', schema: 'Versions', headers: PAGE_HEADERS },
    { query: pick(VERSIONS_PARAMS) },
  ),
];

/** Sources: peers' and TAXII servers' collections this node pulls into its own. */
function sourceOps(base: string): Operation[] {
  return [
    adminOp('get', base, 'List sources with their status: last pull, lag, failures, versions stored, quarantined versions', {
      response: { ...json('The sources'), schema: 'Sources' },
    }),
    adminOp('post', base, "Pull a peer's collection (kind peer) or a TAXII 2.1 server's (kind taxii) into a local one", {
      body: { 'application/json': 'CreateSource' },
      response: { ...json('The source', 201), schema: 'Source' },
    }),
    adminOp('get', `${base}/{id}`, 'Status of a source', { response: { ...json('The source'), schema: 'Source' } }),
    adminOp('get', `${base}/{id}/quarantine`, 'Versions received with other content than held here'),
    adminOp('delete', `${base}/{id}`, 'Remove a source', { response: noContent }),
  ];
}

const adminOps: Operation[] = [
  adminOp('get', '/api-roots', 'List API roots'),
  adminOp('post', '/api-roots', 'Create an API root', {
    body: { 'application/json': 'CreateApiRoot' },
    response: json('The API root', 201),
  }),
  adminOp('get', '/api-roots/{name}', 'Read an API root'),
  adminOp('patch', '/api-roots/{name}', 'Change an API root', { body: { 'application/json': 'UpdateApiRoot' } }),
  adminOp('delete', '/api-roots/{name}', 'Delete an API root with its collections', { response: noContent }),
  adminOp('get', '/collections', 'List collections', { query: { api_root: admin.apiRootName.optional().describe('Only this API root') } }),
  adminOp('post', '/collections', 'Create a collection', {
    body: { 'application/json': 'CreateCollection' },
    response: json('The collection', 201),
  }),
  adminOp('get', '/collections/{id}', 'Read a collection'),
  adminOp('patch', '/collections/{id}', 'Change a collection', { body: { 'application/json': 'UpdateCollection' } }),
  adminOp('delete', '/collections/{id}', 'Delete a collection with its objects', { response: noContent }),
  adminOp('put', '/collections/{id}/red-recipients/{clientId}', 'Name a client as a RED recipient'),
  adminOp('delete', '/collections/{id}/red-recipients/{clientId}', 'No longer name a client as a RED recipient'),
  adminOp('get', '/collections/{id}/objects/{objectId}/recipients', 'Who received this object (the audit)'),
  adminOp('get', '/collections/{id}/objects/{objectId}', 'Every version with its TLP level and provenance'),
  adminOp('get', '/collections/{id}/denied', 'Versions served to nobody, with why, and the marking definitions they wait for'),
  adminOp('get', '/clients', 'List clients and their grants (never tokens)'),
  adminOp('post', '/clients', 'Create a client; the answer holds its token, shown this once (a peer gets none: it signs its requests)', {
    body: { 'application/json': 'CreateClient' },
    response: json('The client and its token', 201),
  }),
  adminOp('get', '/clients/{id}', 'Read a client'),
  adminOp('patch', '/clients/{id}', 'Change a client', { body: { 'application/json': 'UpdateClient' } }),
  adminOp('delete', '/clients/{id}', 'Delete a client', { response: noContent }),
  adminOp('put', '/clients/{id}/peer', "Pin a peer node's identity and public keys", { body: { 'application/json': 'PeerIdentity' } }),
  adminOp('post', '/clients/{id}/token', 'Replace its token (the old one stops working); 409 for a peer, which has none'),
  adminOp('put', '/clients/{id}/grants/{collectionId}', 'Set its rights on a collection', { body: { 'application/json': 'PutGrant' } }),
  adminOp('delete', '/clients/{id}/grants/{collectionId}', 'Remove its rights on a collection'),
  ...sourceOps('/sources'),
  // Their name before 0.2: the same operations, kept for one release.
  ...sourceOps('/subscriptions').map((op) => ({
    ...op,
    deprecated: true,
    description: `Deprecated: use ${op.path.replace('/admin/subscriptions', '/admin/sources')}${op.method === 'get' && op.path === '/admin/subscriptions' ? " (the list's key is `subscriptions` here)" : ''}.`,
    ...(op.response.schema === 'Sources' ? { response: json(op.summary) } : {}),
  })),
];

const alertOps: Operation[] = [
  alertOp('get', '/stream', 'Alerts as Server-Sent Events', {
    description: 'Event `alert`, id = the alert sequence number; resume with the `Last-Event-ID` header (or `last_event_id`).',
    query: streamQuery.shape,
    response: { status: 200, description: 'text/event-stream', media: 'text/event-stream' },
  }),
  alertOp('get', '/subscriptions', "The caller's alert subscriptions"),
  alertOp('post', '/subscriptions', 'Subscribe', {
    body: { 'application/json': 'CreateAlertSubscription' },
    response: json('The subscription', 201),
  }),
  alertOp('get', '/subscriptions/{id}', 'Read an alert subscription'),
  alertOp('patch', '/subscriptions/{id}', 'Change an alert subscription (filter replaces the whole filter)', {
    body: { 'application/json': 'UpdateAlertSubscription' },
  }),
  alertOp('delete', '/subscriptions/{id}', 'Delete an alert subscription', { response: noContent }),
  alertOp('get', '/subscriptions/{id}/deliveries', 'Recent alerts: attempts, last status and error, next attempt', {
    query: alerts.deliveriesQuery.shape,
  }),
  alertOp('post', '/subscriptions/{id}/deliveries/{alertId}/retry', 'Send a dead alert again'),
];

const sightingOps: Operation[] = [
  {
    method: 'post',
    path: '/sightings',
    tag: 'Sightings',
    summary: 'Report a sighting of an indicator, named by its id or by a value of its pattern; or a batch of up to 1,000',
    description:
      '`value` (an IP address or network, domain name, URL, SHA-256 or MD5 hash) is matched to the indicators the caller may read ' +
      "by their patterns' values; one sighting is recorded for each it matches, and the answer says so: " +
      '`{"reported": [{"id", "indicator_id", "collection_id", "count", "first_seen", "last_seen", "shareable", "via", "received", "published", "client_id", "organisation", "org_key"}], "message"}` (201). ' +
      'An indicator the caller may not read answers 404 as one that does not exist. ' +
      'An array of reports is a batch: each is checked and matched on its own, and fails alone; the answer (200) is ' +
      '`{"errors", "success_count", "failure_count", "results": [{"index", "outcome": "success", "reported", "message"} | {"index", "outcome": "failure", "error_code": "bad-request" | "not-found", "message"}]}`, in the order sent. ' +
      'Reports have a rate of their own per client (SIGHTINGS_PER_MINUTE), one token a report: a batch larger than that is a 413. A client token only.',
    body: { 'application/json': 'ReportSightings' },
    response: json('The sightings recorded (201); for a batch, the outcome of each report (200)', 201),
    errors: [400, 401, 403, 404, 413, 429],
    security: TOKEN,
  },
  {
    method: 'get',
    path: '/sightings',
    tag: 'Sightings',
    summary: "The latest reports of the caller's organisation (of every organisation, with the admin token)",
    description: '`{"sightings": [...]}`, newest first, each as POST /sightings answers it.',
    query: sightings.listSightingsQuery.shape,
    response: json('Reports, newest first'),
    errors: [400, 401, 403],
    security: TOKEN,
  },
];

const trendOps: Operation[] = [
  {
    method: 'get',
    path: '/trends',
    tag: 'Sightings',
    summary: 'Indicators, malware or attack patterns ranked by sightings in the last hour, day or week, or by growth',
    description:
      "Counts the aggregate sightings the caller may read, this node's and its peers', each aggregate once at its latest version, under the TLP rules of TAXII reads. " +
      'The window ends with the UTC bucket now falls in (`hour`: that hour; `day`: that day; `week`: seven days); the previous window is as long, just before. ' +
      '`sort=rising`: by (current − previous) / max(previous, 1), only what grew. Malware and attack patterns count the sightings of the indicators that `indicates` them. ' +
      '`{"window": {"size", "previous", "current", "end"}, "sort", "type", "items": [{"id", "name", "labels", "sightings", "previous", "growth", "nodes", "indicators"}]}`.',
    query: sightings.trendsQuery.shape,
    response: json('The ranking'),
    errors: [400, 401, 403],
    security: TOKEN,
  },
  {
    method: 'get',
    path: '/trends/indicators/{id}',
    tag: 'Sightings',
    summary: "One indicator's sightings over time: 24 hour buckets (window=day) or 7 day buckets (window=week)",
    description:
      '`{"indicator", "name", "size", "buckets": [{"start", "sightings", "nodes"}]}`, oldest first, every bucket of the span (0 where none); ' +
      'an indicator the caller may not read answers 404 as one that does not exist.',
    query: sightings.seriesQuery.shape,
    response: json('The series'),
    errors: [400, 401, 403, 404],
    security: TOKEN,
  },
];

const FEED_HEADERS = ['ETag', 'Last-Modified', 'Cache-Control'];

function feedOp(file: string, summary: string, media: string): Operation {
  return {
    method: 'get',
    path: `/feeds/{collection}/${file}`,
    tag: 'Feeds',
    summary,
    response: { status: 200, description: summary, media, headers: FEED_HEADERS },
    notModified: true,
    errors: [400, 401, 403, 404],
    security: ['bearer', 'basic', 'feedToken', 'anonymous'],
  };
}

const LIST_NAMES: Record<FeedKind, string> = {
  ipv4: 'IPv4 addresses and networks (CIDR)',
  ipv6: 'IPv6 addresses and networks (CIDR)',
  domain: 'Domain names',
  url: 'URLs',
  sha256: 'SHA-256 file hashes',
  md5: 'MD5 file hashes',
};

const feedOps: Operation[] = [
  {
    method: 'get',
    path: '/feeds/',
    tag: 'Feeds',
    summary: 'The URLs of the feeds of each collection the caller may read',
    description:
      '`{"feeds": [{"collection_id", "api_root", "title", "urls": {"ipv4", "ipv6", "domain", "url", "sha256", "md5", "csv"}}]}`, ' +
      "built from PUBLIC_URL (else the origin asked). No URL holds a token: a device sends its feed client's in a header, or adds `?token=`.",
    query: feedIndexQuery.shape,
    response: json('The feeds the caller may read'),
    errors: [400, 401, 404],
    security: ['bearer', 'basic', 'feedToken'],
  },
  ...FEED_KINDS.map((kind) => ({
    ...feedOp(`${kind}.txt`, `${LIST_NAMES[kind]}, one a line`, 'text/plain; charset=utf-8'),
    ...(kind === 'url'
      ? { query: { scheme: z.literal('omit').optional().describe('`omit`: each URL without its scheme (PAN-OS URL lists take none)') } }
      : {}),
  })),
  feedOp('indicators.csv', 'Every value with its object, confidence, TLP level and valid_until (RFC 4180)', 'text/csv; charset=utf-8'),
];

export const operations: readonly Operation[] = [
  ...operational,
  ...taxiiOps,
  ...adminOps,
  ...alertOps,
  ...sightingOps,
  ...trendOps,
  ...feedOps,
];
