import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_TEST_ENV, flakyReceiver, subscribe } from '../support/alerts.ts';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient, postObjects } from '../support/stix.ts';
import type { StixObject } from '../support/stix.ts';

// The CPE watchlist: a hospital lists the products it runs; a vulnerability linked to matching
// software by a `has`/`targets` relationship alerts it, whatever order the three arrive in.

const T = '2024-01-01T00:00:00.000Z';
const software = (cpe: string): StixObject => ({
  type: 'software',
  spec_version: '2.1',
  id: `software--${randomUUID()}`,
  name: 'PACS server',
  cpe,
});
const vulnerability = (): StixObject => ({
  type: 'vulnerability',
  spec_version: '2.1',
  id: `vulnerability--${randomUUID()}`,
  created: T,
  modified: T,
  name: `CVE-2024-${Math.floor(Math.random() * 90000) + 10000}`,
});
const relationship = (type: string, source: StixObject, target: StixObject): StixObject => ({
  type: 'relationship',
  spec_version: '2.1',
  id: `relationship--${randomUUID()}`,
  created: T,
  modified: T,
  relationship_type: type,
  source_ref: source.id,
  target_ref: target.id,
});

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode(ALERT_TEST_ENV);
});
afterAll(async () => {
  await node?.stop();
});

describe('CPE watchlist alerts', () => {
  const scenarios: [string, (sw: StixObject, v: StixObject, rel: StixObject) => StixObject[][]][] = [
    ['all in one bundle', (sw, v, rel) => [[sw, v, rel]]],
    ['vulnerability and software first, the relationship later', (sw, v, rel) => [[v, sw], [rel]]],
    ['the relationship first, vulnerability and software later', (sw, v, rel) => [[rel], [sw, v]]],
    ['software and relationship first, the vulnerability later', (sw, v, rel) => [[sw, rel], [v]]],
    ['one at a time: vulnerability, relationship, software', (sw, v, rel) => [[v], [rel], [sw]]],
  ];

  for (const [name, order] of scenarios) {
    it(`fires once for a matching product: ${name}`, async () => {
      const { collectionId, token, base } = await collectionWithClient(node);
      const watch = flakyReceiver();
      const other = flakyReceiver();
      await watch.start();
      await other.start();
      try {
        await subscribe(node, token, {
          name: 'pacs',
          collections: [collectionId],
          filter: { cpe_prefixes: ['cpe:2.3:a:acme:pacs'] },
          webhook_url: watch.url,
        });
        await subscribe(node, token, {
          name: 'other',
          collections: [collectionId],
          filter: { cpe_prefixes: ['cpe:2.3:a:globex:'] },
          webhook_url: other.url,
        });
        const sw = software('cpe:2.3:a:ACME:pacs:4.2:*:*:*:*:*:*:*');
        const v = vulnerability();
        const rel = relationship('has', sw, v);
        for (const batch of order(sw, v, rel)) {
          expect((await postObjects(node, base, batch, token)).success_count).toBe(batch.length);
          await node.deps.alerts.drain();
        }
        expect(watch.received).toHaveLength(1);
        // The vulnerability goes with the relationship and the software that made it match.
        const sent = watch.received[0]!.json.objects.map((o: StixObject) => o.id).sort();
        expect(sent).toEqual([sw.id, v.id, rel.id].sort());
        expect(other.requests).toHaveLength(0);
      } finally {
        await watch.stop();
        await other.stop();
      }
    });
  }

  it('fires on `targets` too, not on other relationship types nor on software without a matching CPE', async () => {
    const { collectionId, token, base } = await collectionWithClient(node);
    const r = flakyReceiver();
    await r.start();
    try {
      await subscribe(node, token, {
        name: 'pacs',
        collections: [collectionId],
        filter: { cpe_prefixes: ['cpe:2.3:a:acme:pacs:4.2:', 'cpe:2.3:o:acme:'] },
        webhook_url: r.url,
      });
      const pacs = software('cpe:2.3:a:acme:pacs:4.2:*:*:*:*:*:*:*');
      const oldPacs = software('cpe:2.3:a:acme:pacs:3.9:*:*:*:*:*:*:*');
      const firmware = software('cpe:2.3:o:acme:firmware:1:*:*:*:*:*:*:*');
      const noCpe: StixObject = { type: 'software', spec_version: '2.1', id: `software--${randomUUID()}`, name: 'no cpe' };
      const [vTargets, vRelated, vOld, vNoCpe] = [vulnerability(), vulnerability(), vulnerability(), vulnerability()];
      const objects = [
        pacs,
        oldPacs,
        firmware,
        noCpe,
        vTargets,
        vRelated,
        vOld,
        vNoCpe,
        relationship('targets', vTargets, firmware),
        relationship('related-to', pacs, vRelated),
        relationship('has', oldPacs, vOld),
        relationship('has', noCpe, vNoCpe),
      ];
      await postObjects(node, base, objects, token);
      await node.deps.alerts.drain();
      expect(r.received).toHaveLength(1);
      const vulns = r.received[0]!.json.objects.filter((o: StixObject) => o.type === 'vulnerability').map((o: StixObject) => o.id);
      expect(vulns).toEqual([vTargets.id]);
    } finally {
      await r.stop();
    }
  });
});
