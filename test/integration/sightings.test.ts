import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { ADMIN_TOKEN } from '../support/node.ts';
import { runVigil } from '../support/cli.ts';
import { adminJson, indicator, postObjects } from '../support/stix.ts';
import { readCollection } from '../support/taxii-read.ts';
import { TLP2 } from '../fixtures/tlp-ids.ts';

// docs/sightings.md over real HTTP: the three ways a sighting is reported (POST /sightings, a STIX
// sighting POSTed over TAXII, vigil sighting report), TLP on what may be reported and on the
// aggregates, the reporter never shown to another client, and bad input refused.

let node: TestNode;
let base: string;
let collectionId: string;
/** Reads and writes the collection, cleared for AMBER. */
const hospitals: { id: string; token: string; name: string }[] = [];
/** Reads it, cleared for GREEN only. */
let green: { id: string; token: string; name: string };
const amberIndicator = indicator({ pattern: "[ipv4-addr:value = '198.51.100.7']", object_marking_refs: [TLP2.amber] });
const greenIndicator = indicator({ pattern: "[domain-name:value = 'c2.example.org']", object_marking_refs: [TLP2.green] });
const greenTwin = indicator({
  pattern: "[domain-name:value = 'c2.example.org' OR ipv4-addr:value = '203.0.113.9']",
  object_marking_refs: [TLP2.green],
});
const redIndicator = indicator({ pattern: "[ipv4-addr:value = '192.0.2.66']", object_marking_refs: [TLP2.red] });
/** Reported only in batches, so the aggregates the other tests count are theirs alone. */
const batchIndicator = indicator({ pattern: "[ipv4-addr:value = '198.51.100.8']", object_marking_refs: [TLP2.amber] });
const batchTwins = ['', " OR ipv4-addr:value = '203.0.113.8'"].map((more) =>
  indicator({ pattern: `[domain-name:value = 'batch.example.org'${more}]`, object_marking_refs: [TLP2.green] }),
);
/** Posted over TAXII with a shareable sighting of it, in the same request. */
const ownIndicator = indicator({ pattern: "[url:value = 'http://bad.example.net/x']", object_marking_refs: [TLP2.green] });

async function client(name: string, clearance: string, organisation?: string) {
  const c = await adminJson(node, 'POST', '/admin/clients', {
    name,
    clearance,
    ...(organisation ? { organisation } : {}),
    grants: [{ collection_id: collectionId, can_read: true, can_write: true }],
  });
  return { id: c.id as string, token: c.token as string, name };
}

async function report(token: string | null, body: unknown) {
  const res = await node.request('/sightings', {
    method: 'POST',
    token,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function listed(token: string) {
  const res = await node.request('/sightings', { token, headers: { accept: 'application/json' } });
  expect(res.status).toBe(200);
  return ((await res.json()) as any).sightings as any[];
}

const sightingsIn = async (token?: string) => (await readCollection(node, base, token)).objects.filter((o) => o.type === 'sighting');

beforeAll(async () => {
  // A file of 1,000 reports goes in one request: more than the default SIGHTINGS_PER_MINUTE of 60.
  node = await startTestNode({ NODE_COUNTRY: 'fr', SIGHTINGS_TICK_MS: '0', SIGHTINGS_PER_MINUTE: '5000' });
  const col = await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: `sightings ${randomUUID()}` });
  collectionId = col.id;
  base = `/default/collections/${collectionId}`;
  for (const n of ['a', 'b', 'c'])
    hospitals.push(await client(`hospital-${n}-${randomUUID().slice(0, 6)}`, 'AMBER', `Hospital ${n.toUpperCase()}`));
  green = await client(`green-${randomUUID().slice(0, 6)}`, 'GREEN');
  const status = await postObjects(node, base, [amberIndicator, greenIndicator, greenTwin, redIndicator, batchIndicator, ...batchTwins]);
  expect(status.success_count).toBe(7);
});
afterAll(async () => node?.stop());

describe('POST /sightings', () => {
  it('records a sighting of the indicator a value matches, with the count and times given', async () => {
    const r = await report(hospitals[0]!.token, {
      value: '198.51.100.7',
      count: 3,
      first_seen: '2025-03-01T10:00:00Z',
      last_seen: '2025-03-01T10:30:00Z',
    });
    expect(r.status).toBe(201);
    expect(r.body.reported).toHaveLength(1);
    expect(r.body.reported[0]).toMatchObject({
      indicator_id: amberIndicator.id,
      collection_id: collectionId,
      count: 3,
      first_seen: '2025-03-01T10:00:00.000000Z',
      last_seen: '2025-03-01T10:30:00.000000Z',
      shareable: false,
      via: 'api',
    });
  });

  it('records one sighting for each indicator a value matches, and says so', async () => {
    const r = await report(hospitals[0]!.token, { value: 'C2.Example.org' });
    expect(r.status).toBe(201);
    expect(r.body.reported.map((x: any) => x.indicator_id).sort()).toEqual([greenIndicator.id, greenTwin.id].sort());
    expect(r.body.message).toMatch(/matched 2 indicators/);
  });

  it('takes an indicator by id', async () => {
    const r = await report(hospitals[1]!.token, { indicator: greenIndicator.id, shareable: true });
    expect(r.status).toBe(201);
    expect(r.body.reported[0]).toMatchObject({ indicator_id: greenIndicator.id, shareable: true });
  });

  it('answers an indicator the caller may not read exactly as one that does not exist', async () => {
    const hidden = await report(green.token, { value: '198.51.100.7' });
    const none = await report(green.token, { value: '198.51.100.99' });
    expect(hidden.status).toBe(404);
    expect(none.status).toBe(404);
    expect(hidden.body.description).toBe(none.body.description);
    const byId = await report(green.token, { indicator: amberIndicator.id });
    const noSuchId = await report(green.token, { indicator: `indicator--${randomUUID()}` });
    expect(byId.status).toBe(404);
    expect(byId.body.description).toBe(noSuchId.body.description);
    // RED only for named recipients: the AMBER client may not report against it either.
    expect((await report(hospitals[0]!.token, { value: '192.0.2.66' })).status).toBe(404);
    // A collection it has no grant on is none of its business.
    const other = await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: 'other' });
    expect((await report(hospitals[0]!.token, { value: '198.51.100.7', collection: other.id })).status).toBe(404);
    // Nor does a value held only there match (values are looked up in the collections it may read).
    const elsewhere = indicator({ pattern: "[ipv4-addr:value = '198.51.100.44']", object_marking_refs: [TLP2.green] });
    expect((await postObjects(node, `/default/collections/${other.id}`, [elsewhere])).success_count).toBe(1);
    expect((await report(hospitals[0]!.token, { value: '198.51.100.44' })).status).toBe(404);
  });

  it('refuses bad input with a TAXII error resource', async () => {
    const t = hospitals[0]!.token;
    for (const body of [
      {},
      { value: '198.51.100.7', indicator: amberIndicator.id },
      { value: '198.51.100.7', count: 0 },
      { value: '198.51.100.7', count: 1_000_001 },
      { value: '198.51.100.7', first_seen: '2025-03-02T00:00:00Z', last_seen: '2025-03-01T00:00:00Z' },
      { value: '198.51.100.7', last_seen: new Date(Date.now() + 3_600_000).toISOString() },
      { value: '198.51.100.7', first_seen: 'yesterday' },
      { value: 'not a value at all' },
      { value: '198.51.100.7', reporter: 'someone' },
      { indicator: 'malware--0b1c4e2f-7a6d-4b7e-9a8e-2b9d7c1f3e45' },
    ]) {
      const r = await report(t, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body).toMatchObject({ http_status: '400', title: expect.any(String), description: expect.any(String) });
    }
    expect((await report(null, { value: '198.51.100.7' })).status).toBe(401);
    expect((await report(ADMIN_TOKEN, { value: '198.51.100.7' })).status).toBe(403);
  });
});

describe('POST /sightings with a batch', () => {
  it('records each report of an array, and fails each bad one alone, saying which and why, in the order sent', async () => {
    const t = hospitals[2]!.token;
    const r = await report(t, [
      { value: '198.51.100.8', count: 2, last_seen: '2025-03-01T11:00:00Z' },
      { value: 'batch.example.org' },
      { value: '198.51.100.99' },
      { indicator: batchTwins[1]!.id, shareable: true },
      { value: '198.51.100.8', count: 0 },
      { value: 'not a value at all' },
      { indicator: batchIndicator.id, first_seen: '2025-03-02T00:00:00Z', last_seen: '2025-03-01T00:00:00Z' },
      { value: '192.0.2.66' },
      'a string is not a report',
    ]);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ errors: true, success_count: 3, failure_count: 6 });
    expect(r.body.results.map((x: any) => [x.index, x.outcome, x.error_code])).toEqual([
      [0, 'success', undefined],
      [1, 'success', undefined],
      [2, 'failure', 'not-found'],
      [3, 'success', undefined],
      [4, 'failure', 'bad-request'],
      [5, 'failure', 'bad-request'],
      [6, 'failure', 'bad-request'],
      [7, 'failure', 'not-found'], // RED, of which it is no named recipient: as if there were none
      [8, 'failure', 'bad-request'],
    ]);
    const [first, twins, , byId, zero, notValue, backwards, red] = r.body.results;
    expect(first.reported).toEqual([
      expect.objectContaining({ indicator_id: batchIndicator.id, count: 2, last_seen: '2025-03-01T11:00:00.000000Z', via: 'api' }),
    ]);
    expect(twins.reported.map((x: any) => x.indicator_id)).toEqual(batchTwins.map((x) => x.id).sort());
    expect(twins.message).toMatch(/matched 2 indicators/);
    expect(byId.reported).toEqual([expect.objectContaining({ indicator_id: batchTwins[1]!.id, shareable: true })]);
    expect(zero.message).toMatch(/^count: /);
    expect(notValue.message).toMatch(/^value: not an IP address/);
    expect(backwards.message).toMatch(/last_seen: must not be earlier than first_seen/);
    // The answers a single report gets, word for word.
    expect(red.message).toBe((await report(t, { value: '192.0.2.66' })).body.description);
    // Recorded as sent, and listed to its organisation.
    const mine = await listed(t);
    const ids = [...first.reported, ...twins.reported, ...byId.reported].map((x: any) => x.id);
    expect(ids.every((id: string) => mine.some((m) => m.id === id))).toBe(true);
  });

  it('looks each report up in the collection it names', async () => {
    const other = await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: `batch ${randomUUID()}` });
    const r = await report(hospitals[2]!.token, [
      { value: '198.51.100.8', collection: collectionId },
      { value: '198.51.100.8', collection: other.id },
    ]);
    expect(r.body.results.map((x: any) => x.outcome)).toEqual(['success', 'failure']);
    expect(r.body.results[0].reported[0].collection_id).toBe(collectionId);
  });

  it('refuses what is not a batch of 1 to 1,000 reports as a whole', async () => {
    const t = hospitals[2]!.token;
    for (const body of [[], Array.from({ length: 1001 }, () => ({ value: '198.51.100.8' }))]) {
      const r = await report(t, body);
      expect(r.status, `${body.length} reports`).toBe(400);
      expect(r.body).toMatchObject({ http_status: '400', description: expect.stringMatching(/^body: /) });
    }
    expect((await report(ADMIN_TOKEN, [{ value: '198.51.100.8' }])).status).toBe(403);
  });
});

describe('the reporter', () => {
  it('is listed to its own organisation and to the admin, never to another client', async () => {
    const mine = await listed(hospitals[0]!.token);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((r) => r.organisation === 'Hospital A' && r.client_id === hospitals[0]!.id)).toBe(true);
    const theirs = await listed(hospitals[1]!.token);
    expect(theirs.some((r) => r.client_id === hospitals[0]!.id)).toBe(false);
    expect(await listed(green.token)).toEqual([]);
    const all = await listed(ADMIN_TOKEN);
    expect(all.some((r) => r.organisation === 'Hospital A')).toBe(true);
    expect(all.some((r) => r.organisation === 'Hospital B')).toBe(true);
  });
});

describe('a STIX sighting POSTed over TAXII', () => {
  it('is taken in as a report, a success with a message, and never served as an object', async () => {
    const victim = {
      type: 'identity',
      spec_version: '2.1',
      id: `identity--${randomUUID()}`,
      created: '2025-01-01T00:00:00Z',
      modified: '2025-01-01T00:00:00Z',
      name: 'Hospital C',
      identity_class: 'organization',
    };
    const own = ownIndicator;
    const sighting = (of: string, extra: Record<string, unknown> = {}) => ({
      type: 'sighting',
      spec_version: '2.1',
      id: `sighting--${randomUUID()}`,
      created: '2025-03-01T12:00:00.000Z',
      modified: '2025-03-01T12:00:00.000Z',
      sighting_of_ref: of,
      where_sighted_refs: [victim.id],
      created_by_ref: victim.id,
      count: 4,
      first_seen: '2025-03-05T11:00:00Z',
      last_seen: '2025-03-05T11:20:00Z',
      ...extra,
    });
    const good = sighting(amberIndicator.id);
    const sameRequest = sighting(own.id, { x_vigil_shareable: true });
    const hidden = sighting(redIndicator.id);
    const status = await postObjects(
      node,
      base,
      [victim, good, own, sameRequest, hidden, sighting(`malware--${randomUUID()}`)],
      hospitals[2]!.token,
    );
    const byId = new Map((status.successes ?? []).concat(status.failures ?? []).map((d: any) => [d.id, d]));
    expect(status.successes.map((d: any) => d.id)).toEqual(expect.arrayContaining([good.id, sameRequest.id]));
    expect((byId.get(good.id) as any).message).toMatch(/taken in as a sighting report/);
    expect((byId.get(hidden.id) as any).message).toMatch(/no indicator you may read/);
    expect(status.failure_count).toBe(2);
    // Not stored: the admin reads no such object.
    const read = await node.request(`${base}/objects/${good.id}/`);
    expect(read.status).toBe(404);
    const reports = await listed(hospitals[2]!.token);
    expect(reports.filter((r) => r.via === 'taxii').map((r) => [r.indicator_id, r.count, r.shareable])).toEqual(
      expect.arrayContaining([
        [amberIndicator.id, 4, false],
        [own.id, 4, true],
      ]),
    );
  });
});

describe('vigil sighting report', () => {
  it('reports through POST /sightings with the client token', async () => {
    const r = await runVigil([
      '--url',
      node.url,
      '--token',
      hospitals[1]!.token,
      '--json',
      'sighting',
      'report',
      '--value',
      '198.51.100.7',
      '--count',
      '2',
      '--first-seen',
      '2025-03-01T10:05:00Z',
      '--last-seen',
      '2025-03-01T10:10:00Z',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).reported[0]).toMatchObject({ indicator_id: amberIndicator.id, count: 2 });
    const refused = await runVigil(['--url', node.url, '--token', green.token, 'sighting', 'report', '--value', '198.51.100.7']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/404/);
    expect((await runVigil(['--url', node.url, '--token', green.token, 'sighting', 'report'])).code).toBe(2);
  });

  it('reports a file of reports in batches of 1,000, and names each one not recorded', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-sightings-'));
    const file = path.join(dir, 'hits.json');
    const hits = Array.from({ length: 1002 }, (_, i) => ({
      indicator: batchIndicator.id,
      last_seen: '2025-03-02T09:00:00Z',
      count: 1 + (i % 3),
    }));
    hits[1] = { indicator: batchIndicator.id, count: 0 } as (typeof hits)[0];
    hits[1001] = { value: '198.51.100.250' } as unknown as (typeof hits)[0];
    writeFileSync(file, JSON.stringify(hits));
    const vigil = (...args: string[]) => runVigil(['--url', node.url, '--token', hospitals[1]!.token, 'sighting', 'report', ...args]);
    const r = await vigil('--file', file);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      'recorded 1000 of 1002 reports (1000 sightings)\n  report 1: count: Too small: expected number to be >=1\n  report 1001: no indicator you may read matches this value\n',
    );
    expect(r.stderr).toMatch(/2 of 1002 reports were not recorded/);
    // Both requests' reports recorded: the file's last good one came in the second.
    const { rows } = await sql<{ n: number; total: number }>`SELECT count(*)::int AS n, sum(count)::int AS total FROM sighting_reports
      WHERE client_id = ${hospitals[1]!.id}::uuid AND indicator_id = ${batchIndicator.id}`.execute(node.deps.database.db);
    const good = hits.filter((_, i) => i !== 1 && i !== 1001);
    expect(rows[0]).toEqual({ n: 1000, total: good.reduce((n, h) => n + h.count, 0) });
    writeFileSync(file, '{"value": "198.51.100.8"}');
    expect((await vigil('--file', file)).stderr).toMatch(/expected a JSON array of reports/);
    expect((await vigil('--file', file, '--value', '198.51.100.8')).code).toBe(2);
    expect((await vigil('--file', file, '--batch', '1001')).code).toBe(2);
    rmSync(dir, { recursive: true });
  });
});

describe('organisations', () => {
  it('are set and cleared with vigil client update --organisation, and shown by the admin API', async () => {
    const c = await client(`org-${randomUUID().slice(0, 6)}`, 'GREEN');
    const run = (org: string) =>
      runVigil(['--url', node.url, '--token', ADMIN_TOKEN, '--json', 'client', 'update', c.id, '--organisation', org]);
    expect(JSON.parse((await run('Hôpital Z')).stdout).organisation).toBe('Hôpital Z');
    expect((await adminJson(node, 'GET', `/admin/clients/${c.id}`)).organisation).toBe('Hôpital Z');
    expect(JSON.parse((await run('')).stdout).organisation).toBeNull();
    const bad = await node.request(`/admin/clients/${c.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ organisation: ' padded ' }),
    });
    expect(bad.status).toBe(400);
  });
});

describe('aggregates', () => {
  it('are published once three organisations reported, with the indicator TLP, and only to readers cleared for it', async () => {
    // Hospitals A and B reported the AMBER indicator in hour 10 of 2025-03-01: two organisations, nothing out yet.
    await node.deps.sightings.drain();
    expect((await sightingsIn(hospitals[0]!.token)).filter((s) => s.sighting_of_ref === amberIndicator.id)).toEqual([]);
    await report(hospitals[2]!.token, { value: '198.51.100.7', first_seen: '2025-03-01T10:40:00Z', last_seen: '2025-03-01T10:45:00Z' });
    await node.deps.sightings.drain();
    const published = (await sightingsIn(hospitals[0]!.token)).filter((s) => s.sighting_of_ref === amberIndicator.id);
    const hour = published.find((s) => (s.x_vigil_bucket as any).size === 'hour');
    expect(hour).toMatchObject({
      count: 3 + 2 + 1,
      first_seen: '2025-03-01T10:00:00.000000Z',
      last_seen: '2025-03-01T10:45:00.000000Z',
      x_vigil_organisations: 3,
      x_vigil_bucket: { size: 'hour', start: '2025-03-01T10:00:00.000000Z' },
      object_marking_refs: [TLP2.amber],
    });
    expect(JSON.stringify(published)).not.toMatch(/Hospital|created_by_ref/);
    for (const h of hospitals) expect(JSON.stringify(published)).not.toContain(h.id);
    const where = (await readCollection(node, base, hospitals[0]!.token)).objects.find(
      (o) => o.id === (hour!.where_sighted_refs as string[])[0],
    );
    expect(where).toMatchObject({ type: 'identity', name: 'Health sector, FR', identity_class: 'class', sectors: ['health-care'] });
    // GREEN readers never see an aggregate of an AMBER indicator.
    expect((await sightingsIn(green.token)).filter((s) => s.sighting_of_ref === amberIndicator.id)).toEqual([]);
  });

  it('publish what every reporter marked shareable, whatever the number of organisations', async () => {
    await node.deps.sightings.drain();
    const published = (await sightingsIn(green.token)).filter((s) => s.sighting_of_ref === ownIndicator.id);
    expect(published.length).toBeGreaterThan(0);
    expect(published[0]).toMatchObject({ count: 4, x_vigil_organisations: 1, object_marking_refs: [TLP2.green] });
  });
});
