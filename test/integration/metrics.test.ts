import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, capturedLog, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient, indicator, postObjects } from '../support/stix.ts';
import { startReceiver } from '../support/webhook-receiver.ts';

// Operators: Prometheus metrics at /metrics, and JSON logs with a request id on every line.

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

const { lines, log } = capturedLog();
let node: TestNode;

beforeAll(async () => {
  node = await startTestNode(
    { METRICS_TOKEN, LOG_LEVEL: 'info', ALERT_TICK_MS: '100', ALERT_WEBHOOK_ALLOW_PRIVATE: 'true', ALERT_WEBHOOK_ALLOW_HTTP: 'true' },
    undefined,
    { log },
  );
});

afterAll(async () => {
  await node?.stop();
});

async function scrape(token: string | null = METRICS_TOKEN): Promise<{ status: number; text: string; type: string | null }> {
  const res = await fetch(`${node.url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

/** The value of one sample, by metric name and a label subset; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('/metrics', () => {
  it('needs METRICS_TOKEN or the admin token', async () => {
    expect((await scrape(null)).status).toBe(401);
    expect((await scrape('wrong-token-0123456789abcdef')).status).toBe(401);
    const ok = await scrape();
    expect(ok.status).toBe(200);
    expect(ok.type).toContain('text/plain');
    expect((await scrape(ADMIN_TOKEN)).status).toBe(200);
  });

  it('shows request latency by route and status, objects served by collection and TLP level, after traffic', async () => {
    const { collectionId, token, base } = await collectionWithClient(node);
    await postObjects(
      node,
      base,
      [indicator(), indicator({ object_marking_refs: ['marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb'] })],
      token,
    );
    const ingested = (await scrape()).text;
    expect(sample(ingested, 'vigil_objects_ingested_total', { collection: collectionId, level: 'GREEN' })).toBe(1);
    expect(sample(ingested, 'vigil_objects_ingested_total', { collection: collectionId, level: 'AMBER' })).toBe(1);
    // A copy of a version already held is not ingested again.
    const listed = (await (await node.request(`${base}/objects/`, { token })).json()) as { objects: unknown[] };
    await postObjects(node, base, [listed.objects[0]], token);
    expect(sample((await scrape()).text, 'vigil_objects_ingested_total', { collection: collectionId, level: 'AMBER' })).toBe(1);
    const before = sample((await scrape()).text, 'vigil_objects_served_total', { collection: collectionId, level: 'GREEN' }) ?? 0;
    const res = await node.request(`${base}/objects/`, { token });
    expect(res.status).toBe(200);
    const text = (await scrape()).text;
    expect(
      sample(text, 'vigil_http_request_duration_seconds_count', { method: 'GET', route: '/:root/collections/:id/objects', status: '200' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'vigil_objects_served_total', { collection: collectionId, level: 'GREEN' })).toBe(before + 1);
    expect(sample(text, 'vigil_objects_served_total', { collection: collectionId, level: 'AMBER' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'vigil_ingest_backlog_requests')).toBe(0);
    // PGlite has one session and no pool.
    if (node.database.kind === 'postgres') expect(sample(text, 'vigil_db_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(1);
    else expect(sample(text, 'vigil_db_pool_connections', { state: 'total' })).toBeUndefined();
  });

  it('counts webhook deliveries and their latency', async () => {
    const { collectionId, token, base } = await collectionWithClient(node);
    const receiver = await startReceiver();
    try {
      const res = await node.request('/alerts/subscriptions', {
        method: 'POST',
        token,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ name: 'all', collections: [collectionId], webhook_url: receiver.url }),
      });
      expect(res.status).toBe(201);
      const before = sample((await scrape()).text, 'vigil_alert_webhook_attempts_total', { outcome: 'delivered' }) ?? 0;
      await postObjects(node, base, [indicator()], token);
      await receiver.waitFor(1);
      await node.deps.alerts.drain();
      const text = (await scrape()).text;
      expect(sample(text, 'vigil_alert_webhook_attempts_total', { outcome: 'delivered' })).toBe(before + 1);
      expect(sample(text, 'vigil_alert_delivery_latency_seconds_count')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'vigil_alerts', { state: 'delivered' })).toBeGreaterThanOrEqual(1);
    } finally {
      await receiver.close();
    }
  });
});

describe('logs', () => {
  it('carry the request id on every line written while handling a request, and answer it', async () => {
    const res = await node.request('/taxii2/', { headers: { 'x-request-id': 'proxy-req-42' } });
    expect(res.headers.get('x-request-id')).toBe('proxy-req-42');
    const fresh = await node.request('/taxii2/', { headers: { 'x-request-id': 'not sane; drop table' } });
    const id = fresh.headers.get('x-request-id')!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const access = lines.filter((l) => l.msg === 'request' && l.request_id === 'proxy-req-42');
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({ method: 'GET', route: '/taxii2', status: 200 });
    expect(lines.some((l) => l.request_id === id)).toBe(true);
  });

  it('answer the request id on every kind of answer: errors, pages, documents, the stream of alerts', async () => {
    for (const path of ['/no-such-root/collections/', '/taxii2/', '/openapi.json', '/metrics', '/console/login']) {
      const res = await node.request(path, { headers: { 'x-request-id': `id-${path.length}` } });
      await res.arrayBuffer();
      expect(res.headers.get('x-request-id'), path).toBe(`id-${path.length}`);
    }
    const stream = await node.request('/alerts/stream', { headers: { 'x-request-id': 'stream-1', accept: 'text/event-stream' } });
    expect(stream.headers.get('x-request-id')).toBe('stream-1');
    await stream.body?.cancel();
  });

  it('never carry a token', async () => {
    await node.request('/taxii2/', { token: 'secret-token-that-must-not-be-logged' });
    const all = JSON.stringify(lines);
    expect(all).not.toContain('secret-token-that-must-not-be-logged');
    expect(all).not.toContain(ADMIN_TOKEN);
    expect(all).not.toContain(METRICS_TOKEN);
  });
});
