import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres, startTestNode, TAXII } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { pinnedPeer, requestAs } from '../support/peer.ts';
import { propertyRuns } from '../support/property-runs.ts';
import type { Caller } from '../support/peer.ts';
import { adminJson, postObjects } from '../support/stix.ts';
import { ALIASES, AMBER, AMBER_STRICT, CLEAR, DENY, GREEN, LEVEL_NAMES, RED } from '../support/tlp-oracle.ts';

// A property-based test of the TLP policy (shared/reference/tlp.md) through every read
// endpoint and paging style. Each case is a fresh collection with at most 12 marked object
// versions and 1-3 recipients; an independent oracle below, which imports nothing of
// src/policy or src/store, says what each recipient may be served.
//
// To keep 1,000 cases within the time budget, each case checks one of its recipients, through
// one paging style, and about a quarter of its ids on one per-id endpoint each; every endpoint
// and style is covered over the run (asserted at the end). FC_FULL=1 checks everything in
// every case. Reproduce a failure with FC_SEED (and FC_PATH), as printed.
//
// Readings of tlp.md the oracle takes: a reference withholds when it points at an id whose
// level the recipient may not receive (a report that points at a relationship withheld only for
// its own references is served: that id tells nothing more than an unknown one, which answers
// the same 404); a peer's clearance plays no part (the peer column of the table decides); the
// origin is set on every version of an id or on none.

// 1,000 cases on PostgreSQL; 250 on the embedded PGlite, which runs the same SQL four times slower
// (115 s of the suite for 1,000), and a quarter of that beside the PostgreSQL pass
// (support/property-runs.ts). FC_RUNS sets either.
const NUM_RUNS = propertyRuns({ postgres: 1000, pglite: 250 });
const PATH = process.env.FC_PATH;
/**
 * The cases run as a few concurrent fast-check streams (one collection each, so they do not
 * interfere): a case's requests are mostly sequential, so one stream leaves the database idle.
 * Stream i uses seed FC_SEED + i; a failure prints its own seed (and path) to replay with
 * FC_SEED=<seed> FC_STREAMS=1 (FC_PATH=<path> for the shrunk case alone).
 */
const STREAMS = PATH ? 1 : Math.max(1, Number(process.env.FC_STREAMS ?? 4));
if (PATH && process.env.FC_SEED === undefined) throw new Error('FC_PATH replays a failure only with the FC_SEED it was printed with');
const SEED = process.env.FC_SEED === undefined ? (Date.now() ^ (Math.random() * 0x1_0000_0000)) | 0 : Number(process.env.FC_SEED);
/** Every recipient, every paging style and every per-id endpoint in every case (slow: for a local soak). */
const FULL = process.env.FC_FULL === '1';

// ---------------------------------------------------------------------------------------------
// The oracle: tlp.md restated in plain functions.

const ALIAS_IDS = Object.keys(ALIASES);
/** TLP 2.0 is not predefined by STIX: the node ships these (and the extension) with what references them. */
const TLP2_IDS = new Set([
  'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
]);
const TLP2_EXTENSION = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';
const TLP2_CREATED = '2022-10-01T00:00:00.000Z';

/** Which properties leak ids: links are always checked, containers unless the collection relaxes them. */
const LINK_PROPS: Record<string, string[]> = {
  relationship: ['source_ref', 'target_ref'],
  sighting: ['sighting_of_ref', 'observed_data_refs', 'where_sighted_refs'],
};
const CONTAINER_TYPES = new Set(['report', 'grouping', 'note', 'opinion']);

/** One stored object version, as the oracle sees it. */
type Row = {
  key: string;
  id: string;
  type: string;
  spec: string;
  version: string;
  /** Its own TLP level: the strictest of its markings, the default when it has none, DENY if one is unknown. */
  level: number;
  refKind: 'link' | 'container' | null;
  refs: string[];
  /** Received from a peer (simulated by setting `origin` in the database). */
  fromPeer: boolean;
};

type Versions = 'last' | 'first' | 'all';

type Audience =
  | { kind: 'client'; clearance: number; ownOrg: boolean; red: boolean }
  | { kind: 'peer'; amber: boolean }
  | { kind: 'public' };

const rowKey = (id: string, spec: string, version: string) => `${id}|${spec}|${version}`;

function idsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function references(object: Record<string, unknown>): { kind: Row['refKind']; refs: string[] } {
  const type = object.type as string;
  if (LINK_PROPS[type]) return { kind: 'link', refs: LINK_PROPS[type].flatMap((p) => idsIn(object[p])) };
  if (CONTAINER_TYPES.has(type)) return { kind: 'container', refs: idsIn(object.object_refs) };
  return { kind: null, refs: [] };
}

function markingRefs(object: Record<string, unknown>): string[] {
  const granular = Array.isArray(object.granular_markings) ? object.granular_markings : [];
  return [
    ...idsIn(object.object_marking_refs),
    ...granular.map((g: { marking_ref?: string }) => g.marking_ref).filter((r) => r !== undefined),
  ];
}

/**
 * One version's own level: within TLP the strictest wins; other systems' markings (here a
 * statement) neither raise nor loosen it; an unknown TLP-like or unresolvable one denies.
 */
function versionLevel(object: Record<string, unknown>, nonTlp: ReadonlySet<string>, defaultLevel: number): number {
  let tlp: number | undefined;
  for (const ref of markingRefs(object)) {
    if (ref in ALIASES) tlp = Math.max(tlp ?? CLEAR, ALIASES[ref]!);
    else if (!nonTlp.has(ref)) return DENY;
  }
  // Unmarked marking definitions are CLEAR: they are served with whatever they mark.
  return tlp ?? (object.type === 'marking-definition' ? CLEAR : defaultLevel);
}

class Oracle {
  readonly rows = new Map<string, Row>();
  readonly relax: boolean;
  readonly #idLevel = new Map<string, number>();

  constructor(rows: Row[], relax: boolean) {
    this.relax = relax;
    for (const r of rows) {
      this.rows.set(r.key, r);
      // Across versions, the strictest level of any version of an id applies to all of them.
      this.#idLevel.set(r.id, Math.max(this.#idLevel.get(r.id) ?? CLEAR, r.level));
    }
  }

  ids(): string[] {
    return [...this.#idLevel.keys()];
  }

  idLevel(id: string): number {
    return this.#idLevel.get(id)!;
  }

  held(id: string): boolean {
    return this.#idLevel.has(id);
  }

  rowsOf(id: string): Row[] {
    return [...this.rows.values()].filter((r) => r.id === id);
  }

  /** tlp.md "The rules this node enforces", by the id's level. */
  mayReceive(a: Audience, id: string): boolean {
    const level = this.idLevel(id);
    const fromPeer = this.rowsOf(id).some((r) => r.fromPeer);
    switch (a.kind) {
      case 'public':
        return level === CLEAR;
      case 'peer':
        return level <= GREEN || (level === AMBER && a.amber && !fromPeer);
      case 'client': {
        const max = a.clearance === AMBER_STRICT && !a.ownOrg ? AMBER : a.clearance;
        return level <= max || (level === RED && a.red);
      }
    }
  }

  /**
   * May this row be served: its id's level allows it, and it points at nothing held here that
   * the recipient may not receive (links always; containers unless relaxed). A reference to an
   * id this collection does not hold withholds nothing.
   */
  servable(a: Audience, row: Row): boolean {
    if (!this.mayReceive(a, row.id)) return false;
    if (row.refKind === null || (row.refKind === 'container' && this.relax)) return true;
    return row.refs.every((ref) => !this.held(ref) || this.mayReceive(a, ref));
  }

  /** A withheld id answers 404 on the object, versions and delete endpoints. */
  exists(a: Audience, id: string): boolean {
    return this.rowsOf(id).some((r) => this.servable(a, r));
  }

  /**
   * TAXII 2.1 §3.4.2: of each id, the latest spec version held (unless every spec version is
   * asked for), and of those rows the last, the first or all versions; chosen among all the
   * rows held, then withheld or not.
   */
  selected(id: string, versions: Versions, anySpec = false): Row[] {
    const rows = this.rowsOf(id);
    const spec = rows
      .map((r) => r.spec)
      .sort()
      .at(-1)!;
    const ofSpec = rows.filter((r) => anySpec || r.spec === spec).sort((x, y) => Date.parse(x.version) - Date.parse(y.version));
    return versions === 'all' ? ofSpec : versions === 'first' ? ofSpec.slice(0, 1) : ofSpec.slice(-1);
  }

  served(a: Audience, versions: Versions, id?: string, anySpec = false): Set<string> {
    const ids = id === undefined ? this.ids() : [id];
    return new Set(
      ids
        .flatMap((i) => this.selected(i, versions, anySpec))
        .filter((r) => this.servable(a, r))
        .map((r) => r.key),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The generated cases.

const UNKNOWN = 'unknown-tlp2';
const UNRESOLVABLE = 'unresolvable';
const STATEMENT = 'statement';

const markingArb = fc.oneof(
  { arbitrary: fc.constantFrom(...ALIAS_IDS), weight: 12 },
  { arbitrary: fc.constantFrom(UNKNOWN, UNRESOLVABLE, STATEMENT), weight: 2 },
);
const versionArb = fc.record({
  marks: fc.array(markingArb, { maxLength: 2 }),
  granular: fc.option(markingArb, { nil: undefined, freq: 3 }),
  batch: fc.nat(1),
  order: fc.nat(1000),
});
const entityArb = fc.record({
  type: fc.constantFrom('indicator', 'malware', 'identity'),
  versions: fc.array(versionArb, { minLength: 1, maxLength: 3 }),
  /** The first version is a STIX 2.0 object (no spec_version). */
  legacy: fc.nat(3).map((n) => n === 0),
  fromPeer: fc.boolean(),
});
/** A reference target: an index into the pool (modulo its size) or an id not in the collection. */
const targetArb = fc.option(fc.nat(50), { nil: undefined, freq: 5 });
const linkArb = fc.record({
  type: fc.constantFrom('relationship', 'relationship', 'sighting'),
  a: targetArb,
  b: targetArb,
  versions: fc.array(versionArb, { minLength: 1, maxLength: 2 }),
  fromPeer: fc.boolean(),
});
const containerArb = fc.record({
  type: fc.constantFrom('report', 'report', 'note'),
  /** Per version: its object_refs change as it is versioned. */
  versions: fc.array(fc.record({ v: versionArb, refs: fc.array(targetArb, { minLength: 1, maxLength: 3 }) }), {
    minLength: 1,
    maxLength: 2,
  }),
  fromPeer: fc.boolean(),
});
const recipientArb = fc.oneof(
  // redElsewhere: named a RED recipient of another collection, which gives nothing here.
  fc.record({
    kind: fc.constant('client' as const),
    clearance: fc.nat(3),
    ownOrg: fc.boolean(),
    red: fc.boolean(),
    redElsewhere: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('peer' as const), amber: fc.boolean(), red: fc.boolean() }),
  fc.record({ kind: fc.constant('anonymous' as const) }),
);
/** The listings: which resource, with which filters, and what the oracle selects for them. */
const LISTINGS = {
  objects: { path: 'objects/', versions: 'last', anySpec: false },
  manifest: { path: 'manifest/', versions: 'last', anySpec: false },
  all: { path: 'objects/?match[version]=all', versions: 'all', anySpec: false },
  first: { path: 'objects/?match[version]=first', versions: 'first', anySpec: false },
  allspecs: { path: 'manifest/?match[spec_version]=2.0,2.1&match[version]=all', versions: 'all', anySpec: true },
} as const;
const STYLES = [
  'objects-next',
  'objects-added_after',
  'manifest-next',
  'manifest-added_after',
  'all-next',
  'all-added_after',
  'first-next',
  'allspecs-added_after',
] as const;
const ID_ENDPOINTS = ['object', 'object-all', 'versions', 'delete'] as const;
const checkArb = fc.record({
  style: fc.constantFrom(...STYLES),
  limit: fc.integer({ min: 1, max: 5 }),
  /** By the id's position in the case: which endpoint to check it on, if any (about a quarter are). */
  perId: fc.array(fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: fc.constantFrom(...ID_ENDPOINTS), weight: 1 }), {
    minLength: 24,
    maxLength: 24,
  }),
});
const caseArb = fc.record({
  defaultLevel: fc.nat(4),
  /** Post in two requests (each version's `batch`), or all at once. */
  split: fc.nat(3).map((n) => n === 0),
  relax: fc.boolean(),
  public: fc.boolean(),
  unknownBatch: fc.nat(1),
  entities: fc.array(entityArb, { minLength: 1, maxLength: 4 }),
  links: fc.array(linkArb, { maxLength: 2 }),
  containers: fc.array(containerArb, { maxLength: 2 }),
  recipients: fc.array(recipientArb, { minLength: 1, maxLength: 3 }),
  /** Which recipient is checked, and how (the cheap mode: one recipient, one paging style). */
  checked: fc.nat(2),
  check: checkArb,
  /** Finally DELETE a visible id as the checked recipient (it needs no further read). */
  deleteVisible: fc.oneof({ arbitrary: fc.constant(undefined), weight: 2 }, { arbitrary: fc.nat(50), weight: 1 }),
});
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;
type Recipient = Case['recipients'][number];

// ---------------------------------------------------------------------------------------------
// Building STIX from a case.

const MAX_VERSIONS = 12;
const BASE_TIME = Date.parse('2024-01-01T00:00:00.000Z');
const stamp = (seconds: number) => new Date(BASE_TIME + seconds * 1000).toISOString();

type Built = {
  posts: Record<string, unknown>[][];
  rows: Row[];
  /** Each posted version by row key: served, it must be exactly this (a relay never edits an object). */
  posted: Map<string, Record<string, unknown>>;
  fromPeer: string[];
  description: string;
};

const GRANULAR_SELECTOR: Record<string, string> = {
  indicator: 'name',
  malware: 'name',
  identity: 'name',
  relationship: 'relationship_type',
  sighting: 'sighting_of_ref',
  report: 'name',
  note: 'content',
};

function build(c: Case): Built {
  const ids = {
    unknown: `marking-definition--${randomUUID()}`,
    unresolvable: `marking-definition--${randomUUID()}`,
    statement: `marking-definition--${randomUUID()}`,
  };
  const markingId = (m: string) =>
    m === UNKNOWN ? ids.unknown : m === UNRESOLVABLE ? ids.unresolvable : m === STATEMENT ? ids.statement : m;
  const external = (type: string) => `${type}--${randomUUID()}`;
  let budget = MAX_VERSIONS;
  const versions: { object: Record<string, unknown>; batch: number; order: number; fromPeer: boolean }[] = [];

  const add = (
    id: string,
    type: string,
    v: Case['entities'][number]['versions'][number],
    k: number,
    body: Record<string, unknown>,
    legacy: boolean,
    fromPeer: boolean,
  ) => {
    const created = stamp(0);
    const object: Record<string, unknown> = {
      type,
      ...(legacy ? {} : { spec_version: '2.1' }),
      id,
      created,
      modified: stamp(k + 1),
      ...body,
    };
    if (v.marks.length) object.object_marking_refs = [...new Set(v.marks.map(markingId))];
    if (v.granular !== undefined)
      object.granular_markings = [{ marking_ref: markingId(v.granular), selectors: [GRANULAR_SELECTOR[type]!] }];
    versions.push({ object, batch: v.batch, order: v.order, fromPeer });
    budget--;
  };

  const entityIds: string[] = [];
  for (const e of c.entities) {
    if (budget <= 0) break;
    const id = `${e.type}--${randomUUID()}`;
    entityIds.push(id);
    e.versions.forEach((v, k) => {
      if (budget <= 0) return;
      const legacy = e.legacy && k === 0;
      const body: Record<string, unknown> =
        e.type === 'indicator'
          ? {
              name: 'C2',
              pattern: "[ipv4-addr:value = '198.51.100.7']",
              valid_from: stamp(0),
              ...(legacy ? { labels: ['malicious-activity'] } : { pattern_type: 'stix' }),
            }
          : e.type === 'malware'
            ? { name: 'Dropper', ...(legacy ? { labels: ['dropper'] } : { is_family: false }) }
            : { name: 'ACME', identity_class: 'organization' };
      add(id, e.type, v, k, body, legacy, e.fromPeer);
    });
  }
  const pick = (pool: string[], t: number | undefined, type: string) =>
    t === undefined || pool.length === 0 ? external(type) : pool[t % pool.length]!;
  const identities = entityIds.filter((id) => id.startsWith('identity--'));
  const linkIds: string[] = [];
  for (const l of c.links) {
    if (budget <= 0) break;
    const id = `${l.type}--${randomUUID()}`;
    linkIds.push(id);
    const body: Record<string, unknown> =
      l.type === 'relationship'
        ? { relationship_type: 'related-to', source_ref: pick(entityIds, l.a, 'indicator'), target_ref: pick(entityIds, l.b, 'malware') }
        : { sighting_of_ref: pick(entityIds, l.a, 'indicator'), where_sighted_refs: [pick(identities, l.b, 'identity')] };
    for (const [k, v] of l.versions.entries()) if (budget > 0) add(id, l.type, v, k, body, false, l.fromPeer);
  }
  const pool = [...entityIds, ...linkIds];
  for (const r of c.containers) {
    if (budget <= 0) break;
    const id = `${r.type}--${randomUUID()}`;
    r.versions.forEach(({ v, refs }, k) => {
      if (budget <= 0) return;
      const objectRefs = [...new Set(refs.map((t) => pick(pool, t, 'indicator')))];
      const body =
        r.type === 'report'
          ? { name: 'Weekly', published: stamp(0), object_refs: objectRefs }
          : { content: 'Seen twice', object_refs: objectRefs };
      add(id, r.type, v, k, body, false, r.fromPeer);
    });
    pool.push(id);
  }

  // Marking definitions this case uses: the unknown TLP 2.0-style one and a statement (not TLP).
  const used = new Set(versions.flatMap((v) => markingRefs(v.object)));
  const definitions: { object: Record<string, unknown>; batch: number }[] = [];
  if (used.has(ids.unknown)) {
    definitions.push({
      batch: c.unknownBatch,
      object: {
        type: 'marking-definition',
        spec_version: '2.1',
        id: ids.unknown,
        created: TLP2_CREATED,
        name: 'TLP:AMBER',
        extensions: { [TLP2_EXTENSION]: { extension_type: 'property-extension', tlp_2_0: 'amber' } },
      },
    });
  }
  // Posted first, so that it resolves for every object that references it.
  if (used.has(ids.statement)) {
    definitions.push({
      batch: 0,
      object: {
        type: 'marking-definition',
        spec_version: '2.1',
        id: ids.statement,
        created: stamp(0),
        definition_type: 'statement',
        definition: { statement: 'Copyright ACME' },
      },
    });
  }

  const posts: Record<string, unknown>[][] = [[], []];
  for (const d of definitions) posts[c.split ? d.batch : 0]!.push(d.object);
  for (const v of [...versions].sort((x, y) => x.order - y.order)) posts[c.split ? v.batch : 0]!.push(v.object);

  const nonTlp = new Set([ids.statement]);
  const rows: Row[] = [];
  const toRow = (object: Record<string, unknown>, level: number, fromPeer: boolean): Row => {
    const spec = (object.spec_version as string | undefined) ?? '2.0';
    const version = (object.modified ?? object.created) as string;
    const r = references(object);
    return {
      key: rowKey(object.id as string, spec, version),
      id: object.id as string,
      type: object.type as string,
      spec,
      version,
      level,
      refKind: r.kind,
      refs: r.refs,
      fromPeer,
    };
  };
  for (const v of versions) rows.push(toRow(v.object, versionLevel(v.object, nonTlp, c.defaultLevel), v.fromPeer));
  for (const d of definitions) rows.push(toRow(d.object, versionLevel(d.object, nonTlp, c.defaultLevel), false));
  // The shipped TLP 2.0 definitions and their extension definition: served to anyone (CLEAR).
  const shipped = [...used].filter((id) => TLP2_IDS.has(id));
  if (shipped.length) {
    rows.push({
      key: rowKey(TLP2_EXTENSION, '2.1', TLP2_CREATED),
      id: TLP2_EXTENSION,
      type: 'extension-definition',
      spec: '2.1',
      version: TLP2_CREATED,
      level: CLEAR,
      refKind: null,
      refs: [],
      fromPeer: false,
    });
    for (const id of shipped)
      rows.push({
        key: rowKey(id, '2.1', TLP2_CREATED),
        id,
        type: 'marking-definition',
        spec: '2.1',
        version: TLP2_CREATED,
        level: CLEAR,
        refKind: null,
        refs: [],
        fromPeer: false,
      });
  }
  const fromPeer = [...new Set(versions.filter((v) => v.fromPeer).map((v) => v.object.id as string))];

  const short = (id: string) => id.replace(/--(\w{8})[\w-]*/, '--$1');
  const markName = (m: string) =>
    m in ALIASES ? LEVEL_NAMES[ALIASES[m]!] : m === ids.unknown ? 'UNKNOWN-TLP' : m === ids.statement ? 'statement' : 'UNRESOLVABLE';
  const description = [
    `collection default=${LEVEL_NAMES[c.defaultLevel]} relax=${c.relax} public=${c.public}`,
    ...versions.map(
      (v) =>
        `  batch ${c.split ? v.batch : 0}: ${short(v.object.id as string)} ${v.object.modified} ${v.object.spec_version ?? '2.0'} marks=[${markingRefs(v.object).map(markName).join(',')}]` +
        ` refs=[${references(v.object).refs.map(short).join(',')}]${v.fromPeer ? ' from-peer' : ''}`,
    ),
  ].join('\n');
  const posted = new Map([...versions.map((v) => v.object), ...definitions.map((d) => d.object)].map((o) => [toRow(o, 0, false).key, o]));
  return { posts, rows, posted, fromPeer, description };
}

// ---------------------------------------------------------------------------------------------
// Talking to the node.

let node: TestNode;
/** A collection that only exists to name clients RED recipients somewhere else. */
let elsewhere: string;
/** What an id this node has never held answers, per endpoint, with the id replaced by <id>. */
const unknownAnswer = new Map<string, string>();
let cases = 0;
let requests = 0;
const coverage = new Map<string, number>();
const covered = (what: string) => coverage.set(what, (coverage.get(what) ?? 0) + 1);

type Reply = { status: number; headers: Headers; text: string; body: any };

/** `token`: undefined for the admin, null for no credentials at all; a peer signs each request. */
async function send(path: string, token: Caller, method = 'GET'): Promise<Reply> {
  requests++;
  const res = await requestAs(node, path, token, { method });
  const text = await res.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, text, body };
}

class Failure extends Error {}
function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new Failure(message);
}

function checkError(r: Reply, status: number, what: string): void {
  check(r.status === status, `${what}: expected ${status}, got ${r.status} ${r.text.slice(0, 300)}`);
  check(r.headers.get('content-type') === TAXII, `${what}: error content-type ${r.headers.get('content-type')}`);
  check(r.body?.http_status === String(status), `${what}: error resource ${r.text.slice(0, 200)}`);
  check(
    r.headers.get('x-taxii-date-added-first') === null && r.headers.get('x-taxii-date-added-last') === null,
    `${what}: date headers on an error`,
  );
}

/** The ground truth of a case: each stored row's date_added (from the database) and each posted object. */
type Truth = { dateAdded: ReadonlyMap<string, string>; posted: ReadonlyMap<string, Record<string, unknown>> };

/** JSON with object keys sorted: the database keeps objects as jsonb, which reorders keys. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

type Listing = { list: 'objects' | 'versions'; keyOf: (item: any) => string };

const objectKey = (o: any) => rowKey(o.id, o.spec_version ?? '2.0', o.modified ?? o.created);
const manifestKey = (m: any) => rowKey(m.id, /version=([\d.]+)$/.exec(m.media_type ?? '')?.[1] ?? '?', m.version);

/**
 * Reads every page of a paginated endpoint, by `next` or by added_after = the previous page's
 * X-TAXII-Date-Added-Last, and checks each page: exact date headers, none on an empty page,
 * `more` and `next` consistent. Returns the items' row keys in the order served.
 */
async function readAll(
  path: string,
  token: Caller,
  listing: Listing,
  style: 'next' | 'added_after',
  limit: number,
  truth: Truth,
  what: string,
): Promise<string[]> {
  const keys: string[] = [];
  const sep = path.includes('?') ? '&' : '?';
  let cursor: string | undefined;
  let ended = false;
  for (let page = 0; ; page++) {
    check(page < 40, `${what}: more than 40 pages`);
    const position =
      cursor === undefined ? '' : style === 'next' ? `&next=${encodeURIComponent(cursor)}` : `&added_after=${encodeURIComponent(cursor)}`;
    const r = await send(`${path}${sep}limit=${limit}${position}`, token);
    const where = `${what} page ${page}`;
    check(r.status === 200, `${where}: status ${r.status} ${r.text.slice(0, 300)}`);
    check(r.headers.get('content-type') === TAXII, `${where}: content-type ${r.headers.get('content-type')}`);
    const first = r.headers.get('x-taxii-date-added-first');
    const last = r.headers.get('x-taxii-date-added-last');
    if (r.text === '{}') {
      check(first === null && last === null, `${where}: date headers on an empty page (${first}, ${last})`);
      // An empty page only starts an empty listing, or answers the probe after the last page.
      check(page === 0 || ended, `${where}: an empty page after more=true`);
      return keys;
    }
    check(!ended, `${where}: items after a page with more=false`);
    const items: any[] = r.body?.[listing.list];
    check(Array.isArray(items) && items.length >= 1 && items.length <= limit, `${where}: ${items?.length} items for limit ${limit}`);
    check(typeof r.body.more === 'boolean', `${where}: more is ${r.body.more}`);
    check(r.body.more === (r.body.next !== undefined), `${where}: more=${r.body.more} but next=${r.body.next}`);
    const pageKeys = items.map(listing.keyOf);
    for (const k of pageKeys) check(truth.dateAdded.has(k), `${where}: served ${k}, which the collection does not hold`);
    items.forEach((item, i) => {
      const key = pageKeys[i]!;
      if (item?.date_added !== undefined)
        check(item.date_added === truth.dateAdded.get(key), `${where}: ${key} date_added ${item.date_added}`);
      // Served whole, exactly as posted: markings included (the shipped TLP 2.0 objects are the node's own).
      const posted = item?.type !== undefined ? truth.posted.get(key) : undefined;
      if (posted)
        check(
          canonical(item) === canonical(posted),
          `${where}: ${key} served as ${JSON.stringify(item)}, posted as ${JSON.stringify(posted)}`,
        );
    });
    check(
      first === truth.dateAdded.get(pageKeys[0]!),
      `${where}: X-TAXII-Date-Added-First ${first}, first item added ${truth.dateAdded.get(pageKeys[0]!)}`,
    );
    check(
      last === truth.dateAdded.get(pageKeys.at(-1)!),
      `${where}: X-TAXII-Date-Added-Last ${last}, last item added ${truth.dateAdded.get(pageKeys.at(-1)!)}`,
    );
    keys.push(...pageKeys);
    if (!r.body.more) {
      if (style === 'next') return keys;
      // By added_after the listing ends with an empty page: check it too.
      ended = true;
      cursor = last!;
      continue;
    }
    cursor = style === 'next' ? r.body.next : last!;
  }
}

/** tlp.md: a withheld object's id answers 404 exactly as an id never held does. */
function checkAsUnknown(r: Reply, id: string, endpoint: string, what: string): void {
  const text = r.text.replaceAll(id, '<id>');
  check(text === unknownAnswer.get(endpoint), `${what}: answered ${text}, an unknown id ${unknownAnswer.get(endpoint)}`);
}

/** Exactly the expected rows, each once, in date_added order; nothing else. */
function checkServed(served: string[], expected: Set<string>, oracle: Oracle, truth: Truth, what: string): void {
  for (const k of served) {
    const row = oracle.rows.get(k);
    check(expected.has(k), `${what}: served ${k} (id level ${row ? LEVEL_NAMES[oracle.idLevel(row.id)] : '?'}), which it must not`);
  }
  check(new Set(served).size === served.length, `${what}: duplicates in ${served.join(', ')}`);
  const missing = [...expected].filter((k) => !served.includes(k));
  check(missing.length === 0, `${what}: did not serve ${missing.join(', ')}`);
  for (let i = 1; i < served.length; i++) {
    check(truth.dateAdded.get(served[i - 1]!)! < truth.dateAdded.get(served[i]!)!, `${what}: not in date_added order at ${served[i]}`);
  }
}

type Made = { recipient: Recipient; token: Caller; audience: Audience | null; canDelete: boolean; label: string };

async function makeRecipients(c: Case, recipients: Recipient[], collectionId: string): Promise<Made[]> {
  return Promise.all(
    recipients.map(async (r, i): Promise<Made> => {
      if (r.kind === 'anonymous') {
        return {
          recipient: r,
          token: null,
          audience: c.public ? { kind: 'public' } : null,
          canDelete: false,
          label: `anonymous (public=${c.public})`,
        };
      }
      const grants = [{ collection_id: collectionId, can_read: true, can_write: true }];
      const name = `tlp-${randomUUID().slice(0, 12)}`;
      // A peer has no token: it signs each request with keys pinned here.
      const made =
        r.kind === 'peer'
          ? await pinnedPeer(node, { peer_amber: r.amber, grants })
          : await adminJson(node, 'POST', '/admin/clients', { name, clearance: LEVEL_NAMES[r.clearance], own_org: r.ownOrg, grants });
      requests += r.kind === 'peer' ? 2 : 1;
      if (r.red) {
        await adminJson(node, 'PUT', `/admin/collections/${collectionId}/red-recipients/${made.id}`);
        requests++;
      }
      if (r.kind === 'client' && r.redElsewhere) {
        await adminJson(node, 'PUT', `/admin/collections/${elsewhere}/red-recipients/${made.id}`);
        requests++;
      }
      const audience: Audience =
        r.kind === 'peer' ? { kind: 'peer', amber: r.amber } : { kind: 'client', clearance: r.clearance, ownOrg: r.ownOrg, red: r.red };
      const label =
        r.kind === 'peer'
          ? `peer #${i} (peer_amber=${r.amber}, named RED=${r.red})`
          : `client #${i} (clearance ${LEVEL_NAMES[r.clearance]}, own_org=${r.ownOrg}, named RED=${r.red}, RED elsewhere=${r.redElsewhere})`;
      return { recipient: r, token: 'keyring' in made ? made : (made.token as string), audience, canDelete: true, label };
    }),
  );
}

/** The ground truth, read from the database rather than through the read path under test: each stored row's date_added. */
async function storedRows(collectionId: string): Promise<Map<string, string>> {
  const r = await sql<{ id: string; spec_version: string; version: string; date_added: string }>`
    SELECT id, spec_version, version, to_char(date_added AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS date_added
    FROM objects WHERE collection_id = ${collectionId}`.execute(node.database.db);
  return new Map(r.rows.map((row) => [rowKey(row.id, row.spec_version, row.version), row.date_added]));
}

/** One paging style over the whole collection, for one recipient. */
async function checkListing(
  base: string,
  m: Made,
  a: Audience,
  style: (typeof STYLES)[number],
  limit: number,
  oracle: Oracle,
  truth: Truth,
): Promise<void> {
  const [kind, paging] = style.split('-') as [keyof typeof LISTINGS, 'next' | 'added_after'];
  const l = LISTINGS[kind];
  const listing: Listing = { list: 'objects', keyOf: l.path.startsWith('manifest') ? manifestKey : objectKey };
  const what = `${m.label}: ${style} limit=${limit}`;
  const served = await readAll(`${base}/${l.path}`, m.token, listing, paging, limit, truth, what);
  checkServed(served, oracle.served(a, l.versions, undefined, l.anySpec), oracle, truth, what);
  covered(`listing ${style}`);
}

/** The object, versions or delete endpoint for one id: 404 when withheld, else exactly what may be served. */
async function checkId(
  base: string,
  m: Made,
  a: Audience,
  id: string,
  endpoint: (typeof ID_ENDPOINTS)[number],
  limit: number,
  oracle: Oracle,
  truth: Truth,
): Promise<void> {
  const exists = oracle.exists(a, id);
  const what = `${m.label}: ${endpoint} ${id} (id level ${oracle.held(id) ? LEVEL_NAMES[oracle.idLevel(id)] : 'not held'})`;
  if (endpoint === 'delete') {
    // Deleting an id the recipient may see is the case's last step; without credentials it is a 401.
    if (exists && m.canDelete) return;
    covered(m.canDelete ? 'delete withheld' : 'delete anonymous');
    const r = await send(`${base}/objects/${id}/`, m.token, 'DELETE');
    checkError(r, m.canDelete ? 404 : 401, what);
    if (m.canDelete) checkAsUnknown(r, id, 'delete', what);
    return;
  }
  covered(`${endpoint} ${exists ? 'visible' : 'withheld'}`);
  const path =
    endpoint === 'versions'
      ? `${base}/objects/${id}/versions/`
      : endpoint === 'object-all'
        ? `${base}/objects/${id}/?match[version]=all`
        : `${base}/objects/${id}/`;
  if (!exists) {
    const r = await send(`${path}${path.includes('?') ? '&' : '?'}limit=${limit}`, m.token);
    checkError(r, 404, what);
    checkAsUnknown(r, id, endpoint === 'versions' ? 'versions' : 'object', what);
    return;
  }
  if (endpoint === 'versions') {
    const spec = oracle.selected(id, 'all')[0]!.spec;
    const listing: Listing = { list: 'versions', keyOf: (v: string) => rowKey(id, spec, v) };
    const served = await readAll(path, m.token, listing, 'next', limit, truth, what);
    checkServed(served, oracle.served(a, 'all', id), oracle, truth, what);
  } else {
    const served = await readAll(path, m.token, { list: 'objects', keyOf: objectKey }, 'next', limit, truth, what);
    checkServed(served, oracle.served(a, endpoint === 'object-all' ? 'all' : 'last', id), oracle, truth, what);
  }
}

async function runCase(c: Case): Promise<void> {
  cases++;
  const built = build(c);
  try {
    await runBuilt(c, built);
  } catch (err) {
    // The case in readable form: which objects, which markings, which batch.
    if (err instanceof Failure) err.message += `\n${built.description}`;
    throw err;
  }
}

async function runBuilt(c: Case, built: Built): Promise<void> {
  const col = await adminJson(node, 'POST', '/admin/collections', {
    api_root: 'default',
    title: `tlp property ${cases}`,
    default_level: LEVEL_NAMES[c.defaultLevel],
    relax_container_refs: c.relax,
    public: c.public,
  });
  requests++;
  const base = `/default/collections/${col.id}`;
  const [made] = await Promise.all([
    // Only the recipients this case checks: FC_FULL=1 checks them all.
    makeRecipients(c, FULL ? c.recipients : [c.recipients[c.checked % c.recipients.length]!], col.id),
    (async () => {
      for (const batch of built.posts) {
        if (batch.length === 0) continue;
        const status = await postObjects(node, base, batch);
        requests++;
        check(status.success_count === batch.length, `POST: ${JSON.stringify(status.failures ?? status)}`);
      }
    })(),
  ]);
  if (built.fromPeer.length) {
    await node.database.db
      .updateTable('objects')
      .set({ origin: 'peer-x' })
      .where('collection_id', '=', col.id)
      .where('id', 'in', built.fromPeer)
      .execute();
  }
  const oracle = new Oracle(built.rows, c.relax);
  const dateAdded = await storedRows(col.id);
  const truth: Truth = { dateAdded, posted: built.posted };
  const expectedKeys = [...oracle.rows.keys()].sort();
  check(
    JSON.stringify([...dateAdded.keys()].sort()) === JSON.stringify(expectedKeys),
    `stored rows ${[...dateAdded.keys()].sort().join(', ')} != oracle ${expectedKeys.join(', ')}`,
  );

  const recipients = made;
  const ids = [...oracle.ids(), `indicator--${randomUUID()}`];
  await Promise.all(
    recipients.map(async (m) => {
      const a = m.audience;
      if (a === null) {
        // Anonymous on a collection that is not public: credentials needed, whatever the endpoint.
        covered('anonymous refused');
        checkError(await send(`${base}/objects/`, null), 401, `${m.label}: objects`);
        checkError(await send(`${base}/objects/${ids[0]}/versions/`, null), 401, `${m.label}: versions`);
        return;
      }
      covered(`recipient ${a.kind}`);
      const styles = FULL ? STYLES : [c.check.style];
      const work: Promise<void>[] = styles.map((s) => checkListing(base, m, a, s, c.check.limit, oracle, truth));
      ids.forEach((id, i) => {
        const chosen = c.check.perId[i % c.check.perId.length];
        const endpoints = FULL ? ID_ENDPOINTS : chosen ? [chosen] : [];
        for (const e of endpoints) work.push(checkId(base, m, a, id, e, c.check.limit, oracle, truth));
      });
      await Promise.all(work);
    }),
  );

  // Last, as it changes the collection: the recipient deletes an id it may see. Only the
  // versions it may see go (TAXII 2.1 §5.7 with the policy applied); the rest stay.
  const m = recipients[0]!;
  const visible = m.audience && m.canDelete ? oracle.ids().filter((id) => oracle.exists(m.audience!, id)) : [];
  if (c.deleteVisible !== undefined && visible.length > 0) {
    const id = visible[c.deleteVisible % visible.length]!;
    const r = await send(`${base}/objects/${id}/`, m.token, 'DELETE');
    check(r.status === 200, `${m.label}: DELETE visible ${id}: ${r.status} ${r.text.slice(0, 200)}`);
    const gone = new Set(
      oracle
        .rowsOf(id)
        .filter((row) => oracle.servable(m.audience!, row))
        .map((row) => row.key),
    );
    const left = [...dateAdded.keys()].filter((k) => !gone.has(k)).sort();
    const after = [...(await storedRows(col.id)).keys()].sort();
    check(
      JSON.stringify(after) === JSON.stringify(left),
      `${m.label}: after DELETE ${id} the collection holds ${after.join(', ')}, expected ${left.join(', ')}`,
    );
    covered('delete visible');
  }
}

beforeAll(async () => {
  node = await startTestNode();
  elsewhere = (await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: 'tlp property: RED elsewhere' })).id;
  const id = `indicator--${randomUUID()}`;
  const at = `/default/collections/${elsewhere}/objects/${id}/`;
  for (const [endpoint, path, method] of [
    ['object', at, 'GET'],
    ['versions', `${at}versions/`, 'GET'],
    ['delete', at, 'DELETE'],
  ] as const) {
    const r = await send(path, undefined, method);
    expect(r.status).toBe(404);
    unknownAnswer.set(endpoint, r.text.replaceAll(id, '<id>'));
  }
});
afterAll(async () => node?.stop());

describe('TLP policy, property-based, over HTTP', () => {
  it(`serves each recipient exactly what tlp.md allows, on every endpoint and paging style (${NUM_RUNS} cases)`, async () => {
    const started = performance.now();
    const property = fc.asyncProperty(caseArb, runCase);
    const streams = Array.from({ length: STREAMS }, (_, i) => ({
      seed: (SEED + i) | 0,
      numRuns: Math.floor(NUM_RUNS / STREAMS) + (i < NUM_RUNS % STREAMS ? 1 : 0),
    }));
    console.log(`tlp-property: ${NUM_RUNS} cases in ${STREAMS} streams, seeds ${streams.map((s) => s.seed).join(', ')}`);
    const outcomes = await Promise.allSettled(streams.map((s) => fc.assert(property, { ...s, ...(PATH ? { path: PATH } : {}) })));
    const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as Error] : []));
    for (const f of failures.slice(1)) console.error(`another stream failed too: ${f.message.split('\n').slice(0, 3).join(' ')}`);
    if (failures.length) throw failures[0];
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `tlp-property on ${onPostgres ? 'PostgreSQL' : 'PGlite'}: ${cases} cases, ${requests} requests in ${seconds.toFixed(1)} s\n` +
        [...coverage]
          .sort()
          .map(([k, n]) => `  ${k}: ${n}`)
          .join('\n'),
    );
    expect(cases).toBeGreaterThanOrEqual(NUM_RUNS);
    // Every endpoint and every paging style was exercised, visible and withheld, over the run.
    if (NUM_RUNS >= 200) {
      for (const s of STYLES) expect(coverage.get(`listing ${s}`), s).toBeGreaterThan(0);
      for (const e of ID_ENDPOINTS) expect(coverage.get(`${e} withheld`), e).toBeGreaterThan(0);
      for (const e of ['object', 'object-all', 'versions']) expect(coverage.get(`${e} visible`), e).toBeGreaterThan(0);
      for (const k of [
        'recipient client',
        'recipient peer',
        'recipient public',
        'anonymous refused',
        'delete visible',
        'delete anonymous',
      ]) {
        expect(coverage.get(k), k).toBeGreaterThan(0);
      }
    }
  }, 900_000);
});
