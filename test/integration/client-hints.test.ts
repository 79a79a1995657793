import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { basic, expectTaxiiError } from '../support/endpoints.ts';
import { adminJson, collectionWithClient, indicator, postObjects } from '../support/stix.ts';

// A SIEM polls its collection's objects all day with one token. After the first poll, the node
// checks that token in the page's own statement (services/client-hints.ts) rather than in a
// lookup before it. Whatever changed about the client since (its token, its clearance, its name,
// the client itself) must count from the very next poll, exactly as with a lookup.

const GREEN_MARKING = 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da';

let node: TestNode;
let base: string;
let collectionId: string;
let clientId: string;
let clientName: string;
let token: string;
const green = indicator({ object_marking_refs: [GREEN_MARKING] });
const amber = indicator();

const poll = (t: string, query = '') => node.request(`${base}/objects/${query}`, { token: t });
const served = async (res: Response) => ((await res.json()) as { objects?: { id: string }[] }).objects?.map((o) => o.id).sort() ?? [];

async function expectRefused(res: Response, status: number): Promise<void> {
  expectTaxiiError({ status: res.status, headers: res.headers, text: await res.text() }, status);
}

beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => node?.stop());

// Each test starts from a fresh AMBER client that has polled once, so its next poll rides on a hint.
beforeEach(async () => {
  const fixture = await collectionWithClient(node);
  base = fixture.base;
  collectionId = fixture.collectionId;
  clientId = fixture.clientId;
  clientName = fixture.clientName;
  token = fixture.token;
  await postObjects(node, base, [green, amber]);
  expect(await served(await poll(token))).toEqual([amber.id, green.id].sort());
});

describe("a client's token, checked on every poll of its objects", () => {
  it('serves the same page on the next poll as on the first', async () => {
    expect(await served(await poll(token))).toEqual([amber.id, green.id].sort());
    const first = await poll(token, '?limit=1');
    const next = ((await first.clone().json()) as { next: string }).next;
    const rest = await served(await poll(token, `?limit=1&next=${encodeURIComponent(next)}`));
    expect([...(await served(first)), ...rest].sort()).toEqual([amber.id, green.id].sort());
  });

  it('refuses a rotated token from the next poll on (401), and serves the new one', async () => {
    const rotated = await adminJson(node, 'POST', `/admin/clients/${clientId}/token`);
    await expectRefused(await poll(token), 401);
    expect(await served(await poll(rotated.token))).toEqual([amber.id, green.id].sort());
    await expectRefused(await poll(token), 401);
  });

  it('refuses the token of a deleted client (401)', async () => {
    await adminJson(node, 'DELETE', `/admin/clients/${clientId}`);
    await expectRefused(await poll(token), 401);
  });

  it('serves a lowered clearance from the next poll on', async () => {
    await adminJson(node, 'PATCH', `/admin/clients/${clientId}`, { clearance: 'GREEN' });
    expect(await served(await poll(token))).toEqual([green.id]);
    expect(await served(await poll(token))).toEqual([green.id]);
  });

  it('answers a revoked grant 404 as to any client without one', async () => {
    await adminJson(node, 'DELETE', `/admin/clients/${clientId}/grants/${collectionId}`);
    await expectRefused(await poll(token), 404);
  });

  it('refuses HTTP Basic under another name, and takes it under a new one', async () => {
    await expectRefused(await node.request(`${base}/objects/`, { headers: { authorization: basic('someone-else', token) } }), 401);
    await adminJson(node, 'PATCH', `/admin/clients/${clientId}`, { name: `${clientName}-renamed` });
    await expectRefused(await node.request(`${base}/objects/`, { headers: { authorization: basic(clientName, token) } }), 401);
    const res = await node.request(`${base}/objects/`, { headers: { authorization: basic(`${clientName}-renamed`, token) } });
    expect(await served(res)).toEqual([amber.id, green.id].sort());
  });

  it('answers a revoked token 401, not what its request would otherwise get', async () => {
    await adminJson(node, 'POST', `/admin/clients/${clientId}/token`);
    await expectRefused(await poll(token, '?limit=not-a-number'), 401);
    await expectRefused(await poll(token, '?next=forged'), 401);
    await expectRefused(await node.request(`${base.replace(/[^/]+$/, '00000000-0000-4000-8000-000000000000')}/objects/`, { token }), 401);
  });
});
