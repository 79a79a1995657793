import { z } from 'zod';

// The admin API's request bodies: the single definition used to validate and to document.

const RESERVED = new Set([
  'taxii2',
  'admin',
  'alerts',
  'healthz',
  'readyz',
  'metrics',
  'openapi.json',
  'docs',
  'console',
  '.well-known',
  'feeds',
]);

export const apiRootName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be 1-63 characters: lower-case letters, digits, ".", "_" or "-"')
  .refine((n) => !RESERVED.has(n), 'is reserved for the node itself');

const text = (max: number) => z.string().trim().min(1).max(max);

export const createApiRootBody = z.strictObject({
  name: apiRootName,
  title: text(200),
  description: text(2000).optional(),
  max_content_length: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});

export const updateApiRootBody = z.strictObject({
  title: text(200).optional(),
  description: text(2000).nullable().optional(),
  max_content_length: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});

/** TLP levels by name, as the admin API and the vigil command speak them. */
export const tlpLevel = z.enum(['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED']);
export const clearance = z.enum(['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT']);

const collectionPolicy = {
  /** The level of unmarked objects (AMBER unless set). */
  default_level: tlpLevel.optional(),
  /** Takes PAP:CLEAR and PAP:GREEN content only (an automatic-blocking feed). */
  pap_green_only: z.boolean().optional(),
  /** Serves reports, groupings, notes and opinions even when they point at objects the recipient may not see. */
  relax_container_refs: z.boolean().optional(),
  /** Serves its CLEAR content without credentials. */
  public: z.boolean().optional(),
};

export const createCollectionBody = z.strictObject({
  api_root: apiRootName,
  id: z.uuid().optional(),
  title: text(200),
  description: text(2000).optional(),
  alias: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be 1-63 characters: lower-case letters, digits, ".", "_" or "-"')
    .optional(),
  ...collectionPolicy,
});

export const updateCollectionBody = z.strictObject({
  title: text(200).optional(),
  description: text(2000).nullable().optional(),
  alias: createCollectionBody.shape.alias.unwrap().nullable().optional(),
  ...collectionPolicy,
});

export const grantBody = z.strictObject({
  collection_id: z.uuid(),
  can_read: z.boolean(),
  can_write: z.boolean(),
});

export const clientName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/,
    'must be 1-100 characters: letters, digits, ".", "_", "@" or "-" (no ":", which HTTP Basic cannot carry)',
  )
  .refine((n) => n !== 'admin', 'is reserved for the admin token');

const clientPolicy = {
  /**
   * 'peer': another node of the federation, which pulls under an agreement. 'feed': reads feeds
   * only (docs/feeds.md), and its token may ride in a URL; it has no write right anywhere.
   */
  kind: z.enum(['client', 'peer', 'feed']).optional(),
  /** The strictest TLP level it may receive (CLEAR unless set: least privilege). */
  clearance: clearance.optional(),
  /** Belongs to this node's own organisation: needed for AMBER+STRICT. */
  own_org: z.boolean().optional(),
  /** For a peer: its agreement lets it pull AMBER objects this node originated. */
  peer_amber: z.boolean().optional(),
  /**
   * The organisation (a hospital) it reports sightings for: distinct organisations are what the
   * privacy rule of sightings counts (docs/sightings.md). Unset or null: the client counts as one of its own.
   */
  organisation: z
    .string()
    .regex(/^[^\p{C}]{1,200}$/u, 'must be 1-200 characters, none of them a control character')
    .refine((v) => v.trim() === v && v !== '', 'must not start or end with a space')
    .nullable()
    .optional(),
};

export const createClientBody = z.strictObject({
  name: clientName,
  grants: z.array(grantBody).max(10_000).optional(),
  ...clientPolicy,
});

export const updateClientBody = z.strictObject({ name: clientName.optional(), ...clientPolicy });

export const putGrantBody = grantBody.omit({ collection_id: true });

/** An Ed25519 public key as a JWK; its kid, if given, must be its RFC 7638 thumbprint. */
export const publicJwk = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a 32-byte key in base64url'),
  kid: z.string().optional(),
  alg: z.literal('EdDSA').optional(),
  use: z.literal('sig').optional(),
});

/** A peer node's identity, exchanged out of band between CSIRTs: never fetched from the peer. */
export const peerIdentityBody = z.strictObject({
  node_id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'must be 1-128 letters, digits, ".", "_", ":" or "-"'),
  base_url: z.url({ protocol: /^https?$/ }).optional(),
  keys: z.array(publicJwk).min(1).max(10),
});

const remoteName = z.string().regex(/^[^/?#\s]{1,200}$/, 'must be 1-200 characters, without "/", "?", "#" or spaces');

/** Pull a peer's collection into one of ours, every `interval_seconds` (60 unless set). */
export const createPeerSourceBody = z.strictObject({
  /** A Vigil peer's collection, over signed requests (the default kind). */
  kind: z.literal('peer').optional(),
  /** A client of kind "peer" whose node id, base URL and keys are pinned. */
  peer_id: z.uuid(),
  remote_api_root: remoteName,
  remote_collection_id: remoteName,
  collection_id: z.uuid(),
  interval_seconds: z.number().int().min(1).max(86_400).optional(),
});

/** Printable ASCII, no line break, no leading or trailing space: what an HTTP header value may carry. */
const headerValue = z
  .string()
  .min(1)
  .max(4096)
  .regex(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/, 'must be printable ASCII without line breaks or surrounding spaces');

/** Headers the node sets itself, or that would change how the request travels. */
const RESERVED_HEADERS = new Set([
  'host',
  'accept',
  'content-length',
  'content-type',
  'connection',
  'transfer-encoding',
  'te',
  'upgrade',
  'keep-alive',
  'expect',
  'trailer',
]);

/** How this node authenticates to a TAXII server; the secret is stored, sent to that server only, and never answered. */
export const sourceAuth = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('none') }),
  z.strictObject({
    kind: z.literal('basic'),
    username: z.string().regex(/^[\x21-\x39\x3b-\x7e][\x20-\x39\x3b-\x7e]{0,199}$/, 'must be 1-200 printable characters without ":"'),
    password: z
      .string()
      .min(1)
      .max(1024)
      .refine((v) => [...v].every((c) => c.charCodeAt(0) > 0x1f && c.charCodeAt(0) !== 0x7f), 'must hold no control characters'),
  }),
  z.strictObject({
    kind: z.literal('bearer'),
    token: z.string().regex(/^[\x21-\x7e]{1,4096}$/, 'must be 1-4096 printable characters without spaces'),
  }),
  z.strictObject({
    kind: z.literal('header'),
    name: z
      .string()
      .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/, 'must be an HTTP header name')
      .refine((n) => !RESERVED_HEADERS.has(n.toLowerCase()) && !n.toLowerCase().startsWith('proxy-'), 'is set by the node itself'),
    value: headerValue,
  }),
]);

/** The API root URL of a TAXII server: http(s), no credentials, query or fragment in it. */
const apiRootUrl = z
  .url({ protocol: /^https?$/, error: 'must be an https:// (or http://) URL' })
  .max(2000)
  .refine((u) => {
    const url = new URL(u);
    return !url.username && !url.password;
  }, 'must not carry credentials: give them in auth')
  .refine((u) => {
    const url = new URL(u);
    return !url.search && !url.hash;
  }, 'must not have a ?query or #fragment');

const UTC_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/** Where a TAXII source's first pull starts: a UTC timestamp (its added_after). */
const utcTimestamp = z
  .string()
  .regex(UTC_TIMESTAMP, 'must be a UTC timestamp such as 2024-01-31T00:00:00.000Z')
  .refine((t) => Number.isFinite(Date.parse(t)), 'is not a date');

/** Pull a collection of a TAXII 2.1 server (any, not only Vigil) over plain TAXII, every `interval_seconds` (300 unless set). */
export const createTaxiiSourceBody = z.strictObject({
  kind: z.literal('taxii'),
  /** The server's API root, e.g. https://feed.example.org/taxii2/api1/ */
  url: apiRootUrl,
  remote_collection_id: remoteName,
  collection_id: z.uuid(),
  /** None unless set. */
  auth: sourceAuth.optional(),
  /** The level of this source's unmarked objects here (the collection's default unless set). */
  default_tlp: tlpLevel.optional(),
  interval_seconds: z.number().int().min(1).max(86_400).optional(),
  /** Where the first pull starts (its added_after); the server's beginning unless set. */
  since: utcTimestamp.optional(),
});

/** A MISP tag as restSearch matches it, e.g. tlp:green or misp-galaxy:sector="Health". */
const mispTag = z
  .string()
  .min(1)
  .max(255)
  .refine(
    (t) => [...t].every((c) => c.charCodeAt(0) > 0x1f && c.charCodeAt(0) !== 0x7f && c !== ','),
    'must hold no "," or control characters',
  )
  .refine((t) => t.trim() === t, 'must not start or end with a space');

/** Pull a MISP's events through restSearch as STIX 2.1, every `interval_seconds` (300 unless set). */
export const createMispSourceBody = z.strictObject({
  kind: z.literal('misp'),
  /** The MISP's base URL, e.g. https://misp.example.org/ */
  url: apiRootUrl,
  /** The authkey of a MISP user who may read the events: sent as Authorization, never answered. */
  key: z.string().regex(/^[A-Za-z0-9]{40}$/, 'must be a MISP authkey: 40 letters and digits'),
  collection_id: z.uuid(),
  /** Only events with any of these tags (restSearch `tags`). */
  tags: z.array(mispTag).min(1).max(50).optional(),
  /** Only published events (restSearch `published: true`, by publish_timestamp). */
  published_only: z.boolean().optional(),
  /** The level of this source's unmarked objects here: AMBER unless set. */
  default_tlp: tlpLevel.optional(),
  interval_seconds: z.number().int().min(1).max(86_400).optional(),
  /** Where the first pull starts: seconds since the epoch (MISP's timestamp) or a UTC timestamp. */
  since: z
    .union([z.number().int().min(0).max(99_999_999_999), z.string().regex(/^\d{1,11}$/), utcTimestamp], {
      error: 'must be seconds since the epoch or a UTC timestamp such as 2024-01-31T00:00:00Z',
    })
    .optional(),
});

/** A source of any kind: `kind` says which ("peer" unless set). */
export const createSourceBody = z.discriminatedUnion('kind', [createPeerSourceBody, createTaxiiSourceBody, createMispSourceBody], {
  error: 'must be "peer", "taxii" or "misp"',
});
