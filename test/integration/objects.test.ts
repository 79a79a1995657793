import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient, indicator, ipv4, postObjects } from '../support/stix.ts';

let node: TestNode;
let base: string;
beforeAll(async () => {
  node = await startTestNode();
  ({ base } = await collectionWithClient(node));
});
afterAll(async () => node?.stop());

describe('POST then GET objects (TAXII 2.1 §5.4, §5.5)', () => {
  it('stores what was posted and serves back the same objects, with microsecond date headers', async () => {
    const objs = [indicator({ x_custom: { nested: [1, 2.5, 'three'] }, labels: ['malicious-activity'] }), ipv4('198.51.100.7')];
    const status = await postObjects(node, base, objs);
    expect(status).toMatchObject({ status: 'complete', total_count: 2, success_count: 2, failure_count: 0, pending_count: 0 });
    const res = await node.request(`${base}/objects/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/taxii+json;version=2.1');
    const first = res.headers.get('x-taxii-date-added-first')!;
    const last = res.headers.get('x-taxii-date-added-last')!;
    expect(first).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect(last > first).toBe(true);
    const body: any = await res.json();
    expect(body.more).toBe(false);
    expect(body.objects).toEqual(objs);
  });

  it('gives an empty collection as {} with no date headers', async () => {
    const { base: empty } = await collectionWithClient(node);
    const res = await node.request(`${empty}/objects/`);
    expect(await res.text()).toBe('{}');
    expect(res.headers.get('x-taxii-date-added-first')).toBeNull();
    expect(res.headers.get('x-taxii-date-added-last')).toBeNull();
  });
});

describe('a page longer than one chunk of the page text', () => {
  it('serves every object once, in date_added order, with exact byte lengths for text outside ASCII', async () => {
    const { base: many } = await collectionWithClient(node);
    // Three chunks and a bit (the store joins 50 objects a chunk), some descriptions outside
    // ASCII: the response is assembled from each chunk's UTF-8 bytes.
    const objs = Array.from({ length: 163 }, (_, i) =>
      indicator({ name: `chunked ${i}`, description: i % 7 === 0 ? `Überwachung ${i} — 监控 🛡️` : `plain ${i}` }),
    );
    expect(await postObjects(node, many, objs)).toMatchObject({ status: 'complete', success_count: 163 });

    const first = await node.request(`${many}/objects/?limit=120`);
    const text = await first.text();
    expect(Number(first.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    const page: any = JSON.parse(text);
    expect(page.more).toBe(true);
    expect(page.objects).toEqual(objs.slice(0, 120));

    const rest: any = await (await node.request(`${many}/objects/?limit=120&next=${encodeURIComponent(page.next)}`)).json();
    expect(rest.more).toBe(false);
    expect(rest.objects).toEqual(objs.slice(120));
  });

  it('serves a page of mostly multi-byte text with exact byte lengths', async () => {
    const { base: wide } = await collectionWithClient(node);
    const objs = Array.from({ length: 60 }, (_, i) => indicator({ name: `监控 ${i}`, description: '监控网络流量中的异常行为'.repeat(20) }));
    expect(await postObjects(node, wide, objs)).toMatchObject({ status: 'complete', success_count: 60 });
    const res = await node.request(`${wide}/objects/`);
    const text = await res.text();
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(JSON.parse(text).objects).toEqual(objs);
  });
});
