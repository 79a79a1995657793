import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { client, json } from '../load.ts';
import type { Row } from '../report.ts';
import type { Target } from '../target.ts';
import { createCollection } from './setup.ts';

// A firewall's poll of a large list (docs/feeds.md): GET /feeds/{collection}/ipv4.txt of `lines`
// addresses, streamed; then the same poll with its ETag, which must cost almost nothing.

const MB = 1024 * 1024;

/** The address of the `n`th indicator loadFeed stores. */
export const feedAddress = (n: number): string => `${((n >> 24) & 255) + 1}.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

/**
 * Indicators and their feed values stored straight into the node's tables (as bulk.ts does for
 * objects): `lines` distinct IPv4 addresses (feedAddress), each from an indicator of its own, GREEN or AMBER,
 * its id a version-4 UUID (objects made about it, such as sighting aggregates, are validated).
 */
export async function loadFeed(t: Target, collectionId: string, lines: number): Promise<void> {
  const chunk = 100_000;
  for (let from = 0; from < lines; from += chunk) {
    const to = Math.min(lines, from + chunk) - 1;
    await t.sql(
      `WITH g AS (
         SELECT n, 'indicator--' || uuid_in(overlay(overlay(md5($1::text || n) PLACING '4' FROM 13) PLACING '8' FROM 17)::cstring)::text AS id,
                ((n >> 24) & 255) + 1 || '.' || ((n >> 16) & 255) || '.' || ((n >> 8) & 255) || '.' || (n & 255) AS ip
         FROM generate_series($2::int, $3::int) AS n
       ), ins AS (
         INSERT INTO objects (collection_id, date_added, id, type, spec_version, version, version_at, version_key, object, tlp_level)
         SELECT $1::uuid, '2025-01-01'::timestamptz + n * interval '1 microsecond', id, 'indicator', '2.1', '2025-01-01T00:00:00.000Z',
                '2025-01-01', '2025-01-01',
                jsonb_build_object('type', 'indicator', 'spec_version', '2.1', 'id', id, 'created', '2025-01-01T00:00:00.000Z',
                  'modified', '2025-01-01T00:00:00.000Z', 'pattern', '[ipv4-addr:value = ''' || ip || ''']', 'pattern_type', 'stix',
                  'valid_from', '2025-01-01T00:00:00.000Z'),
                1 + (n % 2)
         FROM g RETURNING id, tlp_level
       ), lv AS (
         INSERT INTO id_levels (collection_id, id, tlp_level) SELECT $1::uuid, id, tlp_level FROM ins
       )
       INSERT INTO feed_values (collection_id, kind, value, id, spec_version, version_key)
       SELECT $1::uuid, 'ipv4', ip, id, '2.1', '2025-01-01' FROM g`,
      [collectionId, from, to],
    );
  }
  await t.sql(
    `SELECT setval('date_added_clock', greatest((SELECT last_value FROM date_added_clock),
       (SELECT (extract(epoch FROM max(date_added)) * 1000000)::bigint FROM objects)))`,
  );
  await t.sql('VACUUM (ANALYZE) objects');
  await t.sql('VACUUM (ANALYZE) feed_values');
}

/** One poll, read as it streams: time to the first byte of the body, to the last, the lines, and the ETag. */
async function poll(
  url: string,
  etag?: string,
): Promise<{ status: number; firstMs: number; totalMs: number; lines: number; etag: string }> {
  const t0 = performance.now();
  const r = await request(url, { headers: { accept: 'text/plain', ...(etag ? { 'if-none-match': etag } : {}) }, bodyTimeout: 600_000 });
  let firstMs = Number.NaN;
  let lines = 0;
  for await (const chunk of r.body as AsyncIterable<Buffer>) {
    if (Number.isNaN(firstMs)) firstMs = performance.now() - t0;
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
  }
  const totalMs = performance.now() - t0;
  return { status: r.statusCode, firstMs: Number.isNaN(firstMs) ? totalMs : firstMs, totalMs, lines, etag: String(r.headers.etag) };
}

export async function feedScenario(t: Target, lines: number): Promise<Row[]> {
  const admin = client(t.url, 2);
  const collectionId = await createCollection(admin, 'bench feed');
  const fw = await json<{ token: string }>(admin, '/admin/clients', {
    method: 'POST',
    contentType: 'application/json',
    body: JSON.stringify({
      name: `bench-fw-${randomUUID().slice(0, 8)}`,
      kind: 'feed',
      clearance: 'AMBER',
      grants: [{ collection_id: collectionId, can_read: true, can_write: false }],
    }),
  });
  await admin.close();
  await loadFeed(t, collectionId, lines);
  const url = `${t.url}/feeds/${collectionId}/ipv4.txt?token=${fw.token}`;
  t.rss.reset();
  const full = await poll(url);
  const peakRss = t.rss.peak();
  if (full.status !== 200 || full.lines !== lines) throw new Error(`feed poll: ${full.status}, ${full.lines} lines of ${lines}`);
  const unchanged: number[] = [];
  for (let i = 0; i < 20; i++) {
    const p = await poll(url, full.etag);
    if (p.status !== 304) throw new Error(`feed poll with its ETag: ${p.status}`);
    unchanged.push(p.totalMs);
  }
  unchanged.sort((a, b) => a - b);
  const size = `${lines.toLocaleString('en-US')} lines`;
  const base = { database: t.kind, size, raw: null, ratio: null } as const;
  return [
    {
      ...base,
      scenario: 'Feed: time to first byte',
      figure: full.firstMs,
      unit: 'ms',
      target: '< 1,000 ms',
      pass: full.firstMs < 1000,
      extra: {},
    },
    {
      ...base,
      scenario: 'Feed: whole list served',
      figure: full.totalMs / 1000,
      unit: 's',
      target: '< 30 s',
      pass: full.totalMs < 30_000,
      extra: { 'lines/s': lines / (full.totalMs / 1000), 'p50 ms of a poll with its ETag (304)': unchanged[10]! },
    },
    {
      ...base,
      scenario: 'Feed: peak RSS while serving',
      figure: peakRss / MB,
      unit: 'MB',
      target: '< 300 MB',
      pass: peakRss < 300 * MB,
      extra: {},
      note: t.rss.source,
    },
  ];
}
