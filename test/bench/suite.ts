import { bulkLoad } from './bulk.ts';
import { generate, take } from './data.ts';
import { cpuExtra, cpuPerUnit } from './cpu.ts';
import { client } from './load.ts';
import type { Sizes } from './options.ts';
import type { Row } from './report.ts';
import type { Target } from './target.ts';
import { ADMIN_TOKEN } from './target.ts';
import { alertLatency } from './scenarios/alerts.ts';
import { largeBundle } from './scenarios/bundle.ts';
import { feedScenario } from './scenarios/feeds.ts';
import { ingestScenario } from './scenarios/ingest.ts';
import { headPoll } from './scenarios/poll.ts';
import { fullReadNode, fullReadRaw } from './scenarios/read.ts';
import { siemPolls } from './scenarios/siem.ts';
import { createClient, createCollection } from './scenarios/setup.ts';

const MB = 1024 * 1024;
const n = (x: number) => x.toLocaleString('en-US');
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

/**
 * Loads the large collection up to `total` objects, straight into its table, then VACUUM ANALYZE:
 * a node that grew to a million objects over months has its tables vacuumed, and autovacuum
 * must not start working through the bulk load while the polls are measured.
 */
export async function growTo(
  t: Target,
  collectionId: string,
  stream: Iterator<ReturnType<typeof take>[number]>,
  from: number,
  total: number,
): Promise<void> {
  const batch = 5000;
  for (let at = from; at < total; at += batch) {
    await bulkLoad(t.sql, collectionId, take(stream, Math.min(batch, total - at)), Date.UTC(2025, 0, 1) + at);
  }
  await t.sql('VACUUM (ANALYZE) objects');
  await t.sql('VACUUM (ANALYZE) id_levels');
}

/** The large-bundle rows: one analyst bundle POSTed whole, seconds to complete and the node's peak RSS. */
export async function bundleRows(t: Target, s: Sizes): Promise<Row[]> {
  const rows: Row[] = [];
  log(`${t.kind}: large bundle (${n(s.bundleObjects)} objects)`);
  const before = t.cpu.read();
  const bundle = await largeBundle(t, { objects: s.bundleObjects, pad: s.bundlePad, seed: 3 });
  const cpu = cpuExtra(cpuPerUnit(before, t.cpu.read(), s.bundleObjects), {}, 'object');
  const bundleSize = `${n(s.bundleObjects)} objects, ${bundle.megabytes.toFixed(1)} MB`;
  rows.push({
    scenario: 'Large bundle: seconds to complete',
    database: t.kind,
    size: bundleSize,
    figure: bundle.seconds,
    unit: 's',
    raw: null,
    ratio: null,
    target: '< 5 s',
    pass: bundle.seconds < 5,
    extra: cpu,
  });
  rows.push({
    scenario: 'Large bundle: peak RSS',
    database: t.kind,
    size: bundleSize,
    figure: bundle.peakRss / MB,
    unit: 'MB',
    raw: null,
    ratio: null,
    target: '< 400 MB',
    pass: bundle.peakRss < 400 * MB,
    extra: {},
    note: t.rss.source,
  });
  return rows;
}

/** Every scenario on one database, in an order that keeps each measurement's table state known. */
export async function runSuite(t: Target, s: Sizes): Promise<Row[]> {
  const rows: Row[] = [];
  const at = (k: number) => `${n(k)} objects`;

  log(`${t.kind}: ingest`);
  rows.push(await ingestScenario(t, { envelopes: s.envelopes, perEnvelope: s.perEnvelope, clients: s.ingestClients, seed: 2 }));

  log(`${t.kind}: alerts (${n(s.alertSubscriptions)} subscriptions)`);
  rows.push(
    await alertLatency(t, {
      subscriptions: s.alertSubscriptions,
      clients: s.alertClients,
      matching: s.alertMatching,
      indicators: s.alertIndicators,
    }),
  );

  rows.push(...(await bundleRows(t, s)));

  const admin = client(t.url, 2);
  const collectionId = await createCollection(admin, 'bench large');
  const green = await createClient(admin, collectionId, 'GREEN');
  await admin.close();
  const stream = generate({ seed: 1 });
  const poll = { workers: s.pollClients, seconds: s.pollSeconds, limit: 100, behindHead: Math.min(300, Math.floor(s.growthBase / 2)) };

  log(`${t.kind}: loading ${n(s.growthBase)} objects, head poll`);
  await growTo(t, collectionId, stream, 0, s.growthBase);
  const small = await headPoll(t, collectionId, ADMIN_TOKEN, poll);

  // The full read pages through `readObjects` (issue 6: 200,000); the polls run at `objects`.
  const readAt = Math.min(Math.max(s.readObjects, s.growthBase), s.objects);
  log(`${t.kind}: loading up to ${n(readAt)} objects, full read`);
  await growTo(t, collectionId, stream, s.growthBase, readAt);
  const raw = await fullReadRaw(t, collectionId, s.pageLimit);
  const node = await fullReadNode(t, collectionId, s.pageLimit);

  log(`${t.kind}: loading up to ${n(s.objects)} objects, head poll`);
  await growTo(t, collectionId, stream, readAt, s.objects);
  const large = await headPoll(t, collectionId, ADMIN_TOKEN, poll);
  log(`${t.kind}: SIEM polls, open loop at ${s.siemRates.join(', ')} requests/s`);
  rows.push(
    ...(await siemPolls(
      t,
      collectionId,
      ADMIN_TOKEN,
      { rates: s.siemRates, seconds: s.siemSeconds, limit: 100, p99Ms: 50 },
      at(s.objects),
      { floor: true },
    )),
  );
  const growth = large.p50 / small.p50;
  rows.push({
    scenario: `Growth: head poll p50 at ${n(s.objects)} vs ${n(s.growthBase)}`,
    database: t.kind,
    size: `${at(s.objects)} vs ${n(s.growthBase)}`,
    figure: growth,
    unit: '×',
    raw: null,
    ratio: growth,
    target: '≤ 1.3',
    pass: growth <= 1.3,
    extra: { [`p50 ms at ${n(s.growthBase)}`]: small.p50, [`p99 ms at ${n(s.growthBase)}`]: small.p99, 'p99 ratio': large.p99 / small.p99 },
  });

  log(`${t.kind}: TLP, a GREEN client vs the admin`);
  // Alternating rounds, so a noisy neighbour hits both sides alike.
  const half = { ...poll, seconds: Math.max(s.pollSeconds / 2, 0.25) };
  const greenLat: number[] = [];
  const adminLat: number[] = [];
  for (let round = 0; round < 2; round++) {
    greenLat.push(...(await headPoll(t, collectionId, green, half)).latencies);
    adminLat.push(...(await headPoll(t, collectionId, ADMIN_TOKEN, half)).latencies);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const tlp = median(greenLat) / median(adminLat);
  rows.push({
    scenario: 'TLP: GREEN client poll vs admin poll (p50)',
    database: t.kind,
    size: at(s.objects),
    figure: tlp,
    unit: '×',
    raw: null,
    ratio: tlp,
    target: '≤ 1.2',
    pass: tlp <= 1.2,
    extra: { 'GREEN p50 ms': median(greenLat), 'admin p50 ms': median(adminLat) },
  });

  rows.push({
    scenario: `Full read: limit ${s.pageLimit}, one client`,
    database: t.kind,
    size: at(readAt),
    figure: node.perSecond,
    unit: 'objects/s',
    raw: raw.perSecond,
    ratio: node.perSecond / raw.perSecond,
    target: 'node ≥ 70% of raw',
    pass: node.perSecond / raw.perSecond >= 0.7,
    extra: {
      'objects served': node.objects,
      'rows read raw': raw.objects,
      pages: node.pages,
      'raw objects/s without parsing': raw.noParsePerSecond,
      'ratio to it': node.perSecond / raw.noParsePerSecond,
    },
    note: 'both clients parse what they read; the node serves the latest version of each id, raw reads every stored version',
  });
  rows.push({
    scenario: 'Memory: peak RSS during the full read',
    database: t.kind,
    size: at(readAt),
    figure: node.peakRss / MB,
    unit: 'MB',
    raw: null,
    ratio: null,
    target: '< 300 MB',
    pass: node.peakRss < 300 * MB,
    extra: {},
    note: t.rss.source,
  });

  log(`${t.kind}: a firewall feed of ${n(s.feedLines)} lines`);
  rows.push(...(await feedScenario(t, s.feedLines)));
  return rows;
}
