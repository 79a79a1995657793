import { Pool } from 'undici';
import { cpuExtra, cpuPerUnit } from '../cpu.ts';
import { distribution, openLoopWith } from '../load.ts';
import type { Row } from '../report.ts';
import type { Target } from '../target.ts';

// GET /trends as the console and dashboards ask it, open loop at a fixed rate (load.ts), for each
// window; beside it raw PostgreSQL's GROUP BY of the same aggregates (the latest version of each
// aggregate in the window, summed per indicator, the top 50), without the node's TLP conditions.

type Window = { size: 'hour' | 'day'; previous: string; current: string; end: string };

const RAW = `SELECT k.indicator_id, sum(k.count) FILTER (WHERE k.bucket_start >= $2::timestamptz) AS sightings,
    sum(k.count) FILTER (WHERE k.bucket_start < $2::timestamptz) AS previous
  FROM (SELECT DISTINCT ON (f.id) f.id, f.indicator_id, f.bucket_start, f.count FROM sighting_figures f
    WHERE f.bucket_size = $1 AND f.bucket_start >= $3::timestamptz AND f.bucket_start < $4::timestamptz
    ORDER BY f.id, f.version_key DESC) k
  GROUP BY k.indicator_id HAVING sum(k.count) FILTER (WHERE k.bucket_start >= $2::timestamptz) > 0
  ORDER BY 2 DESC, 1 LIMIT 50`;

/** The raw query back to back on one session for `seconds`: its latencies and CPU per query. */
async function rawTrends(t: Target, w: Window, seconds: number) {
  const sessions = await t.sessions(1);
  const latencies: number[] = [];
  const from = t.cpu.read();
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end || latencies.length === 0) {
    const t0 = performance.now();
    await sessions.sql(RAW, [w.size, w.current, w.previous, w.end]);
    latencies.push(performance.now() - t0);
  }
  const cpu = cpuPerUnit(from, t.cpu.read(), latencies.length);
  await sessions.close();
  return { ...distribution(latencies, seconds), cpu };
}

export async function trendsRows(t: Target, token: string, o: { trendsRate: number; trendsSeconds: number }, size: string): Promise<Row[]> {
  const pool = new Pool(t.url, { connections: 64, pipelining: 1 });
  const get = async (path: string) => {
    const r = await pool.request({ path, method: 'GET', headers: { accept: 'application/json', authorization: `Bearer ${token}` } });
    const text = await r.body.text();
    if (r.statusCode !== 200) throw new Error(`GET ${path}: ${r.statusCode} ${text.slice(0, 300)}`);
    return JSON.parse(text) as { window: Window; items: unknown[] };
  };
  const ok = async (path: string) => {
    await get(path);
    return true;
  };
  const rows: Row[] = [];
  for (const name of ['hour', 'day', 'week'] as const) {
    const path = `/trends?window=${name}`;
    const first = await get(path);
    // Warm-up, not counted.
    await openLoopWith(o.trendsRate, Math.min(1, o.trendsSeconds), () => ok(path));
    const from = t.cpu.read();
    const node = await openLoopWith(o.trendsRate, o.trendsSeconds, () => ok(path));
    const cpu = cpuPerUnit(from, t.cpu.read(), node.count + node.errors);
    const raw = await rawTrends(t, first.window, o.trendsSeconds);
    const [counted] = await t.sql<{ versions: number }>(
      'SELECT count(*)::int AS versions FROM sighting_figures WHERE bucket_size = $1 AND bucket_start >= $2::timestamptz AND bucket_start < $3::timestamptz',
      [first.window.size, first.window.previous, first.window.end],
    );
    rows.push({
      scenario: `Trends: GET /trends?window=${name}, open loop at ${o.trendsRate} requests/s, p99`,
      database: t.kind,
      size,
      figure: node.p99,
      unit: 'ms',
      raw: raw.p99,
      ratio: node.p99 / raw.p99,
      target: 'p99 < 100 ms',
      pass: node.errors === 0 && node.p99 < 100,
      extra: {
        'p50 ms': node.p50,
        'raw p50 ms': raw.p50,
        ...(node.errors ? { errors: node.errors } : {}),
        'items ranked': first.items.length,
        'aggregate versions in the two windows': counted!.versions,
        ...cpuExtra(cpu, raw.cpu, 'request'),
      },
      note: `for ${o.trendsSeconds} s, latency from each request's scheduled time, an AMBER reporting client; raw: the latest version of each aggregate in the window and the one before, summed per indicator, top 50, back to back on one session, no TLP; ratio: node p99 over raw p99`,
    });
  }
  await pool.close();
  return rows;
}
