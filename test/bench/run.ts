// npm run bench [-- --objects 1000000 --db postgres]; npm run bench:smoke. See test/bench/RESULTS.md.
import { execSync } from 'node:child_process';
import os from 'node:os';
import { parseOptions } from './options.ts';
import { markdownTable, notMeasured, writeResults } from './report.ts';
import { federationScenarios } from './scenarios/federation.ts';
import { replicaPolls } from './scenarios/replica.ts';
import { sightingScenarios } from './scenarios/sightings.ts';
import type { Row } from './report.ts';
import { bundleRows, runSuite } from './suite.ts';
import { pgliteTarget, postgresTarget } from './target.ts';
import type { Target } from './target.ts';

function machine(pgVersion: string | undefined) {
  const sh = (cmd: string) => {
    try {
      return execSync(cmd, { encoding: 'utf8' }).trim();
    } catch {
      return undefined;
    }
  };
  return {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model,
    memory: sh('free -h'),
    loadavg: os.loadavg(),
    node: process.version,
    postgres: pgVersion,
  };
}

const options = parseOptions(process.argv.slice(2), process.env);
const rows: Row[] = [];
let pgVersion: string | undefined;
const started = new Date().toISOString();
const runs = (part: (typeof options.parts)[number]) => options.parts.includes(part);
for (const d of options.databases) {
  if (!runs('suite') && !runs('replica') && !runs('bundle')) break;
  const target: Target = d.kind === 'postgres' ? await postgresTarget(d.url!) : await pgliteTarget();
  try {
    if (d.kind === 'postgres') pgVersion = (await target.sql<{ v: string }>('SELECT version() AS v'))[0]?.v;
    if (runs('suite')) rows.push(...(await runSuite(target, d.sizes)));
    else if (runs('bundle')) rows.push(...(await bundleRows(target, d.sizes)));
  } finally {
    await target.stop();
  }
  if (runs('replica') && d.kind === 'postgres' && d.sizes.replicaObjects > 0) {
    process.stderr.write(`[bench] postgres: SIEM polls with a read replica (${d.sizes.replicaObjects.toLocaleString('en-US')} objects)\n`);
    const siem = { rates: d.sizes.siemRates, seconds: d.sizes.siemSeconds, limit: 100, p99Ms: 50 };
    rows.push(...(await replicaPolls(d.sizes.replicaObjects, siem)));
  }
}
// Sightings (issue 19): a node of their own, publishing aggregates (NODE_COUNTRY) and taking
// reports from each client as fast as they come (SIGHTINGS_PER_MINUTE=0: no limit of its own).
const SIGHTINGS_ENV = { NODE_COUNTRY: 'FR', SIGHTINGS_PER_MINUTE: '0' };
for (const d of options.databases) {
  if (!runs('sightings')) break;
  process.stderr.write(`[bench] ${d.kind}: sightings (${d.sizes.sightingReports.toLocaleString('en-US')} reports)\n`);
  const target = d.kind === 'postgres' ? await postgresTarget(d.url!, SIGHTINGS_ENV) : await pgliteTarget(SIGHTINGS_ENV);
  try {
    if (d.kind === 'postgres') pgVersion ??= (await target.sql<{ v: string }>('SELECT version() AS v'))[0]?.v;
    const s = d.sizes;
    rows.push(
      ...(await sightingScenarios(target, {
        reports: s.sightingReports,
        indicators: s.sightingIndicators,
        clients: s.sightingClients,
        organisations: s.sightingOrganisations,
        connections: s.sightingConnections,
        batch: s.sightingBatch,
        rates: s.sightingRates,
        seconds: s.sightingSeconds,
        p99Ms: 50,
        trendsRate: s.trendsRate,
        trendsSeconds: s.trendsSeconds,
      })),
    );
  } catch (err) {
    // Two hours into a default run, one part failing must not lose every other part's rows.
    process.stderr.write(`[bench] ${d.kind}: sightings failed: ${(err as Error).stack}\n`);
    rows.push(
      notMeasured('Sightings: reported by POST /sightings and aggregated', 'node ≥ 60% of raw', `failed: ${(err as Error).message}`),
    );
  } finally {
    await target.stop();
  }
}
// Federation: two more nodes of the same kind, the peer pulling from the origin.
for (const d of options.databases) {
  if (!runs('federation')) break;
  process.stderr.write(`[bench] ${d.kind}: federation (${d.sizes.federationObjects.toLocaleString('en-US')} objects)\n`);
  const start = (nodeId: string) =>
    d.kind === 'postgres' ? postgresTarget(d.url!, { NODE_ID: nodeId }) : pgliteTarget({ NODE_ID: nodeId });
  const origin = await start('bench-origin');
  const peer = await start('bench-peer');
  try {
    rows.push(
      ...(await federationScenarios(
        { target: origin, nodeId: 'bench-origin' },
        { target: peer, nodeId: 'bench-peer' },
        {
          objects: d.sizes.federationObjects,
          intervalSeconds: d.sizes.federationInterval,
          probes: d.sizes.federationProbes,
        },
      )),
    );
  } finally {
    await peer.stop();
    await origin.stop();
  }
  const large = d.sizes.federationLargeObjects;
  if (d.kind !== 'postgres' || large <= 0) continue;
  process.stderr.write(`[bench] ${d.kind}: federation catch-up (${large.toLocaleString('en-US')} objects)\n`);
  const bigOrigin = await start('bench-origin-large');
  const bigPeer = await start('bench-peer-large');
  try {
    rows.push(
      ...(await federationScenarios(
        { target: bigOrigin, nodeId: 'bench-origin-large' },
        { target: bigPeer, nodeId: 'bench-peer-large' },
        { objects: large, intervalSeconds: d.sizes.federationInterval, probes: 0, catchUpTargetSeconds: 120 },
      )),
    );
  } finally {
    await bigPeer.stop();
    await bigOrigin.stop();
  }
}

const table = markdownTable(rows);
process.stdout.write(`${table}\n`);
writeResults(options.out, {
  started,
  finished: new Date().toISOString(),
  smoke: options.smoke,
  machine: machine(pgVersion),
  databases: options.databases,
  rows,
});
process.stderr.write(`[bench] results written to ${options.out}\n`);
