import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAXII, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient, indicator } from '../support/stix.ts';
import { consolePost, signIn } from '../browser/console-http.ts';
import { runVigil } from '../support/cli.ts';

// A POSTed body is held whole until PostgreSQL has recorded it, which takes PostgreSQL two to
// three times its size: writers sending large bodies at once must not take the node's and the
// database's memory with them. REQUEST_BYTES_IN_FLIGHT bounds what one node process holds.

const BUDGET = 200_000;

let node: TestNode;
let base: string;
let token: string;
let collectionId: string;

beforeAll(async () => {
  node = await startTestNode({ REQUEST_BYTES_IN_FLIGHT: String(BUDGET) });
  ({ base, token, collectionId } = await collectionWithClient(node));
});
afterAll(async () => node?.stop());

/** A TAXII envelope of at least `bytes` octets: indicators with long descriptions. */
function envelope(bytes: number): string {
  const objects = [];
  for (let size = 20; size < bytes; size += 10_300) objects.push(indicator({ description: 'x'.repeat(10_000) }));
  return JSON.stringify({ objects });
}

type Answer = { status: number; retryAfter: string | undefined; body: any };

/**
 * A POST of `body` whose first `sent` octets go now and the rest on `finish()`: a client still
 * sending. Without `declare`, the body goes chunked, with no Content-Length.
 */
function slowPost(body: string, declare = true, sent = 1000): { finish(): void; answer: Promise<Answer> } {
  const url = new URL(`${base}/objects/`, node.url);
  const req = http.request(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': TAXII,
      accept: TAXII,
      ...(declare ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
    },
  });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, body: JSON.parse(text) }),
      );
    });
  });
  req.write(body.slice(0, sent));
  return { finish: () => req.end(body.slice(sent)), answer };
}

async function post(body: string): Promise<Answer> {
  const res = await node.request(`${base}/objects/`, { method: 'POST', token, headers: { 'content-type': TAXII }, body });
  return { status: res.status, retryAfter: res.headers.get('retry-after') ?? undefined, body: await res.json() };
}

const held = () => node.deps.bodyBudget.held;

describe('request bodies held at once (REQUEST_BYTES_IN_FLIGHT)', () => {
  it('answers 503 with Retry-After to a body that would pass the budget while another is held, then takes it', async () => {
    const first = envelope(150_000);
    const a = slowPost(first);
    // Its declared length is held before a byte of it is read.
    await expect.poll(held, { timeout: 10_000 }).toBe(Buffer.byteLength(first));
    const metrics = await (await node.request('/metrics')).text();
    expect(metrics).toContain(`vigil_request_body_bytes_held ${Buffer.byteLength(first)}`);

    const refused = await post(envelope(100_000));
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBe('5');
    expect(refused.body).toMatchObject({ http_status: '503', error_code: 'unavailable' });
    expect(refused.body.description).toContain('REQUEST_BYTES_IN_FLIGHT');
    // A small one still fits beside it.
    expect((await post(envelope(10_000))).status).toBe(202);

    a.finish();
    expect((await a.answer).status).toBe(202);
    expect(held()).toBe(0);
    expect((await post(envelope(100_000))).status).toBe(202);
    expect(held()).toBe(0);
  });

  it('takes one body larger than the budget when no other is held', async () => {
    const r = await post(envelope(300_000));
    expect(r.status).toBe(202);
    expect(r.body.success_count).toBeGreaterThan(25);
    expect(held()).toBe(0);
  });

  it('holds a body without Content-Length as it arrives, and refuses one that arrives past the budget', async () => {
    const first = envelope(150_000);
    const a = slowPost(first, false, 140_000);
    await expect.poll(held, { timeout: 10_000 }).toBe(140_000);
    // Chunked too: held as its bytes arrive, past the budget while the first is held.
    const b = slowPost(envelope(100_000), false);
    b.finish();
    const refused = await b.answer;
    expect(refused.status).toBe(503);
    expect(refused.body.error_code).toBe('unavailable');
    a.finish();
    expect((await a.answer).status).toBe(202);
    expect(held()).toBe(0);
  });

  it("holds a bundle submitted on the console's form the same way", async () => {
    const session = await signIn(node.url, token);
    const submit = (bundle: string) =>
      consolePost(node.url, `/console/collections/default/${collectionId}/submit`, session.cookies, { _csrf: session.csrf, bundle });
    const bundle = JSON.stringify({ type: 'bundle', id: 'bundle--6f2f7f7e-3f44-4d4a-8f5e-1f0a6c1b2d3e', ...JSON.parse(envelope(100_000)) });
    const first = envelope(150_000);
    const a = slowPost(first);
    await expect.poll(held, { timeout: 10_000 }).toBe(Buffer.byteLength(first));
    const refused = await submit(bundle);
    expect(refused.status).toBe(503);
    expect(await refused.text()).toContain('REQUEST_BYTES_IN_FLIGHT');
    a.finish();
    expect((await a.answer).status).toBe(202);
    expect((await submit(bundle)).status).toBe(303);
    expect(held()).toBe(0);
  });

  it('vigil submit waits out the 503 and sends the request again', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-budget-'));
    try {
      const file = path.join(dir, 'bundle.json');
      const objects = JSON.parse(envelope(100_000)).objects;
      writeFileSync(file, JSON.stringify({ type: 'bundle', id: 'bundle--0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d', objects }));
      const first = envelope(150_000);
      const a = slowPost(first);
      await expect.poll(held, { timeout: 10_000 }).toBe(Buffer.byteLength(first));
      const submitting = runVigil(['--url', node.url, '--token', token, 'submit', file, '--collection', collectionId]);
      // The first answer is a 503; the held body is then recorded, within the node's Retry-After.
      setTimeout(() => a.finish(), 1000);
      const r = await submitting;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/503 Service unavailable: .*REQUEST_BYTES_IN_FLIGHT.*; sending it again in 5 s/);
      expect(r.stdout).toContain(`accepted ${objects.length}, already present 0, rejected 0`);
      expect((await a.answer).status).toBe(202);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('gives back what a refused body held', async () => {
    expect((await post('{"objects": [')).status).toBe(400);
    expect((await post(`{"objects":[${'['.repeat(100)}]}`)).status).toBe(422);
    expect(held()).toBe(0);
  });
});
