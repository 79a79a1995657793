import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient, indicator, ipv4, postObjects } from '../support/stix.ts';
import type { StixObject } from '../support/stix.ts';

// objects.latest (migration 0006) is what a read without match[version]/match[spec_version]
// serves; every write must keep it equal to the rule it stands for (TAXII 2.1 §3.4.2). Random
// posts (versions out of order, several in one envelope, copies, versionless SCOs) and deletes,
// checked against the rule in SQL and against the read that applies the rule itself.

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode();
});
afterAll(() => node.stop());

const MONTHS = ['01', '02', '03', '04', '05', '06'];
const created = '2024-01-01T00:00:00.000Z';

type Step = { kind: 'post'; objects: [number, number][] } | { kind: 'delete'; id: number; month: number | null };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('post' as const),
      objects: fc.array(fc.tuple(fc.nat(3), fc.nat(5)), { minLength: 1, maxLength: 6 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), id: fc.nat(3), month: fc.option(fc.nat(5)) }) },
);

async function mismatches(collectionId: string): Promise<number> {
  const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM objects o WHERE o.collection_id = ${collectionId}
    AND o.latest = EXISTS (SELECT 1 FROM objects v WHERE v.collection_id = o.collection_id AND v.id = o.id
      AND (v.spec_version > o.spec_version OR (v.spec_version = o.spec_version AND v.version_at > o.version_at)))`.execute(
    node.database.db,
  );
  return r.rows[0]!.n;
}

async function served(base: string, query: string): Promise<string[]> {
  const res = await node.request(`${base}/objects/?limit=1000${query}`);
  const body = (await res.json()) as { objects?: StixObject[] };
  return (body.objects ?? []).map((o) => `${o.id}|${String(o.modified ?? '')}`).sort();
}

describe('latest versions', () => {
  it('stay what the version rules select through posts and deletes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        const { base, collectionId } = await collectionWithClient(node);
        const ids = [0, 1, 2].map(() => indicator({ created }).id);
        const sco = ipv4(`10.0.0.${Math.floor(Math.random() * 250) + 1}`);
        const version = (i: number, m: number): StixObject =>
          i === 3 ? sco : { ...indicator({ created }), id: ids[i]!, modified: `2024-${MONTHS[m]}-01T00:00:00.000Z`, name: `v${m}` };
        for (const s of steps) {
          if (s.kind === 'post')
            await postObjects(
              node,
              base,
              s.objects.map(([i, m]) => version(i, m)),
            );
          else {
            const id = s.id === 3 ? sco.id : ids[s.id]!;
            const q = s.month === null || s.id === 3 ? '' : `?match[version]=2024-${MONTHS[s.month]}-01T00:00:00.000Z`;
            const res = await node.request(`${base}/objects/${id}/${q}`, { method: 'DELETE' });
            expect([200, 404]).toContain(res.status);
          }
          expect(await mismatches(collectionId)).toBe(0);
        }
        // The default read (the flag) and the same rule stated in the query (computed per row).
        expect(await served(base, '')).toEqual(await served(base, '&match[spec_version]=2.1'));
      }),
      { numRuns: 25 },
    );
  }, 120_000);
});
