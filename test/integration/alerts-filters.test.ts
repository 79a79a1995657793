import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchOutbox } from '../../src/services/alert-matcher.ts';
import { ALERT_TEST_ENV, flakyReceiver, papMarking, subscribe, verifyReceived } from '../support/alerts.ts';
import { capturedLog, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient, indicator, postObjects } from '../support/stix.ts';

// Each filter criterion end to end: one bundle posted by an analyst, one subscriber per
// criterion, each told exactly the objects its filter names, signed.

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode(ALERT_TEST_ENV);
});
afterAll(async () => {
  await node?.stop();
});

describe('every filter criterion decides what a subscriber is told', () => {
  it('types, labels, min_confidence, observable_types, pap; and the ids payload', async () => {
    const { collectionId, token, base } = await collectionWithClient(node);
    const papGreen = papMarking('green');
    const papAmber = papMarking('amber');
    const papRed = papMarking('red');
    const ipGreen = indicator({ labels: ['ransomware'], confidence: 90, object_marking_refs: [papGreen.id] });
    const domainAmber = indicator({
      labels: ['phishing'],
      confidence: 40,
      pattern: "[domain-name:value = 'evil.example']",
      object_marking_refs: [papAmber.id],
    });
    const urlRed = indicator({ pattern: "[url:value = 'http://evil.example/x']", object_marking_refs: [papRed.id] });
    const fileUnmarked = indicator({ confidence: 50, pattern: "[file:hashes.'SHA-256' = '" + 'a'.repeat(64) + "']" });
    const malware = {
      type: 'malware',
      spec_version: '2.1',
      id: `malware--${randomUUID()}`,
      created: '2024-01-01T00:00:00.000Z',
      modified: '2024-01-01T00:00:00.000Z',
      name: 'LockBit',
      is_family: true,
      labels: ['ransomware'],
    };
    const cases = {
      types: { filter: { types: ['malware'] }, expect: [malware.id] },
      labels: { filter: { labels: ['ransomware'] }, expect: [ipGreen.id, malware.id] },
      confidence: { filter: { min_confidence: 50 }, expect: [ipGreen.id, fileUnmarked.id] },
      observables: { filter: { observable_types: ['domain-name', 'url'] }, expect: [domainAmber.id, urlRed.id] },
      pap: { filter: { types: ['indicator'], pap: 'green' }, expect: [ipGreen.id, fileUnmarked.id] },
      none: { filter: { labels: ['wiper'] }, expect: [] },
    };
    const receivers = Object.fromEntries(Object.keys(cases).map((k) => [k, flakyReceiver()]));
    const ids = flakyReceiver();
    try {
      for (const [k, c] of Object.entries(cases)) {
        await receivers[k]!.start();
        await subscribe(node, token, { name: k, collections: [collectionId], filter: c.filter, webhook_url: receivers[k]!.url });
      }
      await ids.start();
      await subscribe(node, token, {
        name: 'ids',
        collections: [collectionId],
        filter: { types: ['indicator'] },
        webhook_url: ids.url,
        payload: 'ids',
      });

      const status = await postObjects(
        node,
        base,
        [papGreen, papAmber, papRed, ipGreen, domainAmber, urlRed, fileUnmarked, malware],
        token,
      );
      expect(status.success_count).toBe(8);
      await node.deps.alerts.drain();

      for (const [k, c] of Object.entries(cases)) {
        const r = receivers[k]!;
        if (c.expect.length === 0) {
          expect(r.requests, k).toHaveLength(0);
          continue;
        }
        // One stored batch: one alert per subscription, with exactly the matching objects.
        expect(r.received, k).toHaveLength(1);
        const alert = r.received[0]!;
        expect(alert.json.objects.map((o: { id: string }) => o.id).sort(), k).toEqual([...c.expect].sort());
        expect(alert.json.object_refs.map((o: { id: string }) => o.id).sort(), k).toEqual([...c.expect].sort());
        const claims = await verifyReceived(node, alert);
        expect(claims.jti).toBe(alert.key);
        expect(claims.sub).toBe(alert.json.subscription.id);
      }
      // The objects are sent as stored, byte for byte the JSON that was posted.
      expect(receivers.types!.received[0]!.json.objects).toEqual([malware]);

      // payload 'ids': references and a TAXII URL to fetch them, no objects.
      expect(ids.received).toHaveLength(1);
      const alert = ids.received[0]!;
      expect(alert.json.objects).toBeUndefined();
      expect(alert.body).not.toContain('"objects":');
      const want = [ipGreen.id, domainAmber.id, urlRed.id, fileUnmarked.id];
      expect(alert.json.object_refs.map((o: { id: string }) => o.id).sort()).toEqual([...want].sort());
      for (const ref of alert.json.object_refs)
        expect(ref).toEqual({ id: expect.any(String), version: '2024-01-01T00:00:00.000Z', date_added: expect.any(String) });
      await verifyReceived(node, alert);
      // The URL fetches exactly those objects with the subscriber's own token.
      const url = new URL(alert.json.objects_url, node.url);
      expect(url.pathname).toBe(`${base}/objects/`);
      const fetched: any = await (await node.request(`${url.pathname}${url.search}`, { token })).json();
      expect(fetched.objects.map((o: { id: string }) => o.id).sort()).toEqual([...want].sort());
    } finally {
      for (const r of [...Object.values(receivers), ids]) await r.stop();
    }
  });

  it('an inactive subscription is told nothing until it is activated again', async () => {
    const { collectionId, token, base } = await collectionWithClient(node);
    const r = flakyReceiver();
    await r.start();
    try {
      const sub = await subscribe(node, token, { name: 'paused', collections: [collectionId], webhook_url: r.url, active: false });
      await postObjects(node, base, [indicator()], token);
      await node.deps.alerts.drain();
      expect(r.requests).toHaveLength(0);
      const res = await node.request(`/alerts/subscriptions/${sub.id}`, {
        method: 'PATCH',
        token,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ active: true }),
      });
      expect(res.status).toBe(200);
      const later = indicator();
      await postObjects(node, base, [later], token);
      await node.deps.alerts.drain();
      expect(r.received.map((a) => a.json.objects.map((o: { id: string }) => o.id))).toEqual([[later.id]]);
    } finally {
      await r.stop();
    }
  });

  it('a copy of a version already held makes no new alert; a new version does', async () => {
    const { collectionId, token, base } = await collectionWithClient(node);
    const r = flakyReceiver();
    await r.start();
    try {
      await subscribe(node, token, { name: 'all', collections: [collectionId], webhook_url: r.url });
      const v1 = indicator();
      await postObjects(node, base, [v1], token);
      await postObjects(node, base, [v1], token);
      await node.deps.alerts.drain();
      expect(r.received).toHaveLength(1);
      const v2 = { ...v1, modified: '2024-03-01T00:00:00.000Z', confidence: 90 };
      await postObjects(node, base, [v1, v2], token);
      await node.deps.alerts.drain();
      expect(r.received.map((a) => a.json.objects.map((o: { modified: string }) => o.modified))).toEqual([[v1.modified], [v2.modified]]);
    } finally {
      await r.stop();
    }
  });
});

describe('a stored filter the node can no longer read', () => {
  it('skips the subscription and says so once a pass, though it is both a trend and a collection subscription', async () => {
    const log = capturedLog();
    const own = await startTestNode({ ...ALERT_TEST_ENV, LOG_LEVEL: 'error' }, undefined, { log: log.log });
    try {
      const { collectionId, token, base } = await collectionWithClient(own);
      const sub = await subscribe(own, token, { name: 'trend', collections: [collectionId], filter: { min_sighting_orgs: 3 } });
      // As an older release might have stored it: the trend criterion present, its value unreadable.
      await sql`UPDATE alert_subscriptions SET filter = '{"min_sighting_orgs": "many"}'::jsonb WHERE id = ${sub.id}::uuid`.execute(
        own.database.db,
      );
      await postObjects(own, base, [indicator()]);
      expect((await matchOutbox(own.database, own.deps.log))?.alerts).toBe(0);
      const said = log.lines.filter((l) => l.subscription === sub.id);
      expect(said).toHaveLength(1);
      expect(said[0]!.msg).toMatch(/unreadable filter/);
    } finally {
      await own.stop();
    }
  });
});
