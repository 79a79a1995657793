import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAlert } from '../../src/services/alert-signature.ts';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient, indicator, postObjects } from '../support/stix.ts';
import { startReceiver } from '../support/webhook-receiver.ts';

const ALERT_ENV = { ALERT_WEBHOOK_ALLOW_PRIVATE: 'true', ALERT_WEBHOOK_ALLOW_HTTP: 'true', ALERT_TICK_MS: '100' };

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode(ALERT_ENV);
});
afterAll(async () => {
  await node?.stop();
});

async function subscribe(token: string, body: unknown) {
  const res = await node.request('/alerts/subscriptions', {
    method: 'POST',
    token,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

describe('webhook alerts: an analyst posts an indicator, a matching hospital is told within seconds', () => {
  it('reaches the matching subscriber, signed, and not the one whose filter does not match', async () => {
    const { collectionId, token, base } = await collectionWithClient(node);
    const wanted = await startReceiver();
    const other = await startReceiver();
    try {
      await subscribe(token, {
        name: 'ips',
        collections: [collectionId],
        filter: { observable_types: ['ipv4-addr'] },
        webhook_url: wanted.url,
      });
      await subscribe(token, {
        name: 'domains',
        collections: [collectionId],
        filter: { observable_types: ['domain-name'] },
        webhook_url: other.url,
      });
      const ioc = indicator({ labels: ['ransomware'] });
      await postObjects(node, base, [ioc], token);
      const [alert] = await wanted.waitFor(1);
      expect(alert!.json.objects.map((o: { id: string }) => o.id)).toEqual([ioc.id]);
      const jwks = await (await fetch(`${node.url}/.well-known/jwks.json`)).json();
      const claims = await verifyAlert(alert!.headers['vigil-signature'] as string, alert!.body, jwks);
      expect(claims.jti).toBe(alert!.json.id);
      expect(alert!.headers['idempotency-key']).toBe(alert!.json.id);
      await node.deps.alerts.drain();
      expect(other.received).toHaveLength(0);
    } finally {
      await wanted.close();
      await other.close();
    }
  });
});
