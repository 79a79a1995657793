import { Pool } from 'undici';
import { cpuExtra, cpuPerUnit } from '../cpu.ts';
import { client, distribution, json, openLoopWith } from '../load.ts';
import { createRng } from '../prng.ts';
import type { Row } from '../report.ts';
import type { Sql, Target } from '../target.ts';
import { feedAddress, loadFeed } from './feeds.ts';
import { createCollection } from './setup.ts';
import { trendsRows } from './trends.ts';

// Issue 19: hospitals report sightings by POST /sightings, in batches (a SIEM playbook's minute of
// hits) and one report a request (a webhook), from many organisations, against a set of indicators
// stored first; the aggregator publishes them; GET /trends ranks what it published. The reports fall Zipf-like on the indicators and on the hours
// of the last 14 days (the week window and the one before it), the most recent hours busiest.

export type SightingOptions = {
  reports: number;
  indicators: number;
  clients: number;
  organisations: number;
  /** Connections sending the reports back to back, and reports a request there (each batch one client's). */
  connections: number;
  batch: number;
  /** The open-loop climb: rates tried (reports/s, increasing), seconds at each, the p99 to hold. */
  rates: number[];
  seconds: number;
  p99Ms: number;
  trendsRate: number;
  trendsSeconds: number;
};

const HOUR = 3_600_000;
const HOURS = 14 * 24;
const n = (x: number) => x.toLocaleString('en-US');
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A sampler of ranks 0..size-1 with Zipf weights 1/(rank+1): a uniform number in, a rank out. */
function zipf(size: number): (u: number) => number {
  const cumulative = new Float64Array(size);
  let total = 0;
  for (let k = 0; k < size; k++) cumulative[k] = total += 1 / (k + 1);
  return (u) => {
    const x = u * total;
    let lo = 0;
    let hi = size - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

type Report = { client: number; indicator: number; count: number; ageMs: number };

/** The same reports on every run: who, which indicator, how many, how long before sending it was seen. */
function* reportStream(o: SightingOptions, seed: number): Generator<Report, never> {
  const rng = createRng(seed);
  const indicator = zipf(o.indicators);
  const hour = zipf(HOURS);
  for (;;)
    yield {
      client: rng.int(o.clients),
      indicator: indicator(rng.next()),
      count: 1 + rng.int(5),
      ageMs: (hour(rng.next()) + rng.next()) * HOUR,
    };
}

type Reporter = { id: string; token: string; organisation: string };

/** `clients` reporting clients of `organisations` hospitals, each cleared AMBER and reading the collection. */
async function createReporters(t: Target, collectionId: string, o: SightingOptions): Promise<Reporter[]> {
  const admin = client(t.url, 4);
  const reporters = await Promise.all(
    Array.from({ length: o.clients }, async (_, i) => {
      const organisation = `Bench hospital ${i % o.organisations}`;
      const c = await json<{ id: string; token: string }>(admin, '/admin/clients', {
        method: 'POST',
        contentType: 'application/json',
        body: JSON.stringify({
          name: `bench-siem-${i}`,
          clearance: 'AMBER',
          organisation,
          grants: [{ collection_id: collectionId, can_read: true, can_write: false }],
        }),
      });
      return { id: c.id, token: c.token, organisation };
    }),
  );
  await admin.close();
  return reporters;
}

/** The next `k` reports of the stream, as one client sends them together: the first one's. */
function nextBatch(stream: Generator<Report, never>, k: number): Report[] {
  const batch = Array.from({ length: k }, () => stream.next().value);
  return batch.map((r) => ({ ...r, client: batch[0]!.client }));
}

/** A report by value, as a SIEM playbook sends it. */
const reportBody = (r: Report) => ({
  value: feedAddress(r.indicator),
  count: r.count,
  last_seen: new Date(Date.now() - r.ageMs).toISOString(),
});

/** POST /sightings of one report (true on 201) or of a batch (true when every report of it is recorded). */
function sender(url: string, reporters: Reporter[], connections: number) {
  const pool = new Pool(url, { connections, pipelining: 1 });
  let failure: string | undefined;
  const post = async (token: string, body: unknown, ok: (status: number, text: string) => boolean) => {
    const res = await pool.request({
      path: '/sightings',
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    const text = await res.body.text();
    if (ok(res.statusCode, text)) return true;
    failure ??= `POST /sightings: ${res.statusCode} ${text.slice(0, 300)}`;
    return false;
  };
  return {
    send: (r: Report) => post(reporters[r.client]!.token, reportBody(r), (status) => status === 201),
    sendBatch: (batch: Report[]) =>
      post(
        reporters[batch[0]!.client]!.token,
        batch.map(reportBody),
        (status, text) => status === 200 && (JSON.parse(text) as { failure_count: number }).failure_count === 0,
      ),
    failure: () => failure,
    close: () => pool.close(),
  };
}

/** `workers` sending `total` reports back to back, up to `perRequest` a request; the latency of each request. */
async function backToBack(total: number, workers: number, perRequest: number, send: (k: number) => Promise<void>): Promise<number[]> {
  let left = total;
  let done = 0;
  let logged = 0;
  const start = performance.now();
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (left > 0) {
        const k = Math.min(perRequest, left);
        left -= k;
        const t0 = performance.now();
        await send(k);
        latencies.push(performance.now() - t0);
        done += k;
        if (done - logged >= 50_000) {
          logged = done;
          log(`sightings: ${n(done)} of ${n(total)}, ${n(Math.round(done / ((performance.now() - start) / 1000)))}/s`);
        }
      }
    }),
  );
  return latencies;
}

/** Waits until the aggregator has taken every family due (those waiting for an hour to end are not). */
async function aggregated(sql: Sql, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const [row] = await sql<{ due: number }>('SELECT count(*)::int AS due FROM sighting_work WHERE due <= clock_timestamp()');
    if (row!.due === 0) return;
    if (performance.now() > end) throw new Error(`sightings: ${row!.due} families still due after ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

/**
 * Raw PostgreSQL: each batch of reports matched by value and inserted in one statement into a copy
 * of the reports table (one statement a batch, as the node's one request a batch), back to back,
 * then the GROUP BY that makes every hour and day aggregate of at least 3 organisations.
 */
async function rawPath(t: Target, reporters: Reporter[], o: SightingOptions, seed: number) {
  for (const table of ['bench_raw_sightings', 'bench_raw_single'])
    await t.sql(`CREATE TABLE ${table} (LIKE sighting_reports INCLUDING DEFAULTS INCLUDING INDEXES)`);
  const workers = t.kind === 'postgres' ? 8 : 1;
  const sessions = await t.sessions(workers);
  const stream = reportStream(o, seed);
  const utc = (unit: string) => `date_trunc('${unit}', u.seen AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`;
  const insert = (
    table: string,
  ) => `INSERT INTO ${table} (client_id, organisation, org_key, indicator_id, collection_id, count, first_seen, last_seen,
      shareable, via, hour_start, day_start)
    SELECT $1::uuid, $2, 'org:' || $2, f.id, f.collection_id, u.count, u.seen, u.seen, false, 'api', ${utc('hour')}, ${utc('day')}
    FROM unnest($3::text[], $4::int[], $5::timestamptz[]) AS u(value, count, seen)
    JOIN feed_values f ON f.kind = 'ipv4' AND f.value = u.value`;
  const send = (table: string) => async (k: number) => {
    const batch = nextBatch(stream, k);
    const who = reporters[batch[0]!.client]!;
    await sessions.sql(insert(table), [
      who.id,
      who.organisation,
      batch.map((r) => feedAddress(r.indicator)),
      batch.map((r) => r.count),
      batch.map((r) => new Date(Date.now() - r.ageMs).toISOString()),
    ]);
  };
  const from = t.cpu.read();
  const t0 = performance.now();
  await backToBack(o.reports, workers, o.batch, send('bench_raw_sightings'));
  const insertSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const bucket = (
    size: string,
    column: string,
  ) => `SELECT indicator_id, '${size}' AS bucket_size, ${column} AS bucket_start, sum(count) AS count,
      count(DISTINCT org_key) AS organisations, min(first_seen) AS first_seen, max(last_seen) AS last_seen
    FROM bench_raw_sightings GROUP BY indicator_id, ${column} HAVING count(DISTINCT org_key) >= 3`;
  await t.sql(`CREATE TABLE bench_raw_aggregates AS ${bucket('hour', 'hour_start')} UNION ALL ${bucket('day', 'day_start')}`);
  const groupSeconds = (performance.now() - t1) / 1000;
  const cpu = cpuPerUnit(from, t.cpu.read(), o.reports);
  // One report a statement, the ceiling of the open-loop row's one report a request: a sample is enough.
  const singles = Math.min(o.reports, 20_000);
  const t2 = performance.now();
  await backToBack(singles, workers, 1, send('bench_raw_single'));
  const singleRate = singles / ((performance.now() - t2) / 1000);
  await sessions.close();
  return {
    insertRate: o.reports / insertSeconds,
    singleRate,
    rate: o.reports / (insertSeconds + groupSeconds),
    groupSeconds,
    cpu,
  };
}

export async function sightingScenarios(t: Target, o: SightingOptions): Promise<Row[]> {
  const seed = 19;
  const admin = client(t.url, 2);
  const collectionId = await createCollection(admin, 'bench sightings');
  await admin.close();
  log(`${t.kind}: sightings: ${n(o.indicators)} indicators, ${o.clients} clients of ${o.organisations} organisations`);
  await loadFeed(t, collectionId, o.indicators);
  const reporters = await createReporters(t, collectionId, o);
  const stream = reportStream(o, seed);
  const post = sender(t.url, reporters, Math.max(o.connections, 64));

  log(`${t.kind}: sightings: ${n(o.reports)} reports over ${o.connections} connections, ${o.batch} a request, aggregated as they come`);
  const from = t.cpu.read();
  const t0 = performance.now();
  const latencies = await backToBack(o.reports, o.connections, o.batch, async (k) => {
    if (!(await post.sendBatch(nextBatch(stream, k)))) throw new Error(post.failure());
  });
  const sentSeconds = (performance.now() - t0) / 1000;
  const sentCpu = cpuPerUnit(from, t.cpu.read(), o.reports);
  await aggregated(t.sql, 3_600_000);
  const wholeSeconds = (performance.now() - t0) / 1000;
  const wholeCpu = cpuPerUnit(from, t.cpu.read(), o.reports);
  const [state] = await t.sql<{ published: number; versions: number }>(
    `SELECT (SELECT count(*) FROM sighting_reports WHERE published IS NOT NULL)::int AS published,
       (SELECT count(*) FROM sighting_figures)::int AS versions`,
  );
  const sent = distribution(latencies, sentSeconds);

  log(`${t.kind}: sightings: raw PostgreSQL, the same reports inserted and grouped`);
  const raw = await rawPath(t, reporters, o, seed);

  log(`${t.kind}: sightings: POST /sightings, open loop at ${o.rates.join(', ')} reports/s`);
  const runs: (Awaited<ReturnType<typeof openLoopWith>> & { cpu: ReturnType<typeof cpuPerUnit> })[] = [];
  let held = 0;
  for (const rate of o.rates) {
    const before = t.cpu.read();
    const r = await openLoopWith(rate, o.seconds, () => post.send(stream.next().value));
    runs.push({ ...r, cpu: cpuPerUnit(before, t.cpu.read(), r.count + r.errors) });
    if (r.errors > 0 || !(r.p99 < o.p99Ms)) break;
    held = rate;
  }
  await post.close();
  await aggregated(t.sql, 600_000);
  const climbed = runs.reduce((s, r) => s + r.count + r.errors, 0);

  const size = `${n(o.reports)} reports, ${n(o.indicators)} indicators, ${o.clients} clients of ${o.organisations} organisations`;
  const ratio = o.reports / wholeSeconds / raw.rate;
  const last = runs[runs.length - 1]!;
  const heldRun = runs.find((r) => r.rate === held) ?? runs[0]!;
  const climb: Record<string, number> = {};
  for (const r of runs) climb[`p99 ms at ${r.rate}/s`] = r.p99;
  if (last.errors) climb[`errors at ${last.rate}/s`] = last.errors;
  const rows: Row[] = [
    {
      scenario: 'Sightings: reported by POST /sightings in batches and aggregated, first report to every aggregate published',
      database: t.kind,
      size,
      figure: o.reports / wholeSeconds,
      unit: 'reports/s',
      raw: raw.rate,
      ratio,
      target: 'node ≥ 60% of raw',
      pass: ratio >= 0.6,
      extra: {
        'reports/s over HTTP': o.reports / sentSeconds,
        's to publish after the last report': wholeSeconds - sentSeconds,
        'reports a request': o.batch,
        'p50 ms of a request': sent.p50,
        'p99 ms of a request': sent.p99,
        '% of reports published': (100 * state!.published) / (o.reports + climbed),
        'aggregate versions stored': state!.versions,
        ...(sentCpu.node === undefined ? {} : { 'node CPU µs/report over HTTP': sentCpu.node }),
        ...cpuExtra(wholeCpu, raw.cpu, 'report'),
        'raw reports/s inserted': raw.insertRate,
        'raw GROUP BY s': raw.groupSeconds,
      },
      note: `${o.connections} connections back to back, ${o.batch} reports a request, each batch from one of the clients at random; raw: each batch matched by value and inserted by one statement on ${t.kind === 'postgres' ? 8 : 1} session(s), then one GROUP BY making every hour and day aggregate; the rest are left waiting by the privacy rule`,
    },
    {
      scenario: `Sightings: POST /sightings, open loop, highest rate held at p99 < ${o.p99Ms} ms`,
      database: t.kind,
      size: `${n(o.reports)} reports stored, ${n(climbed)} more`,
      figure: held,
      unit: 'requests/s',
      raw: raw.singleRate,
      ratio: held / raw.singleRate,
      target: 'node ≥ 60% of raw',
      pass: held / raw.singleRate >= 0.6,
      extra: { ...climb, 'p50 ms at the last rate': last.p50, ...cpuExtra(heldRun.cpu, {}, 'request') },
      note: `${held === o.rates[o.rates.length - 1] ? 'held every rate tried, so the ceiling is higher; ' : ''}one report a request (a webhook), rates ${o.rates.join(', ')}/s for ${o.seconds} s each, stopping at the first not held; latency from each request's scheduled time; raw: the matched INSERT above, one report a statement`,
    },
  ];
  rows.push(...(await trendsRows(t, reporters[0]!.token, o, size)));
  return rows;
}
