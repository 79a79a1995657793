import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureKeyring, loadKeyring } from '../../src/federation/keyring.ts';
import { signOrigin, verifyOrigin } from '../../src/federation/origin-signature.ts';
import { createRequestProof, PROOF_SCHEME } from '../../src/federation/request-proof.ts';
import { RESPONSE_SIGNATURE_HEADER } from '../../src/federation/response-signature.ts';
import { createPuller } from '../../src/services/puller.ts';
import { claimSource } from '../../src/store/sources.ts';
import { ADMIN_TOKEN, TAXII, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, indicator, postObjects } from '../support/stix.ts';
import type { StixObject } from '../support/stix.ts';
import { lateDefinitionBundle } from '../support/bundles.ts';
import { readCollection } from '../support/taxii-read.ts';

const GREEN = 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da';
const AMBER = 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82';
const RED = 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed';
const AMBER_STRICT = 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003';

type Mode = 'pass' | 'tamper' | 'bad-signature' | 'garbage' | 'error-500' | 'too-many' | 'huge' | 'drop' | 'cursor' | 'slow' | 'hang';
const hanging: http.ServerResponse[] = [];

let a: TestNode; // pulls
let b: TestNode; // is pulled from, through the proxy
let proxy: http.Server;
let proxyPort: number;
let mode: Mode = 'pass';
let colA: string;
let colB: string;
let baseB: string;
let peerAtB: string; // node-a's client at B
let subId: string;

/** B as A sees it: passes requests through (Host kept, so proofs still match), or misbehaves. */
function startProxy(target: string): Promise<http.Server> {
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    if (mode === 'error-500') return void res.writeHead(500, { 'content-type': TAXII }).end('{"title":"boom"}');
    if (mode === 'too-many') return void res.writeHead(429, { 'content-type': TAXII, 'retry-after': '600' }).end('{"title":"slow down"}');
    if (mode === 'garbage') return void res.writeHead(200, { 'content-type': TAXII }).end('<html>not a page</html>');
    if (mode === 'huge') {
      res.writeHead(200, { 'content-type': TAXII });
      const chunk = 'x'.repeat(65_536);
      let n = 0;
      const write = () => {
        while (n++ < 64) if (!res.write(chunk)) return void res.once('drain', write);
        res.end();
      };
      return write();
    }
    // a peer that answers nothing at all, until the test lets go of it
    if (mode === 'hang') return void hanging.push(res);
    // a peer that takes too long to answer at all
    if (mode === 'slow') return void setTimeout(() => res.writeHead(200, { 'content-type': TAXII }).end('{}'), 1500);
    if (mode === 'drop') {
      res.writeHead(200, { 'content-type': TAXII, 'content-length': '100000' });
      res.write('{"more":false,"objects":[{"id":');
      return void setTimeout(() => res.socket?.destroy(), 20);
    }
    const up = http.request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (upRes) => {
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('end', () => {
          let body = Buffer.concat(chunks).toString('utf8');
          const headers = { ...upRes.headers };
          delete headers['content-length'];
          delete headers['transfer-encoding'];
          if (mode === 'tamper') body = body.replaceAll('Known C2 address', 'Known C2 addrezz');
          // moves the cursor header a year ahead: a puller believing it would skip objects
          if (mode === 'cursor' && headers['x-taxii-date-added-last'])
            headers['x-taxii-date-added-last'] = String(headers['x-taxii-date-added-last']).replace(/^(\d{4})/, (y) =>
              String(Number(y) + 1),
            );
          if (mode === 'bad-signature') {
            const [h, p, s] = String(headers[RESPONSE_SIGNATURE_HEADER.toLowerCase()]).split('.');
            headers[RESPONSE_SIGNATURE_HEADER.toLowerCase()] = `${h}.${p}.${[...s!].reverse().join('')}`;
          }
          res.writeHead(upRes.statusCode!, headers).end(body);
        });
      },
    );
    up.on('error', () => res.writeHead(502).end());
    up.end();
  });
  return new Promise((resolve) => server.listen(proxyPort ?? 0, '127.0.0.1', () => resolve(server)));
}

async function stopProxy(): Promise<void> {
  await new Promise<void>((resolve) => {
    proxy.close(() => resolve());
    proxy.closeAllConnections();
  });
}

async function peerClient(
  node: TestNode,
  name: string,
  nodeId: string,
  keys: unknown[],
  opts: { collection?: string; baseUrl?: string; amber?: boolean } = {},
) {
  const grants = opts.collection ? [{ collection_id: opts.collection, can_read: true, can_write: false }] : [];
  const c = await adminJson(node, 'POST', '/admin/clients', { name, kind: 'peer', peer_amber: opts.amber ?? false, grants });
  await adminJson(node, 'PUT', `/admin/clients/${c.id}/peer`, {
    node_id: nodeId,
    keys,
    ...(opts.baseUrl ? { base_url: opts.baseUrl } : {}),
  });
  return c.id as string;
}

const held = async (node: TestNode, collection: string, id: string) =>
  (
    await sql<{ origin: string | null; origin_node: string | null; origin_signature: string | null; json: string }>`
      SELECT origin, origin_node, origin_signature, object::text AS json FROM objects WHERE collection_id = ${collection} AND id = ${id}`.execute(
      node.database.db,
    )
  ).rows;

const subscription = async () =>
  (
    await sql<{ cursor: string | null; consecutive_failures: number; wait: number; last_error: string | null }>`
      SELECT cursor, consecutive_failures, extract(epoch FROM next_attempt - now())::float8 AS wait, last_error
      FROM sources WHERE id = ${subId}`.execute(a.database.db)
  ).rows[0]!;

const receipts = async () => Number((await sql<{ n: number }>`SELECT count(*)::int AS n FROM receipts`.execute(a.database.db)).rows[0]!.n);

const submitAtB = (objects: StixObject[]) => postObjects(b, baseB, objects);

beforeAll(async () => {
  b = await startTestNode({ NODE_ID: 'node-b', PULL_TICK_MS: '0' });
  proxy = await startProxy(b.url);
  proxyPort = (proxy.address() as AddressInfo).port;
  a = await startTestNode({ NODE_ID: 'node-a', PULL_TICK_MS: '0' });
  colB = (await adminJson(b, 'POST', '/admin/collections', { api_root: 'default', title: 'shared at B' })).id;
  baseB = `/default/collections/${colB}`;
  colA = (await adminJson(a, 'POST', '/admin/collections', { api_root: 'default', title: 'pulled from B' })).id;
  peerAtB = await peerClient(b, 'node-a', 'node-a', a.deps.keyring.publicKeys(), { collection: colB });
  const peerAtA = await peerClient(a, 'node-b', 'node-b', b.deps.keyring.publicKeys(), { baseUrl: `http://127.0.0.1:${proxyPort}` });
  const sub = await adminJson(a, 'POST', '/admin/sources', {
    peer_id: peerAtA,
    remote_api_root: 'default',
    remote_collection_id: colB,
    collection_id: colA,
    interval_seconds: 1,
  });
  subId = sub.id;
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await new Promise<void>((resolve) => (proxy.listening ? proxy.close(() => resolve()) : resolve()));
});

describe('the puller: A pulls a collection from B over signed requests', () => {
  const green = indicator({ object_marking_refs: [GREEN] });
  const amber1 = indicator({ object_marking_refs: [AMBER] });
  const amber2 = indicator({ object_marking_refs: [AMBER] });
  const red = indicator({ object_marking_refs: [RED] });
  const strict = indicator({ object_marking_refs: [AMBER_STRICT] });

  it('brings GREEN objects with their origin (node-b) and a signature that verifies at A; AMBER only under the agreement; never RED or AMBER+STRICT', async () => {
    await submitAtB([green, amber1, red, strict]);
    const outcome = await a.deps.puller.pullNow(subId);
    expect(outcome).toMatchObject({ ok: true, pages: 1 });
    const [g] = await held(a, colA, green.id);
    expect(g).toMatchObject({ origin: 'node-b', origin_node: 'node-b' });
    await verifyOrigin(g!.origin_signature!, JSON.parse(g!.json), 'node-b', await getPinned());
    for (const o of [amber1, red, strict]) expect(await held(a, colA, o.id), o.id).toEqual([]);
    const s = await subscription();
    expect(s.consecutive_failures).toBe(0);
    expect(s.cursor).toMatch(/^\d{4}-/);
    expect(await receipts()).toBe(1);
  });

  it('brings AMBER once B allows it (peer_amber), and a second pull brings only what is new', async () => {
    await adminJson(b, 'PATCH', `/admin/clients/${peerAtB}`, { peer_amber: true });
    // The cursor is the last date_added A was served: amber1, withheld then, lies after it.
    const again = await a.deps.puller.pullNow(subId);
    expect(again).toMatchObject({ ok: true, pages: 1, stored: 1 });
    expect(await held(a, colA, amber1.id)).toHaveLength(1);
    expect(await a.deps.puller.pullNow(subId)).toMatchObject({ ok: true, pages: 0, stored: 0 });
    await submitAtB([amber2]);
    const next = await a.deps.puller.pullNow(subId);
    expect(next).toMatchObject({ ok: true, pages: 1, stored: 1 });
    expect(await held(a, colA, amber2.id)).toHaveLength(1);
    for (const o of [red, strict]) expect(await held(a, colA, o.id), o.id).toEqual([]);
    expect(await held(a, colA, green.id)).toHaveLength(1);
  });

  it('reports each source to Prometheus: failures in a row, lag, last success, labelled by source, peer and collection', async () => {
    const res = await a.request('/metrics', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const text = await res.text();
    const labels = `{source="${subId}",peer="node-b",collection="${colA}"}`;
    expect(text).toContain(`vigil_peer_pull_failures${labels} 0`);
    expect(text).toMatch(new RegExp(`vigil_peer_pull_lag_seconds${labels.replace(/[{}.]/g, '\\$&')} \\d`));
    expect(text).toMatch(new RegExp(`vigil_peer_pull_last_success_timestamp_seconds${labels.replace(/[{}.]/g, '\\$&')} \\d`));
  });

  it('brings every version of an object, also those superseded before the pull ran', async () => {
    const v1 = indicator({ object_marking_refs: [GREEN], created: '2024-03-01T00:00:00.000Z', modified: '2024-03-01T00:00:00.000Z' });
    const v2 = { ...v1, modified: '2024-03-02T00:00:00.000Z', name: 'second version' };
    await submitAtB([v1]);
    await submitAtB([v2]);
    expect(await a.deps.puller.pullNow(subId)).toMatchObject({ ok: true, stored: 2 });
    const versions = (await held(a, colA, v1.id)).map((row) => JSON.parse(row.json).modified);
    expect(versions.sort()).toEqual(['2024-03-01T00:00:00.000Z', '2024-03-02T00:00:00.000Z']);
  });

  it('never relays AMBER it received to a third peer', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-peer-c-'));
    await ensureKeyring(dir, 'node-c');
    const c = loadKeyring(dir);
    await peerClient(a, 'node-c', 'node-c', c.publicKeys(), { collection: colA, amber: true });
    const url = `${a.url}/default/collections/${colA}/objects/`;
    const { token } = await createRequestProof(c, 'node-a', 'GET', url);
    const res = await fetch(url, { headers: { accept: TAXII, authorization: `${PROOF_SCHEME} ${token}` } });
    expect(res.status).toBe(200);
    const ids = ((await res.json()) as { objects: { id: string }[] }).objects.map((o) => o.id);
    expect(ids).toContain(green.id);
    expect(ids).not.toContain(amber2.id);
  });

  it('backs off while B is down, keeps the cursor, and catches up with no duplicate and nothing missed', async () => {
    const before = await subscription();
    await stopProxy();
    const late = indicator({ object_marking_refs: [GREEN] });
    await submitAtB([late]);
    const first = await a.deps.puller.pullNow(subId);
    expect(first).toMatchObject({ ok: false, error: { code: 'unreachable' } });
    let s = await subscription();
    expect(s.consecutive_failures).toBe(1);
    expect(s.cursor).toBe(before.cursor);
    expect(s.wait).toBeGreaterThan(2);
    expect(s.wait).toBeLessThanOrEqual(5);
    expect(s.last_error).toMatch(/unreachable/);
    expect((await a.deps.puller.pullNow(subId))?.ok).toBe(false);
    s = await subscription();
    expect(s.consecutive_failures).toBe(2);
    expect(s.wait).toBeGreaterThan(4.5);
    proxy = await startProxy(b.url);
    const caught = await a.deps.puller.pullNow(subId);
    expect(caught).toMatchObject({ ok: true, stored: 1 });
    expect(await held(a, colA, late.id)).toHaveLength(1);
    expect(await held(a, colA, green.id)).toHaveLength(1);
    s = await subscription();
    expect(s.consecutive_failures).toBe(0);
    expect(s.last_error).toBeNull();
    const status = await adminJson(a, 'GET', `/admin/sources/${subId}`);
    expect(status).toMatchObject({ consecutive_failures: 0, last_error: null, quarantined: 0, peer_node_id: 'node-b' });
    expect(status.lag_seconds).toBeGreaterThanOrEqual(0);
    expect(status.last_success).toMatch(/Z$/);
  });

  it('waits as long as a peer that answers 429 asks (Retry-After), not only its own backoff', async () => {
    mode = 'too-many';
    try {
      const outcome = await a.deps.puller.pullNow(subId);
      expect(outcome).toMatchObject({ ok: false, error: { code: 'http-status' } });
      expect(outcome?.error?.message).toMatch(/429.*retry after 600 s/);
    } finally {
      mode = 'pass';
    }
    const s = await subscription();
    expect(s.wait).toBeGreaterThan(590);
    expect((await a.deps.puller.pullNow(subId))?.ok).toBe(true);
  });

  it.each([
    ['tamper', 'bad-signature', {}],
    ['cursor', 'bad-signature', {}],
    ['bad-signature', 'bad-signature', {}],
    ['garbage', 'bad-signature', {}],
    ['error-500', 'http-status', {}],
    ['huge', 'too-large', { maxBytes: 1_000_000 }],
    ['drop', 'connection-lost', {}],
    ['slow', 'timeout', { headersTimeoutMs: 300 }],
  ] as const)('ingests nothing from a page that fails (%s) and keeps the cursor', async (m, code, limits) => {
    const fresh = indicator({ object_marking_refs: [GREEN] });
    await submitAtB([fresh]);
    const before = await subscription();
    const receiptsBefore = await receipts();
    mode = m;
    try {
      const outcome = await a.deps.puller.pullNow(subId, { limits });
      expect(outcome).toMatchObject({ ok: false, stored: 0, error: { code } });
    } finally {
      mode = 'pass';
    }
    expect(await held(a, colA, fresh.id)).toEqual([]);
    const s = await subscription();
    expect(s.cursor).toBe(before.cursor);
    expect(s.consecutive_failures).toBe(before.consecutive_failures + 1);
    expect(await receipts()).toBe(receiptsBefore);
    expect((await a.deps.puller.pullNow(subId))?.ok).toBe(true);
    expect(await held(a, colA, fresh.id)).toHaveLength(1);
  });

  it('refuses a whole page when one object has a bad origin signature', async () => {
    const good = indicator({ object_marking_refs: [GREEN] });
    const forged = indicator({ object_marking_refs: [GREEN] });
    await submitAtB([good, forged]);
    const [row] = await held(b, colB, forged.id);
    // change one character inside the signature part (always a change, always valid base64url)
    const sig = row!.origin_signature!;
    const at = sig.length - 20;
    const forgedSig = `${sig.slice(0, at)}${sig[at] === 'A' ? 'B' : 'A'}${sig.slice(at + 1)}`;
    await sql`UPDATE objects SET origin_signature = ${forgedSig} WHERE id = ${forged.id}`.execute(b.database.db);
    const before = await subscription();
    const outcome = await a.deps.puller.pullNow(subId);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'bad-origin' } });
    expect(await held(a, colA, good.id)).toEqual([]);
    expect((await subscription()).cursor).toBe(before.cursor);
    await sql`UPDATE objects SET origin_signature = ${row!.origin_signature} WHERE id = ${forged.id}`.execute(b.database.db);
    expect((await a.deps.puller.pullNow(subId))?.ok).toBe(true);
    expect(await held(a, colA, good.id)).toHaveLength(1);
    expect(await held(a, colA, forged.id)).toHaveLength(1);
  });

  it('refuses a page whose one bad signature is among many checked at once, or malformed', async () => {
    // More than one chunk of the page text (50 objects), the bad one in the third.
    const batch = Array.from({ length: 130 }, () => indicator({ object_marking_refs: [GREEN] }));
    await submitAtB(batch);
    const victim = batch[117]!;
    const [row] = await held(b, colB, victim.id);
    // Signed at B as one batch: each version's signature names the batch, its salt and its path.
    const [jws, salt, index, path] = row!.origin_signature!.split('~') as [string, string, string, string];
    const [other] = await held(b, colB, batch[3]!.id);
    const flipped = (path[0] === 'A' ? 'B' : 'A') + path.slice(1);
    const [header] = signOrigin(b.deps.keyring, victim).split('.');
    const before = await subscription();
    for (const bad of [
      other!.origin_signature!, // another version's, of the same batch
      `${jws}~${salt}~${index}~${flipped}`, // its own, one hash of the path altered
      `${jws}~${salt}~${index}~`, // its own, the path left out
      `${header}..${signOrigin(b.deps.keyring, batch[3]).split('.')[2]}`, // a one-object signature of another object
      `${header}..AAAA`,
    ]) {
      await sql`UPDATE objects SET origin_signature = ${bad} WHERE id = ${victim.id}`.execute(b.database.db);
      const outcome = await a.deps.puller.pullNow(subId);
      expect(outcome).toMatchObject({ ok: false, error: { code: 'bad-origin', message: expect.stringContaining(victim.id) } });
      for (const o of batch) expect(await held(a, colA, o.id)).toEqual([]);
      expect((await subscription()).cursor).toBe(before.cursor);
    }
    await sql`UPDATE objects SET origin_signature = ${row!.origin_signature} WHERE id = ${victim.id}`.execute(b.database.db);
    expect((await a.deps.puller.pullNow(subId))?.ok).toBe(true);
    for (const o of batch) expect(await held(a, colA, o.id)).toHaveLength(1);
  });

  it('quarantines a version held here with other content, never overwriting it', async () => {
    const theirs = indicator({ object_marking_refs: [GREEN], name: 'as B has it' });
    const ours = { ...theirs, name: 'as A has it' };
    await postObjects(a, `/default/collections/${colA}`, [ours]);
    await submitAtB([theirs]);
    const outcome = await a.deps.puller.pullNow(subId);
    expect(outcome).toMatchObject({ ok: true, stored: 0, quarantined: 1 });
    const rows = await held(a, colA, theirs.id);
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0]!.json).name).toBe('as A has it');
    const status = await adminJson(a, 'GET', `/admin/sources/${subId}`);
    expect(status.quarantined).toBe(1);
    const q = await adminJson(a, 'GET', `/admin/sources/${subId}/quarantine`);
    expect(q.objects).toHaveLength(1);
    expect(JSON.parse(q.objects[0].json).name).toBe('as B has it');
    // the same content received again is not quarantined twice, and the same version as held is no conflict
    expect((await a.deps.puller.pullNow(subId))?.quarantined).toBe(0);
  });

  it("shows the admin each pulled version's provenance", async () => {
    const obj = indicator({ object_marking_refs: [GREEN] });
    await submitAtB([obj]);
    await a.deps.puller.pullNow(subId);
    const { versions } = await adminJson(a, 'GET', `/admin/collections/${colA}/objects/${obj.id}`);
    expect(versions).toEqual([
      expect.objectContaining({
        version: obj.modified,
        tlp_level: 'GREEN',
        received_from: 'node-b',
        origin_node: 'node-b',
        origin_signature: expect.any(String),
        origin_verified: true,
      }),
    ]);
    const local = indicator();
    await postObjects(a, `/default/collections/${colA}`, [local]);
    const mine = await adminJson(a, 'GET', `/admin/collections/${colA}/objects/${local.id}`);
    expect(mine.versions[0]).toMatchObject({ received_from: null, origin_node: 'node-a', tlp_level: 'AMBER' });
  });

  it('keeps, marked unchecked, the origin signature of a node it has no key for (no trust list)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-x-'));
    await ensureKeyring(dir, 'node-x');
    const x = loadKeyring(dir);
    const obj = indicator({ object_marking_refs: [GREEN] });
    await submitAtB([obj]);
    // B received it from node-x, which originated and signed it
    await sql`UPDATE objects SET origin = 'node-x', origin_node = 'node-x', origin_signature = ${signOrigin(x, obj)} WHERE id = ${obj.id}`.execute(
      b.database.db,
    );
    expect(await a.deps.puller.pullNow(subId)).toMatchObject({ ok: true });
    const { versions } = await adminJson(a, 'GET', `/admin/collections/${colA}/objects/${obj.id}`);
    expect(versions[0]).toMatchObject({ received_from: 'node-b', origin_node: 'node-x', origin_verified: false });
    await verifyOrigin(versions[0].origin_signature, obj, 'node-x', x.publicKeys());
  });

  it('pages through a backlog in several pages', async () => {
    const batch = Array.from({ length: 25 }, () => indicator({ object_marking_refs: [GREEN] }));
    await submitAtB(batch);
    const outcome = await a.deps.puller.pullNow(subId, { pageLimit: 10 });
    expect(outcome).toMatchObject({ ok: true, pages: 3, stored: 25 });
    for (const o of batch) expect(await held(a, colA, o.id)).toHaveLength(1);
  });

  it('brings a bundle whose marking-definition comes last, several chunks long, whole', async () => {
    const bundle = lateDefinitionBundle(2_500);
    const status = await submitAtB(bundle);
    expect(status).toMatchObject({ status: 'complete', success_count: bundle.length });
    const outcome = await a.deps.puller.pullNow(subId, { pageLimit: 1000, maxPages: 10 });
    expect(outcome).toMatchObject({ ok: true, stored: bundle.length, more: false });
    const reader = await adminJson(a, 'POST', '/admin/clients', {
      name: `bundle-${crypto.randomUUID().slice(0, 8)}`,
      clearance: 'AMBER',
      grants: [{ collection_id: colA, can_read: true, can_write: false }],
    });
    const ids = new Set(bundle.map((o) => o.id));
    const served = (await readCollection(a, `/default/collections/${colA}`, reader.token)).objects.filter((o) => ids.has(o.id as string));
    expect(served).toHaveLength(bundle.length);
    expect((await adminJson(a, 'GET', `/admin/collections/${colA}/denied`)).objects).toEqual([]);
  });

  it('withholds what a page marks with a definition a later page brings, then releases it', async () => {
    const mark = {
      type: 'marking-definition',
      spec_version: '2.1',
      id: `marking-definition--${crypto.randomUUID()}`,
      created: '2024-01-01T00:00:00.000Z',
      definition_type: 'statement',
      definition: { statement: 'Shared within the federation.' },
    };
    const marked = [indicator({ object_marking_refs: [mark.id, GREEN] }), indicator({ object_marking_refs: [mark.id, GREEN] })];
    // B serves the definition after the objects: it was sent with them, deleted, and sent again.
    await submitAtB([...marked, mark]);
    expect((await b.request(`${baseB}/objects/${mark.id}/`, { method: 'DELETE' })).status).toBe(200);
    await submitAtB([mark]);
    const first = await a.deps.puller.pullNow(subId, { pageLimit: 1, maxPages: 2 });
    expect(first).toMatchObject({ ok: true, pages: 2, stored: 2, more: true });
    const waiting = await adminJson(a, 'GET', `/admin/collections/${colA}/denied`);
    expect(waiting.waiting).toEqual([{ marking_definition: mark.id, objects: 2 }]);
    expect(await a.deps.puller.pullNow(subId, { pageLimit: 1 })).toMatchObject({ ok: true, stored: 1 });
    expect((await adminJson(a, 'GET', `/admin/collections/${colA}/denied`)).objects).toEqual([]);
    const reader = await adminJson(a, 'POST', '/admin/clients', {
      name: `reader-${crypto.randomUUID().slice(0, 8)}`,
      clearance: 'GREEN',
      grants: [{ collection_id: colA, can_read: true, can_write: false }],
    });
    const served = await a.request(`/default/collections/${colA}/objects/?match[id]=${marked.map((o) => o.id).join(',')}`, {
      token: reader.token,
    });
    expect(((await served.json()) as { objects: StixObject[] }).objects.map((o) => o.id).sort()).toEqual(marked.map((o) => o.id).sort());
  });

  it('lets one puller hold a source at a time; another takes over when the lease runs out', async () => {
    const other = await claimSource(a.database.db, crypto.randomUUID(), 120, subId);
    expect(other).toBeDefined();
    expect(await a.deps.puller.pullNow(subId)).toBeUndefined();
    await sql`UPDATE sources SET lease_until = now() - interval '1 second' WHERE id = ${subId}`.execute(a.database.db);
    expect((await a.deps.puller.pullNow(subId))?.ok).toBe(true);
  });
});

describe('the scheduler', () => {
  it('pulls a new source on its own timer', async () => {
    const t = await startTestNode({ NODE_ID: 'node-t', PULL_TICK_MS: '100' });
    try {
      await peerClient(b, 'node-t', 'node-t', t.deps.keyring.publicKeys(), { collection: colB });
      const peer = await peerClient(t, 'node-b', 'node-b', b.deps.keyring.publicKeys(), { baseUrl: b.url });
      const col = (await adminJson(t, 'POST', '/admin/collections', { api_root: 'default', title: 'timer' })).id;
      const sub = await adminJson(t, 'POST', '/admin/sources', {
        peer_id: peer,
        remote_api_root: 'default',
        remote_collection_id: colB,
        collection_id: col,
      });
      let status = sub;
      for (let i = 0; i < 100 && !status.last_success; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = await adminJson(t, 'GET', `/admin/sources/${sub.id}`);
      }
      expect(status.last_success).toBeTruthy();
      expect(status.last_pulled_count).toBeGreaterThan(0);
      expect(status.consecutive_failures).toBe(0);
    } finally {
      await t.stop();
    }
  });
});

describe('a backlog longer than one run', () => {
  it('is pulled run after run at once, not a pull interval later', async () => {
    const t = await startTestNode({ NODE_ID: 'node-c', PULL_TICK_MS: '0' });
    // two pages of two objects a run: nine objects take three runs
    const puller = createPuller({ pageLimit: 2, maxPages: 2 });
    try {
      const shared = (await adminJson(b, 'POST', '/admin/collections', { api_root: 'default', title: 'backlog at B' })).id;
      const backlog = Array.from({ length: 9 }, () => indicator({ object_marking_refs: [GREEN] }));
      await postObjects(b, `/default/collections/${shared}`, backlog);
      await peerClient(b, 'node-c', 'node-c', t.deps.keyring.publicKeys(), { collection: shared });
      const peer = await peerClient(t, 'node-b', 'node-b', b.deps.keyring.publicKeys(), { baseUrl: b.url });
      const col = (await adminJson(t, 'POST', '/admin/collections', { api_root: 'default', title: 'backlog' })).id;
      await adminJson(t, 'POST', '/admin/sources', {
        peer_id: peer,
        remote_api_root: 'default',
        remote_collection_id: shared,
        collection_id: col,
        interval_seconds: 3600,
      });
      puller.start({ ...t.deps, config: { ...t.deps.config, pullTickMs: 50 } });
      const count = async () =>
        Number(
          (await sql<{ n: number }>`SELECT count(*)::int AS n FROM objects WHERE collection_id = ${col}`.execute(t.database.db)).rows[0]!.n,
        );
      let n = 0;
      for (let i = 0; i < 100 && n < backlog.length; i++) {
        await new Promise((r) => setTimeout(r, 100));
        n = await count();
      }
      expect(n).toBe(backlog.length);
    } finally {
      await puller.stop();
      await t.stop();
    }
  });
});

describe('a stuck peer', () => {
  it('does not hold up the pulls from other peers', async () => {
    const t = await startTestNode({ NODE_ID: 'node-u', PULL_TICK_MS: '100' });
    try {
      // node-u pulls from B through the proxy (which will hang) and from A directly, a collection
      // of A's own objects (objects A got from B would need a trust list at node-u)
      const ownAtA = (await adminJson(a, 'POST', '/admin/collections', { api_root: 'default', title: "A's own" })).id;
      await peerClient(b, 'node-u', 'node-u', t.deps.keyring.publicKeys(), { collection: colB });
      await peerClient(a, 'node-u', 'node-u', t.deps.keyring.publicKeys(), { collection: ownAtA });
      const viaProxy = await peerClient(t, 'node-b', 'node-b', b.deps.keyring.publicKeys(), { baseUrl: `http://127.0.0.1:${proxyPort}` });
      const direct = await peerClient(t, 'node-a', 'node-a', a.deps.keyring.publicKeys(), { baseUrl: a.url });
      const intoB = (await adminJson(t, 'POST', '/admin/collections', { api_root: 'default', title: 'from B' })).id;
      const intoA = (await adminJson(t, 'POST', '/admin/collections', { api_root: 'default', title: 'from A' })).id;
      mode = 'hang';
      const stuck = await adminJson(t, 'POST', '/admin/sources', {
        peer_id: viaProxy,
        remote_api_root: 'default',
        remote_collection_id: colB,
        collection_id: intoB,
        interval_seconds: 1,
      });
      for (let i = 0; i < 50 && hanging.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(hanging.length).toBeGreaterThan(0); // B's pull is now stuck in flight
      const fresh = indicator({ object_marking_refs: [GREEN] });
      await postObjects(a, `/default/collections/${ownAtA}`, [fresh]);
      await adminJson(t, 'POST', '/admin/sources', {
        peer_id: direct,
        remote_api_root: 'default',
        remote_collection_id: ownAtA,
        collection_id: intoA,
        interval_seconds: 1,
      });
      let got: unknown[] = [];
      for (let i = 0; i < 100 && got.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        got = await held(t, intoA, fresh.id);
      }
      expect(got).toHaveLength(1);
      const status = await adminJson(t, 'GET', `/admin/sources/${stuck.id}`);
      expect(status.last_success).toBeNull();
    } finally {
      mode = 'pass';
      // stopping aborts the stuck pull rather than waiting out its 30 s header timeout
      await t.stop();
      for (const res of hanging.splice(0)) res.socket?.destroy();
    }
  });
});

describe('vigil source', () => {
  const vigil = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const bin = new URL('../../bin/vigil.js', import.meta.url).pathname;
      execFile(
        process.execPath,
        [bin, '--json', ...args],
        { env: { ...process.env, VIGIL_URL: a.url, ADMIN_TOKEN }, timeout: 30_000 },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? -1) : 0, stdout: String(stdout), stderr: String(stderr) }),
      );
    });

  const peerAndCollection = async (title: string) => ({
    peer: (await sql<{ id: string }>`SELECT id FROM clients WHERE node_id = 'node-b'`.execute(a.database.db)).rows[0]!.id,
    col: (await adminJson(a, 'POST', '/admin/collections', { api_root: 'default', title })).id as string,
  });

  it('adds a peer source, lists, shows and removes it', async () => {
    const { peer, col } = await peerAndCollection('cli');
    const added = await vigil(['source', 'add', 'peer', '--peer', peer, '--remote-collection', colB, '--into', col, '--interval', '300']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).toBe('');
    const { id } = JSON.parse(added.stdout);
    const list = await vigil(['source', 'list']);
    expect(JSON.parse(list.stdout).sources.map((x: { id: string }) => x.id)).toContain(id);
    const shown = JSON.parse((await vigil(['source', 'show', id])).stdout);
    expect(shown).toMatchObject({
      id,
      kind: 'peer',
      interval_seconds: 300,
      peer_node_id: 'node-b',
      consecutive_failures: 0,
      quarantined: 0,
    });
    expect((await vigil(['source', 'add', 'peer', '--peer', peer, '--remote-collection', colB, '--into', col])).code).toBe(1);
    expect((await vigil(['source', 'remove', id])).code).toBe(0);
    expect((await vigil(['source', 'show', id])).code).toBe(1);
    expect(
      (await vigil(['source', 'add', 'peer', '--peer', peer, '--remote-collection', colB, '--into', col, '--interval', 'soon'])).code,
    ).toBe(2);
  });

  it('keeps the old spelling, vigil subscription and /admin/subscriptions, for one release, with a warning', async () => {
    const { peer, col } = await peerAndCollection('cli, old spelling');
    const added = await vigil(['subscription', 'add', '--peer', peer, '--remote-collection', colB, '--into', col, '--interval', '300']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).toMatch(/"vigil subscription" is deprecated .* use "vigil source"/);
    const { id } = JSON.parse(added.stdout);
    // The old answer's shape: the list under `subscriptions`.
    const list = await vigil(['subscription', 'list']);
    expect(JSON.parse(list.stdout).subscriptions.map((x: { id: string }) => x.id)).toContain(id);
    expect(JSON.parse((await vigil(['subscription', 'show', id])).stdout)).toMatchObject({ id, kind: 'peer', interval_seconds: 300 });
    // One source under either name.
    expect(JSON.parse((await vigil(['source', 'show', id])).stdout)).toMatchObject({ id, peer_node_id: 'node-b' });
    expect((await vigil(['subscription', 'remove', id])).code).toBe(0);
    expect((await vigil(['source', 'show', id])).code).toBe(1);
  });

  it('refuses a source whose peer is a client that is not a pinned peer', async () => {
    const plain = await adminJson(a, 'POST', '/admin/clients', { name: 'not-a-peer' });
    const res = await a.request('/admin/sources', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ peer_id: plain.id, remote_api_root: 'default', remote_collection_id: colB, collection_id: colA }),
    });
    expect(res.status).toBe(404);
  });
});

async function getPinned() {
  const peers = (await sql<{ pinned_keys: unknown }>`SELECT pinned_keys FROM clients WHERE node_id = 'node-b'`.execute(a.database.db)).rows;
  return peers[0]!.pinned_keys as never[];
}
