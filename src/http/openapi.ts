import { z } from 'zod';
import pkg from '../../package.json' with { type: 'json' };
import { PROOF_SCHEME } from '../federation/request-proof.ts';
import { RESPONSE_SIGNATURE_HEADER } from '../federation/response-signature.ts';
import { STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE } from '../taxii/media.ts';
import { componentSchemas, operations, pathParams } from './openapi-routes.ts';
import type { Operation, Security } from './openapi-routes.ts';

// The OpenAPI 3.1 document of the node's HTTP APIs, built from the table in openapi-routes.ts and
// the zod schemas the routes validate with: nothing here is a second copy of a schema.
// OpenAPI 3.1 schemas are JSON Schema 2020-12, so zod's draft-2020-12 output is used as it is.

type Json = Record<string, unknown>;

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad request: a parameter or the body is invalid (the description names it)',
  401: 'No credentials, or credentials that were not accepted',
  403: 'Authenticated, but not allowed to do this',
  404: 'No such resource, or one the caller may not see',
  406: `Accept does not allow ${TAXII_MEDIA_TYPE}`,
  409: 'Conflicts with what the node holds',
  413: 'The body exceeds the size limit',
  415: `Content-Type is neither ${TAXII_MEDIA_TYPE} nor ${STIX_MEDIA_TYPE}`,
  422: 'Well-formed, but not something the node can act on',
  429: 'Too many requests from this client, peer or address (docs/operating.md, "Rate limits"): try again after Retry-After',
  500: 'The node failed to handle the request; the error is in its log',
  503: 'Not ready, the database unreachable or out of resources, or a write that met another: nothing was stored; try again after Retry-After',
};

/** Answers every operation may give beyond its own: none from /healthz (no database, no rate limit), no 429 from /readyz. */
function commonErrors(op: Operation): number[] {
  if (op.path === '/healthz') return [];
  if (op.path === '/readyz') return [500];
  return [429, 500, 503];
}

/** The errors whose answers carry Retry-After. */
const RETRY_AFTER = new Set([429, 503]);

const SECURITY_SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer', description: 'A client token, or the admin token (a peer node has no token).' },
  basic: { type: 'http', scheme: 'basic', description: 'A client name and its token as the password (user `admin` for the admin token).' },
  vigilProof: {
    type: 'apiKey',
    in: 'header',
    name: 'Authorization',
    description:
      `\`Authorization: ${PROOF_SCHEME} <JWT>\`: a peer node's signed request, the only way a peer authenticates. The JWT (EdDSA, typ vigil-proof+jwt) is signed with ` +
      'a key pinned for the peer and binds the audience, method (htm) and URL (htu); it lives 60 s at most and is used once. ' +
      `The answer then carries \`${RESPONSE_SIGNATURE_HEADER}\`, a signature over its body.`,
  },
  feedToken: {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description:
      "A feed client's token in the URL (`?token=`), for firewalls that cannot send headers. Feeds only, and only a feed client's token: it opens nothing else.",
  },
} as const;

const TAGS = [
  {
    name: 'TAXII',
    description: `TAXII 2.1. Send \`Accept: ${TAXII_MEDIA_TYPE}\` (or \`application/taxii+json\`, \`*/*\`); every answer, errors included, is ${TAXII_MEDIA_TYPE}. Paths work with and without the trailing slash.`,
  },
  {
    name: 'Admin',
    description:
      "The admin API: API roots, collections, clients and their grants, sources (the peers' and TAXII servers' collections this node pulls). Admin token only.",
  },
  { name: 'Alerts', description: 'Alert subscriptions, their deliveries, and the live stream. A client token, or the admin token.' },
  {
    name: 'Sightings',
    description:
      'A client reports what hit its organisation (docs/sightings.md). The reporter is served to nobody but the admin and its own organisation; what leaves the node are aggregates, published as STIX sightings. Trends rank what the aggregates a caller may read count, across the federation.',
  },
  {
    name: 'Feeds',
    description:
      'Plain lists for firewalls, DNS and EDR tools (docs/feeds.md), under the TLP policy of TAXII reads. Poll with `If-None-Match`: 304 when nothing changed.',
  },
  { name: 'Operations', description: 'Health, readiness, metrics, the node keys and this document. No credentials but for metrics.' },
];

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** zod → JSON Schema 2020-12 as a client sends it (input side: defaults optional, transforms unapplied). */
function jsonSchema(schema: z.ZodType): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any', io: 'input' }) as Json;
  return rest;
}

/** Every named schema, converted together so that one refers to another by $ref. */
function components(): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(componentSchemas)) registry.add(schema, { id });
  const out = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    unrepresentable: 'any',
    io: 'input',
    uri: (id) => `#/components/schemas/${id}`,
  }).schemas;
  return Object.fromEntries(Object.entries(out).map(([id, { $schema: _s, $id: _i, ...rest }]) => [id, rest as Json]));
}

function isOptional(schema: z.ZodType): boolean {
  return schema.safeParse(undefined).success;
}

function parameters(op: Operation): Json[] {
  const inPath = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const path = inPath.map((name) => {
    const schema = pathParams[name];
    if (!schema) throw new Error(`openapi: no schema for path parameter {${name}} of ${op.path}`);
    return { name, in: 'path', required: true, description: schema.description, schema: jsonSchema(schema) };
  });
  const query = Object.entries(op.query ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: !isOptional(schema),
    ...(schema.description ? { description: schema.description } : {}),
    schema: jsonSchema(schema),
  }));
  return [...path, ...query];
}

function requestBody(op: Operation): Json | undefined {
  if (!op.body) return undefined;
  const content = Object.fromEntries(
    Object.entries(op.body).flatMap(([media, schema]) => (schema ? [[media, { schema: ref(schema) }]] : [])),
  );
  return { required: true, content };
}

function responses(op: Operation): Json {
  const { status, description, media, schema, headers } = op.response;
  const ok: Json = { description };
  if (media) ok.content = { [media]: { schema: schema ? ref(schema) : {} } };
  if (headers) ok.headers = Object.fromEntries(headers.map((h) => [h, { $ref: `#/components/headers/${h}` }]));
  const statuses = [...new Set([...op.errors, ...commonErrors(op)])].sort((a, b) => a - b);
  const errors = Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/Error${s}` }]));
  const notModified = op.notModified
    ? {
        '304': {
          description: 'Not modified: the If-None-Match tag is current (no body)',
          headers: { ETag: { $ref: '#/components/headers/ETag' } },
        },
      }
    : {};
  return { [String(status)]: ok, ...notModified, ...errors };
}

function security(names: readonly Security[]): Json[] {
  return names.map((n) => (n === 'anonymous' ? {} : { [n]: [] }));
}

/** get /admin/collections/{id} → get-admin-collections-id: stable, and unique with the method. */
function operationId(op: Operation): string {
  const words = op.path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return [op.method, ...(words.length ? words : ['root'])].join('-');
}

function operationObject(op: Operation): Json {
  const body = requestBody(op);
  const params = parameters(op);
  return {
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    ...(op.deprecated ? { deprecated: true } : {}),
    operationId: operationId(op),
    ...(params.length ? { parameters: params } : {}),
    ...(body ? { requestBody: body } : {}),
    responses: responses(op),
    security: security(op.security),
  };
}

/** The OpenAPI 3.1 document; `publicUrl` (PUBLIC_URL) becomes the server when set. */
export function openApiDocument(options: { publicUrl?: string | undefined } = {}): Json {
  const paths: Record<string, Json> = {};
  for (const op of operations) {
    const item = (paths[op.path] ??= {});
    if (item[op.method]) throw new Error(`openapi: ${op.method.toUpperCase()} ${op.path} is in the table twice`);
    item[op.method] = operationObject(op);
  }
  const errorContent = { [TAXII_MEDIA_TYPE]: { schema: ref('TaxiiError') } };
  return {
    openapi: '3.1.1',
    info: {
      title: 'Vigil',
      version: pkg.version,
      summary: 'A STIX 2.1 / TAXII 2.1 threat-intelligence exchange node',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    ...(options.publicUrl ? { servers: [{ url: options.publicUrl }] } : {}),
    tags: TAGS,
    paths,
    components: {
      schemas: components(),
      responses: Object.fromEntries(
        Object.entries(ERROR_DESCRIPTIONS).map(([s, description]) => [
          `Error${s}`,
          {
            description,
            content: errorContent,
            ...(RETRY_AFTER.has(Number(s)) ? { headers: { 'Retry-After': { $ref: '#/components/headers/Retry-After' } } } : {}),
          },
        ]),
      ),
      headers: {
        'X-TAXII-Date-Added-First': {
          description: 'date_added of the first item of the page (TAXII 2.1 §5.3)',
          schema: { type: 'string' },
        },
        'X-TAXII-Date-Added-Last': {
          description: 'date_added of the last item of the page: the next added_after',
          schema: { type: 'string' },
        },
        'Retry-After': {
          description: 'Seconds to wait before sending the request again',
          schema: { type: 'integer', minimum: 0 },
        },
        ETag: {
          description: 'A strong tag of the list as this caller sees it: send it back as If-None-Match',
          schema: { type: 'string' },
        },
        'Last-Modified': {
          description: 'The latest change this caller can see; If-Modified-Since is honoured without If-None-Match',
          schema: { type: 'string' },
        },
        'Cache-Control': { description: '`private, no-cache`: ask again each time', schema: { type: 'string' } },
        [RESPONSE_SIGNATURE_HEADER]: {
          description: "On a peer's signed pull only: this node's signature over the body",
          schema: { type: 'string' },
        },
      },
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}
