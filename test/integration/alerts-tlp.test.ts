import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchOutbox } from '../../src/services/alert-matcher.ts';
import { ALERT_TEST_ENV, deliveries, flakyReceiver, subscribe } from '../support/alerts.ts';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, indicator, postObjects } from '../support/stix.ts';
import { TLP1, TLP2 } from '../fixtures/tlp-ids.ts';

// Alerts follow the TLP rules of the path out: a subscriber is told only what it could poll,
// with the rights it has when the alert is sent, not those it had when it subscribed.

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode(ALERT_TEST_ENV);
});
afterAll(async () => {
  await node?.stop();
});

async function client(collectionId: string, clearance: string) {
  return adminJson(node, 'POST', '/admin/clients', {
    name: `c-${Math.random().toString(36).slice(2, 10)}`,
    clearance,
    grants: [{ collection_id: collectionId, can_read: true, can_write: true }],
  });
}

async function collection() {
  const col = await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: `tlp ${Math.random()}` });
  return { id: col.id as string, base: `/default/collections/${col.id}` };
}

const sentIds = (r: ReturnType<typeof flakyReceiver>) => r.received.flatMap((a) => a.json.objects.map((o: { id: string }) => o.id)).sort();

describe('TLP decides who is alerted', () => {
  it('AMBER never reaches a GREEN client; GREEN does; RED reaches only a named RED recipient', async () => {
    const col = await collection();
    const [green, amber, red] = [await client(col.id, 'GREEN'), await client(col.id, 'AMBER'), await client(col.id, 'GREEN')];
    await adminJson(node, 'PUT', `/admin/collections/${col.id}/red-recipients/${red.id}`);
    const rx = { green: flakyReceiver(), amber: flakyReceiver(), red: flakyReceiver() };
    try {
      const subs: Record<string, any> = {};
      for (const [k, c] of Object.entries({ green, amber, red })) {
        await rx[k as keyof typeof rx].start();
        subs[k] = await subscribe(node, c.token, {
          name: k,
          collections: [col.id],
          filter: { types: ['indicator'] },
          webhook_url: rx[k as keyof typeof rx].url,
        });
      }
      // A stream-only subscription is matched under the same rules. (Indicators only: the node ships
      // the TLP 2.0 marking definitions into the collection, which would match too.)
      const greenStream = await subscribe(node, green.token, { name: 'stream', collections: [col.id], filter: { types: ['indicator'] } });
      const o = {
        clear: indicator({ object_marking_refs: [TLP1.white] }),
        green: indicator({ object_marking_refs: [TLP1.green] }),
        green2: indicator({ object_marking_refs: [TLP2.green] }),
        amber: indicator({ object_marking_refs: [TLP1.amber] }),
        amber2: indicator({ object_marking_refs: [TLP2.amber] }),
        amberGranular: indicator({
          object_marking_refs: [TLP1.green],
          granular_markings: [{ marking_ref: TLP1.amber, selectors: ['pattern'] }],
        }),
        unmarked: indicator(),
        red: indicator({ object_marking_refs: [TLP1.red] }),
        strict: indicator({ object_marking_refs: [TLP2.amberStrict] }),
      };
      for (const x of Object.values(o)) expect((await postObjects(node, col.base, [x])).success_count).toBeGreaterThan(0);
      await node.deps.alerts.drain();
      const ids = (...k: (keyof typeof o)[]) => k.map((n) => o[n].id).sort();
      expect(sentIds(rx.green)).toEqual(ids('clear', 'green', 'green2'));
      expect(sentIds(rx.amber)).toEqual(ids('clear', 'green', 'green2', 'amber', 'amber2', 'amberGranular', 'unmarked'));
      expect(sentIds(rx.red)).toEqual(ids('clear', 'green', 'green2', 'red'));
      // Nothing withheld was even recorded as an alert for the GREEN client.
      expect(await deliveries(node, green.token, greenStream.id)).toHaveLength(3);
      expect((await deliveries(node, green.token, subs.green.id)).every((d) => d.state === 'delivered')).toBe(true);
    } finally {
      for (const r of Object.values(rx)) await r.stop();
    }
  });

  it('a client whose grant is removed after the match is sent nothing: the alert is withheld', async () => {
    const col = await collection();
    const c = await client(col.id, 'AMBER');
    const r = flakyReceiver();
    await r.start();
    try {
      const sub = await subscribe(node, c.token, { name: 'revoked', collections: [col.id], webhook_url: r.url });
      await postObjects(node, col.base, [indicator()]);
      expect((await matchOutbox(node.database, node.deps.log))?.alerts).toBe(1);
      expect((await deliveries(node, c.token, sub.id)).map((d) => d.state)).toEqual(['pending']);
      await adminJson(node, 'DELETE', `/admin/clients/${c.id}/grants/${col.id}`);
      await node.deps.alerts.drain();
      expect(r.requests).toHaveLength(0);
      expect((await deliveries(node, c.token, sub.id)).map((d) => d.state)).toEqual(['withheld']);
      // And nothing new is matched for it while it has no grant.
      await postObjects(node, col.base, [indicator()]);
      await node.deps.alerts.drain();
      expect(await deliveries(node, c.token, sub.id)).toHaveLength(1);
    } finally {
      await r.stop();
    }
  });

  it('a client lowered to GREEN after the match is sent only what GREEN may see', async () => {
    const col = await collection();
    const c = await client(col.id, 'AMBER');
    const r = flakyReceiver();
    await r.start();
    try {
      const sub = await subscribe(node, c.token, { name: 'lowered', collections: [col.id], webhook_url: r.url });
      const amber = indicator({ object_marking_refs: [TLP1.amber] });
      const green = indicator({ object_marking_refs: [TLP1.green] });
      await postObjects(node, col.base, [amber]);
      await postObjects(
        node,
        col.base,
        [amber, green].map((x) => ({ ...x, modified: '2024-02-01T00:00:00.000Z' })),
      );
      expect((await matchOutbox(node.database, node.deps.log))?.alerts).toBe(2);
      await adminJson(node, 'PATCH', `/admin/clients/${c.id}`, { clearance: 'GREEN' });
      await node.deps.alerts.drain();
      expect(sentIds(r)).toEqual([green.id]);
      expect(r.received[0]!.json.objects).toHaveLength(1);
      expect((await deliveries(node, c.token, sub.id)).map((d) => d.state).sort()).toEqual(['delivered', 'withheld']);
    } finally {
      await r.stop();
    }
  });
});
