import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runVigil } from '../support/cli.ts';
import type { Run } from '../support/cli.ts';
import { ADMIN_TOKEN, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, collectionWithClient, indicator, postObjects } from '../support/stix.ts';
import { splitIntoRequests } from '../../src/cli/submit.ts';

// `vigil submit` as an analyst runs it: a real child process against a node on loopback.
// Requests of more than 3 objects are queued by the node (`pending`), so the CLI must wait.

let node: TestNode;
let tmp: string;
beforeAll(async () => {
  node = await startTestNode({ SYNC_INGEST_MAX_OBJECTS: '3' });
  tmp = mkdtempSync(path.join(tmpdir(), 'vigil-cli-submit-'));
});
afterAll(async () => {
  await node?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function vigil(args: string[], o: { token?: string; url?: string; stdin?: string } = {}): Promise<Run> {
  return runVigil(['--url', o.url ?? node.url, '--token', o.token ?? ADMIN_TOKEN, ...args], { stdin: o.stdin });
}

function bundleFile(objects: unknown[]): string {
  const file = path.join(tmp, `${randomUUID()}.json`);
  writeFileSync(file, JSON.stringify({ type: 'bundle', id: `bundle--${randomUUID()}`, objects }));
  return file;
}

async function storedIds(base: string): Promise<string[]> {
  const res = await node.request(`${base}/objects/?limit=1000`);
  const body = (await res.json()) as { objects?: { id: string }[] };
  return (body.objects ?? []).map((o) => o.id).sort();
}

describe('splitIntoRequests', () => {
  it('fills each envelope up to max_content_length in octets (UTF-8), never over, keeping the order', () => {
    const objects = Array.from({ length: 40 }, (_, i) => indicator({ name: `é€ ${'ü'.repeat(i * 7)}` }));
    const max = 3000;
    const { requests, tooLarge } = splitIntoRequests(objects, max);
    expect(tooLarge).toEqual([]);
    expect(requests.flatMap((r) => r.indices)).toEqual(objects.map((_, i) => i));
    for (const [n, r] of requests.entries()) {
      const size = Buffer.byteLength(r.body);
      expect(size).toBeLessThanOrEqual(max);
      expect(JSON.parse(r.body)).toEqual({ objects: r.indices.map((i) => objects[i]) });
      // Tight: the next request's first object would not have fitted in this one.
      const following = requests[n + 1];
      if (following) expect(size + 1 + Buffer.byteLength(JSON.stringify(objects[following.indices[0]!]))).toBeGreaterThan(max);
    }
    const exact = splitIntoRequests([objects[0]], Buffer.byteLength(JSON.stringify({ objects: [objects[0]] })));
    expect(exact.requests).toHaveLength(1);
  });
});

describe.concurrent('vigil submit', () => {
  it('sums up accepted, already present and rejected (with reasons), with a client token; exit 1', async () => {
    const { collectionId, token, base } = await collectionWithClient(node);
    const held = indicator();
    await postObjects(node, base, [held], token);
    const fresh = indicator();
    const badPattern = indicator({ pattern: "[ipv4-addr:value = '198.51.100.7'" });
    const noId = { ...indicator(), id: undefined };
    const file = bundleFile([fresh, held, badPattern, noId]);

    const r = await vigil(['--json', 'submit', file, '--collection', collectionId], { token });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('2 of 4 objects were rejected');
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({
      file,
      collection: collectionId,
      api_root: 'default',
      total: 4,
      accepted: 1,
      already_present: 1,
      rejected: 2,
      pending: 0,
    });
    expect(summary.requests).toHaveLength(1);
    expect(summary.rejections).toEqual([
      { index: 2, id: badPattern.id, message: expect.stringMatching(/^pattern: /) },
      { index: 3, id: null, message: 'id: is required' },
    ]);
    expect(await storedIds(base)).toEqual([fresh.id, held.id].sort());

    // Again, in words: what was added is now already present; the reasons are the node's.
    const again = await vigil(['submit', file, '--collection', collectionId], { token });
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('accepted 0, already present 2, rejected 2');
    expect(again.stdout).toContain(`objects[2] ${badPattern.id}: pattern: `);
    expect(again.stdout).toContain('objects[3] (no id): id: is required');
  });

  it("submits the README's example bundle: three stored, the fourth refused for its pattern", async () => {
    const { collectionId, token } = await collectionWithClient(node);
    const r = await vigil(['--json', 'submit', path.join(ROOT, 'examples', 'bundle.json'), '--collection', collectionId], { token });
    expect(r.code, r.stderr).toBe(1);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ total: 4, accepted: 3, rejected: 1 });
    expect(summary.rejections).toEqual([
      { index: 3, id: 'indicator--7d4a1c9e-2b6f-4a3d-9e8c-0b5f7a1d3c46', message: expect.stringMatching(/^pattern: syntax error/) },
    ]);
  });

  it("splits a bundle over a small API root's max_content_length; every object arrives, in order", async () => {
    const root = `small-${randomUUID().slice(0, 8)}`;
    await adminJson(node, 'POST', '/admin/api-roots', { name: root, title: 'small requests', max_content_length: 4000 });
    const col = await adminJson(node, 'POST', '/admin/collections', { api_root: root, title: 'split' });
    const objects = Array.from({ length: 20 }, (_, i) => indicator({ name: `split ${i} ${'x'.repeat(200)}` }));
    const tooBig = indicator({ description: 'y'.repeat(4500) });
    const file = bundleFile([...objects.slice(0, 10), tooBig, ...objects.slice(10)]);

    const r = await vigil(['--json', 'submit', file, '--collection', col.id, '--api-root', root]);
    expect(r.code, r.stderr).toBe(1);
    const summary = JSON.parse(r.stdout);
    expect(summary.requests.length).toBeGreaterThan(2);
    expect(summary).toMatchObject({ total: 21, accepted: 20, already_present: 0, rejected: 1, pending: 0 });
    expect(summary.rejections).toEqual([{ index: 10, id: tooBig.id, message: expect.stringContaining('max_content_length of 4000') }]);

    const res = await node.request(`/${root}/collections/${col.id}/objects/?limit=1000`);
    const stored = ((await res.json()) as { objects: { id: string }[] }).objects.map((o) => o.id);
    expect(stored).toEqual(objects.map((o) => o.id));
  });

  it('reads stdin with -, takes a TAXII envelope, and exits 0 when nothing is rejected', async () => {
    const { collectionId, token, base } = await collectionWithClient(node);
    const objects = Array.from({ length: 5 }, () => indicator());
    const r = await vigil(['submit', '-', '--collection', collectionId], { token, stdin: JSON.stringify({ objects }) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('stdin -> collection');
    expect(r.stdout).toContain('accepted 5, already present 0, rejected 0');
    expect(r.stdout).not.toContain('rejected:');
    expect(await storedIds(base)).toEqual(objects.map((o) => o.id).sort());
  });

  it('exits 2 on a file that is not JSON, naming it, before asking the node anything', async () => {
    const file = path.join(tmp, 'not-json.json');
    writeFileSync(file, 'indicator--1234, not json');
    const r = await vigil(['submit', file, '--collection', randomUUID()], { url: 'http://127.0.0.1:9' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file} is not JSON`);
    expect(r.stdout).toBe('');
  });

  it('exits 3 with a message and no stack trace when the node cannot be reached', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const r = await vigil(['submit', bundleFile([indicator()]), '--collection', randomUUID()], { url: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot reach the node at http://127.0.0.1:${port}`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 4 without the right to write, 1 for a collection that does not exist', async () => {
    const { collectionId, token } = await collectionWithClient(node, { can_read: true, can_write: false });
    const file = bundleFile([indicator()]);
    const [forbidden, wrong, missing] = await Promise.all([
      vigil(['submit', file, '--collection', collectionId], { token }),
      vigil(['submit', file, '--collection', collectionId], { token: 'not-a-token-of-this-node' }),
      vigil(['submit', file, '--collection', randomUUID()]),
    ]);
    expect(forbidden.code, forbidden.stderr).toBe(4);
    expect(forbidden.stderr).toContain('403');
    expect(wrong.code, wrong.stderr).toBe(4);
    expect(wrong.stderr).toContain('401');
    expect(missing.code, missing.stderr).toBe(1);
    expect(missing.stderr).toContain('404');
  });
});
