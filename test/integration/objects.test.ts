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
