import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateStixObject } from '../../src/stix/validate.ts';
import { runVigil } from '../support/cli.ts';
import type { Run } from '../support/cli.ts';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient, indicator, ipv4, postObjects } from '../support/stix.ts';

// `vigil poll` as a SIEM connector runs it, run after run with a cursor file: a real child
// process with a client token against a node on loopback.

let node: TestNode;
let tmp: string;
beforeAll(async () => {
  node = await startTestNode();
  tmp = mkdtempSync(path.join(tmpdir(), 'vigil-cli-poll-'));
});
afterAll(async () => {
  await node?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function vigil(token: string, args: string[]): Promise<Run> {
  return runVigil(['--url', node.url, '--token', token, ...args]);
}

const lines = (ndjson: string) =>
  ndjson
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { id: string; type: string });

describe.concurrent('vigil poll', () => {
  it('continues each run where the last stopped: never an object lost, never one twice', async () => {
    const { collectionId, token, base } = await collectionWithClient(node);
    const cursor = path.join(tmp, `${randomUUID()}.cursor`);
    const first = Array.from({ length: 5 }, () => indicator());
    await postObjects(node, base, first, token);

    // Pages of 2: the CLI follows `next` until the node says there is no more.
    const run1 = await vigil(token, ['poll', collectionId, '--cursor-file', cursor, '--limit', '2']);
    expect(run1.code, run1.stderr).toBe(0);
    expect(lines(run1.stdout).map((o) => o.id)).toEqual(first.map((o) => o.id));
    expect(run1.stderr).toContain('polled 5 objects in 3 requests');
    const saved = readFileSync(cursor, 'utf8').trim();
    const head = await node.request(`${base}/objects/?limit=1000`, { token });
    expect(saved).toBe(head.headers.get('x-taxii-date-added-last'));

    const second = [indicator(), ipv4('203.0.113.9'), indicator()];
    await postObjects(node, base, second, token);
    await postObjects(node, base, [first[0]], token); // already present: its date_added does not move
    const run2 = await vigil(token, ['poll', collectionId, '--cursor-file', cursor, '--limit', '2']);
    expect(run2.code, run2.stderr).toBe(0);
    expect(lines(run2.stdout).map((o) => o.id)).toEqual(second.map((o) => o.id));

    const run3 = await vigil(token, ['--json', 'poll', collectionId, '--cursor-file', cursor]);
    expect(run3.code, run3.stderr).toBe(0);
    expect(run3.stdout).toBe('');
    expect(JSON.parse(run3.stderr)).toMatchObject({ objects: 0, pages: 1, cursor: readFileSync(cursor, 'utf8').trim() });
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes a STIX bundle to --out, filtered by --type, and starts at --added-after', async () => {
    const { collectionId, token, base } = await collectionWithClient(node);
    const addresses = [ipv4('192.0.2.1'), ipv4('192.0.2.2')];
    await postObjects(node, base, [indicator(), addresses[0], indicator(), addresses[1]], token);
    const out = path.join(tmp, `${randomUUID()}.json`);

    const r = await vigil(token, ['--json', 'poll', collectionId, '--type', 'ipv4-addr,malware', '--format', 'bundle', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ objects: 2, out });
    const bundle = JSON.parse(readFileSync(out, 'utf8'));
    expect(bundle.type).toBe('bundle');
    expect(bundle.id).toMatch(/^bundle--[0-9a-f-]{36}$/);
    expect(bundle.objects.map((o: { id: string }) => o.id)).toEqual(addresses.map((o) => o.id));
    for (const o of bundle.objects) expect(validateStixObject(o).ok).toBe(true);

    // After the last object: an empty bundle, still valid JSON, and the file replaced whole.
    const empty = await vigil(token, ['poll', collectionId, '--format', 'bundle', '--out', out, '--added-after', summary.cursor]);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toContain('polled 0 objects');
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual({ type: 'bundle', id: expect.stringMatching(/^bundle--/) });
  });

  it('refuses a bad cursor file (2), a wrong token (4), an unknown collection (1), and keeps the cursor', async () => {
    const { collectionId, token } = await collectionWithClient(node);
    const bad = path.join(tmp, `${randomUUID()}.cursor`);
    writeFileSync(bad, 'yesterday\n');
    const kept = path.join(tmp, `${randomUUID()}.cursor`);
    writeFileSync(kept, '2024-01-01T00:00:00.000000Z\n');
    const [badCursor, wrongToken, unknown, badOption] = await Promise.all([
      vigil(token, ['poll', collectionId, '--cursor-file', bad]),
      vigil('not-a-token-of-this-node', ['poll', collectionId, '--cursor-file', kept]),
      vigil(token, ['poll', randomUUID(), '--cursor-file', kept]),
      vigil(token, ['poll', collectionId, '--added-after', 'last tuesday']),
    ]);
    expect(badCursor.code).toBe(2);
    expect(badCursor.stderr).toContain(bad);
    expect(wrongToken.code, wrongToken.stderr).toBe(4);
    expect(unknown.code, unknown.stderr).toBe(1);
    expect(unknown.stderr).toContain('404');
    expect(badOption.code).toBe(2);
    expect(readFileSync(kept, 'utf8')).toBe('2024-01-01T00:00:00.000000Z\n');
    expect(existsSync(bad)).toBe(true);
  });
});
