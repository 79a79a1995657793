import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, postObjects } from '../support/stix.ts';
import { propertyRuns } from '../support/property-runs.ts';
import { ALIASES, AMBER, AMBER_STRICT, CLEAR, DENY, GREEN, LEVEL_NAMES, RED } from '../support/tlp-oracle.ts';

// A property-based test of the TLP policy (shared/reference/tlp.md) on every feed: each of the six
// lists and the CSV (docs/feeds.md). Each case is a fresh collection of indicators (several
// versions, some revoked or expired) and SCOs whose values overlap, marked at random, and 1-3
// recipients (a client by header, a feed client by ?token=, the admin, an anonymous caller); an
// oracle below, which imports nothing of src/, says what each may be served. Modelled on
// tlp-property.test.ts. Reproduce a failure with FC_SEED (and FC_PATH), as printed.

// 100 cases a pass, each run from a fresh seed: the CI machine's two cores are the suite's limit,
// and FC_RUNS=1000 runs more by hand.
const NUM_RUNS = propertyRuns({ postgres: 100, pglite: 100 });
const PATH = process.env.FC_PATH;
const SEED = process.env.FC_SEED === undefined ? (Date.now() ^ (Math.random() * 0x1_0000_0000)) | 0 : Number(process.env.FC_SEED);

// ---------------------------------------------------------------------------------------------
// The oracle: tlp.md and feeds.md restated in plain functions.

const UNRESOLVABLE = 'unresolvable';

/** The values of the cases, as a pattern names them and as the list serves them: few, so indicators share them. */
const POOL = [
  { kind: 'ipv4', path: 'ipv4-addr:value', sco: 'ipv4-addr', raw: '192.0.2.1', value: '192.0.2.1' },
  { kind: 'ipv4', path: 'ipv4-addr:value', sco: 'ipv4-addr', raw: '192.0.2.0/25', value: '192.0.2.0/25' },
  { kind: 'ipv6', path: 'ipv6-addr:value', sco: 'ipv6-addr', raw: '2001:DB8::1', value: '2001:db8::1' },
  { kind: 'domain', path: 'domain-name:value', sco: 'domain-name', raw: 'Evil.Example', value: 'evil.example' },
  { kind: 'domain', path: 'domain-name:value', sco: 'domain-name', raw: 'c2.example', value: 'c2.example' },
  { kind: 'url', path: 'url:value', sco: 'url', raw: 'http://evil.example/a,b', value: 'http://evil.example/a,b' },
  { kind: 'sha256', path: "file:hashes.'SHA-256'", sco: 'file', raw: 'A'.repeat(64), value: 'a'.repeat(64) },
  { kind: 'md5', path: 'file:hashes.MD5', sco: 'file', raw: 'b'.repeat(32), value: 'b'.repeat(32) },
] as const;
const KINDS = ['ipv4', 'ipv6', 'domain', 'url', 'sha256', 'md5'] as const;

type Audience = { kind: 'admin' } | { kind: 'public' } | { kind: 'client'; clearance: number; ownOrg: boolean; red: boolean };

/** One stored object version: its own level, and the values it gives a feed (none when revoked or expired). */
type Version = { id: string; order: number; level: number; values: (typeof POOL)[number][] };

function ownLevel(marks: string[], defaultLevel: number): number {
  if (marks.includes(UNRESOLVABLE)) return DENY;
  return marks.length === 0 ? defaultLevel : Math.max(...marks.map((m) => ALIASES[m]!));
}

function mayReceive(a: Audience, level: number): boolean {
  switch (a.kind) {
    case 'admin':
      return true;
    case 'public':
      return level === CLEAR;
    case 'client': {
      const max = a.clearance === AMBER_STRICT && !a.ownOrg ? AMBER : a.clearance;
      return level <= max || (level === RED && a.red);
    }
  }
}

/** The CSV rows (value, kind, id, level) a recipient is served: of each id its latest version, at the strictest level of its versions. */
function expectedRows(versions: Version[], a: Audience): Set<string> {
  const byId = new Map<string, Version[]>();
  for (const v of versions) byId.set(v.id, [...(byId.get(v.id) ?? []), v]);
  const rows = new Set<string>();
  for (const [id, vs] of byId) {
    const level = Math.max(...vs.map((v) => v.level));
    if (!mayReceive(a, level)) continue;
    const latest = vs.reduce((x, y) => (y.order > x.order ? y : x));
    for (const p of latest.values) rows.add(`${p.value}|${p.kind}|${id}|${LEVEL_NAMES[level]}`);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// The generated cases.

const markArb = fc.oneof(
  { arbitrary: fc.constantFrom(...Object.keys(ALIASES)), weight: 10 },
  { arbitrary: fc.constant(UNRESOLVABLE), weight: 1 },
);
const valuesArb = fc.uniqueArray(fc.nat(POOL.length - 1), { minLength: 1, maxLength: 3 });
const indicatorArb = fc.record({
  kind: fc.constant('indicator' as const),
  versions: fc.array(
    fc.record({
      marks: fc.array(markArb, { maxLength: 2 }),
      values: valuesArb,
      expired: fc.nat(5).map((n) => n === 0),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  /** The last version revokes it. */
  revoked: fc.nat(4).map((n) => n === 0),
});
const scoArb = fc.record({ kind: fc.constant('sco' as const), marks: fc.array(markArb, { maxLength: 1 }), value: fc.nat(POOL.length - 1) });
const recipientArb = fc.oneof(
  fc.record({ kind: fc.constantFrom('client' as const, 'feed' as const), clearance: fc.nat(3), ownOrg: fc.boolean(), red: fc.boolean() }),
  fc.record({ kind: fc.constant('admin' as const) }),
  fc.record({ kind: fc.constant('anonymous' as const) }),
);
const caseArb = fc.record({
  defaultLevel: fc.nat(4),
  public: fc.boolean(),
  objects: fc.array(fc.oneof({ arbitrary: indicatorArb, weight: 3 }, { arbitrary: scoArb, weight: 1 }), { minLength: 1, maxLength: 6 }),
  recipients: fc.array(recipientArb, { minLength: 1, maxLength: 3 }),
});
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

const stamp = (day: number) => `2024-01-${String(day + 1).padStart(2, '0')}T00:00:00.000Z`;

/** The case's STIX objects, and the oracle's view of each version. */
function build(c: Case): { objects: Record<string, unknown>[]; versions: Version[] } {
  const unresolvable = `marking-definition--${randomUUID()}`;
  const refs = (marks: string[]) => [...new Set(marks.map((m) => (m === UNRESOLVABLE ? unresolvable : m)))];
  const objects: Record<string, unknown>[] = [];
  const versions: Version[] = [];
  for (const o of c.objects) {
    if (o.kind === 'sco') {
      const p = POOL[o.value]!;
      const id = `${p.sco}--${randomUUID()}`;
      const body = p.sco === 'file' ? { hashes: { [p.kind === 'md5' ? 'MD5' : 'SHA-256']: p.raw } } : { value: p.raw };
      objects.push({ type: p.sco, spec_version: '2.1', id, ...body, ...(o.marks.length ? { object_marking_refs: refs(o.marks) } : {}) });
      versions.push({ id, order: 0, level: ownLevel(o.marks, c.defaultLevel), values: [p] });
      continue;
    }
    const id = `indicator--${randomUUID()}`;
    o.versions.forEach((v, k) => {
      const revoked = o.revoked && k === o.versions.length - 1;
      const values = v.values.map((i) => POOL[i]!);
      objects.push({
        type: 'indicator',
        spec_version: '2.1',
        id,
        created: stamp(0),
        modified: stamp(k + 1),
        name: 'block',
        pattern: values.map((p) => `[${p.path} = '${p.raw}']`).join(' OR '),
        pattern_type: 'stix',
        valid_from: stamp(0),
        ...(v.expired ? { valid_until: stamp(20) } : {}),
        ...(revoked ? { revoked: true } : {}),
        ...(v.marks.length ? { object_marking_refs: refs(v.marks) } : {}),
      });
      versions.push({ id, order: k, level: ownLevel(v.marks, c.defaultLevel), values: revoked || v.expired ? [] : values });
    });
  }
  return { objects, versions };
}

// ---------------------------------------------------------------------------------------------
// The property, over HTTP.

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => node?.stop());

const seen = { kinds: new Set<string>(), recipients: new Set<string>(), levels: new Set<string>() };

async function runCase(c: Case): Promise<void> {
  const col = await adminJson(node, 'POST', '/admin/collections', {
    api_root: 'default',
    title: `feeds-tlp ${randomUUID()}`,
    default_level: LEVEL_NAMES[c.defaultLevel],
    public: c.public,
  });
  const { objects, versions } = build(c);
  await postObjects(node, `/default/collections/${col.id}`, objects);
  for (const r of c.recipients) {
    let audience: Audience | null;
    let request: (path: string) => Promise<Response>;
    if (r.kind === 'admin') {
      audience = { kind: 'admin' };
      request = (path) => node.request(path, { headers: { accept: '*/*' } });
    } else if (r.kind === 'anonymous') {
      audience = c.public ? { kind: 'public' } : null;
      request = (path) => node.request(path, { token: null, headers: { accept: '*/*' } });
    } else {
      const made = await adminJson(node, 'POST', '/admin/clients', {
        name: `feeds-tlp-${randomUUID().slice(0, 12)}`,
        clearance: LEVEL_NAMES[r.clearance],
        own_org: r.ownOrg,
        ...(r.kind === 'feed' ? { kind: 'feed' } : {}),
        grants: [{ collection_id: col.id, can_read: true, can_write: false }],
      });
      if (r.red) await adminJson(node, 'PUT', `/admin/collections/${col.id}/red-recipients/${made.id}`);
      audience = { kind: 'client', clearance: r.clearance, ownOrg: r.ownOrg, red: r.red };
      request =
        r.kind === 'feed'
          ? (path) => node.request(`${path}?token=${made.token}`, { token: null, headers: { accept: '*/*' } })
          : (path) => node.request(path, { token: made.token, headers: { accept: '*/*' } });
    }
    const label = JSON.stringify(r);
    seen.recipients.add(r.kind);
    if (audience === null) {
      expect((await request(`/feeds/${col.id}/ipv4.txt`)).status, label).toBe(401);
      continue;
    }
    const rows = expectedRows(versions, audience);
    for (const row of rows) seen.levels.add(row.split('|')[3]!);
    for (const kind of KINDS) {
      const res = await request(`/feeds/${col.id}/${kind}.txt`);
      expect(res.status, `${label} ${kind}`).toBe(200);
      const want = [
        ...new Set(
          [...rows]
            .map((x) => x.split('|'))
            .filter((x) => x[1] === kind)
            .map((x) => x[0]!),
        ),
      ].sort();
      expect(await res.text(), `${label} ${kind}`).toBe(want.map((v) => `${v}\n`).join(''));
      if (want.length > 0) seen.kinds.add(kind);
    }
    const csv = await request(`/feeds/${col.id}/indicators.csv`);
    const served = (await csv.text())
      .split('\r\n')
      .slice(1, -1)
      .map((line) => {
        const m = /^("(?:[^"]|"")*"|[^,]*),([^,]*),([^,]*),[^,]*,([^,]*),/.exec(line)!;
        const value = m[1]!.startsWith('"') ? m[1]!.slice(1, -1).replace(/""/g, '"') : m[1]!;
        return `${value}|${m[2]}|${m[3]}|${m[4]}`;
      });
    expect(new Set(served).size, `${label} csv duplicates`).toBe(served.length);
    expect(new Set(served), `${label} csv`).toEqual(rows);
  }
}

/**
 * A case that reaches every list, every kind of recipient and every level (the last through an
 * unresolvable marking, which only the admin is served). It runs first on every pass, so the
 * coverage checked below never rests on a pass's few random cases (CI's PGlite pass runs 25, and
 * once none of them showed the admin an unresolvable marking).
 */
const mark = (level: number) => Object.keys(ALIASES).find((m) => ALIASES[m] === level)!;
const EVERYTHING: Case = {
  defaultLevel: CLEAR,
  public: true,
  objects: [
    { kind: 'sco', marks: [], value: 0 },
    { kind: 'sco', marks: [mark(GREEN)], value: 2 },
    { kind: 'sco', marks: [mark(AMBER)], value: 3 },
    { kind: 'sco', marks: [mark(AMBER_STRICT)], value: 5 },
    { kind: 'sco', marks: [mark(RED)], value: 6 },
    { kind: 'indicator', versions: [{ marks: [UNRESOLVABLE], values: [7], expired: false }], revoked: false },
  ],
  recipients: [
    { kind: 'admin' },
    { kind: 'anonymous' },
    { kind: 'client', clearance: AMBER, ownOrg: false, red: false },
    { kind: 'feed', clearance: AMBER_STRICT, ownOrg: true, red: true },
  ],
};

describe('feeds under the TLP policy (property)', () => {
  it(`serves each recipient exactly the values of the latest versions it may receive, on every list and the CSV (${NUM_RUNS} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => runCase(c)),
      { numRuns: NUM_RUNS, seed: SEED, examples: [[EVERYTHING]], ...(PATH ? { path: PATH } : {}), endOnFailure: true },
    );
    // Every list, every kind of recipient, every level was exercised over the run.
    expect([...seen.kinds].sort()).toEqual([...KINDS].sort());
    expect([...seen.recipients].sort()).toEqual(['admin', 'anonymous', 'client', 'feed']);
    expect([...seen.levels].sort()).toEqual([...LEVEL_NAMES].sort());
  }, 600_000);
});
