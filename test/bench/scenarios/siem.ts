import { cpuExtra, cpuPerUnit } from '../cpu.ts';
import { openLoop } from '../load.ts';
import type { Row } from '../report.ts';
import type { Target } from '../target.ts';
import { objectsPath } from './setup.ts';

// SIEMs poll at a rate, not back to back: 10,000 hospitals polling once a minute is 167 requests
// a second, and most polls find nothing new. Each rate runs open loop (load.ts); the figure is the
// highest rate the node holds with p99 under the target, beside raw PostgreSQL's own rate for the
// same page query in the same run.

export type SiemOptions = {
  /** Requests per second, in increasing order; a kind stops at the first rate it does not hold. */
  rates: number[];
  seconds: number;
  limit: number;
  p99Ms: number;
};

type Kind = { name: string; after: string; rows: number };

/** The rate whose CPU per request every row reports beside the one at its highest rate held. */
const COMPARED_RATE = 800;

const DATE_TEXT = `to_char(date_added AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** The added_after of a poller `behind` rows behind the head (0: at the head, nothing new). */
async function behindHead(t: Target, collectionId: string, behind: number): Promise<string> {
  const [row] = await t.sql<{ at: string }>(
    `SELECT ${DATE_TEXT} AS at FROM objects WHERE collection_id = $1 ORDER BY date_added DESC OFFSET $2 LIMIT 1`,
    [collectionId, behind],
  );
  if (!row) throw new Error('SIEM polls: the collection is empty');
  return row.at;
}

/** Raw PostgreSQL: the page query itself, back to back on `sessions` connections for `seconds`. */
async function rawRate(
  t: Target,
  collectionId: string,
  after: string,
  limit: number,
  seconds: number,
): Promise<{ rate: number; cpu: ReturnType<typeof cpuPerUnit> }> {
  const sessions = await t.sessions(8);
  const from = t.cpu.read();
  const end = performance.now() + seconds * 1000;
  let count = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const rows = await sessions.sql<{ json: string }>(
        `SELECT object::text AS json FROM objects WHERE collection_id = $1 AND date_added > $2::timestamptz ORDER BY date_added LIMIT $3`,
        [collectionId, after, limit],
      );
      // A TAXII client parses the page: so does the raw side.
      JSON.parse(`[${rows.map((r) => r.json).join(',')}]`);
      count++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: t.kind === 'postgres' ? 8 : 1 }, worker));
  const rate = count / ((performance.now() - t0) / 1000);
  const cpu = cpuPerUnit(from, t.cpu.read(), count);
  await sessions.close();
  return { rate, cpu };
}

/** Rate after rate until one is not held: what each rate gave (with its CPU per request), and the highest held. */
type Run = Awaited<ReturnType<typeof openLoop>> & { cpu: ReturnType<typeof cpuPerUnit> };

async function climb(
  server: Pick<Target, 'url' | 'cpu'>,
  path: string,
  token: string,
  o: SiemOptions,
): Promise<{ held: number; runs: Run[] }> {
  let held = 0;
  const runs: Run[] = [];
  // Warm-up, not counted: the node's first requests of a path compile code and open sockets.
  await openLoop(server.url, path, token, o.rates[0]!, Math.min(1, o.seconds));
  for (const rate of o.rates) {
    const from = server.cpu.read();
    const r = await openLoop(server.url, path, token, rate, o.seconds);
    runs.push({ ...r, cpu: cpuPerUnit(from, server.cpu.read(), r.count + r.errors) });
    if (r.errors > 0 || !(r.p99 < o.p99Ms)) break;
    held = rate;
  }
  return { held, runs };
}

/**
 * The HTTP floor's figures for one kind of poll (floor-server.ts): the highest rate it held, and
 * its CPU per request at that rate; empty where the target has no floor (PGlite).
 */
async function floorFigures(t: Target, path: string, o: SiemOptions): Promise<Record<string, number>> {
  if (!t.floor) return {};
  const floor = await t.floor();
  try {
    const { held, runs } = await climb(floor, path, '', o);
    const run = runs.find((r) => r.rate === held) ?? runs[0]!;
    const figures: Record<string, number> = { 'HTTP floor: highest rate held': held };
    if (run.cpu.node !== undefined) figures['HTTP floor: node CPU µs/request'] = run.cpu.node;
    if (run.cpu.postgres !== undefined) figures['HTTP floor: PostgreSQL CPU µs/request'] = run.cpu.postgres;
    return figures;
  } finally {
    await floor.stop();
  }
}

/** `floor`: also climb the HTTP floor (floor-server.ts) with the same polls, for the row's details. */
export async function siemPolls(
  t: Target,
  collectionId: string,
  token: string,
  o: SiemOptions,
  size: string,
  options: { floor?: boolean } = {},
): Promise<Row[]> {
  const kinds: Kind[] = [
    { name: 'polls that find nothing new', after: await behindHead(t, collectionId, 0), rows: 0 },
    { name: `polls that get a ${o.limit}-object page`, after: await behindHead(t, collectionId, o.limit), rows: o.limit },
  ];
  const rows: Row[] = [];
  for (const kind of kinds) {
    const path = `${objectsPath(collectionId)}?added_after=${encodeURIComponent(kind.after)}&limit=${o.limit}`;
    const { held, runs } = await climb(t, path, token, o);
    const { rate: raw, cpu: rawCpu } = await rawRate(t, collectionId, kind.after, o.limit, o.seconds);
    const floor = options.floor ? await floorFigures(t, path, o) : {};
    const last = runs[runs.length - 1]!;
    const extra: Record<string, number> = {};
    for (const r of runs) extra[`p99 ms at ${r.rate}/s`] = r.p99;
    if (last.errors) extra[`errors at ${last.rate}/s`] = last.errors;
    // CPU per request at the highest rate held (the first rate's when none was), and at one rate
    // for every row: a request costs less CPU as the rate rises (the node's fixed work a second is
    // shared by more requests, and a busier event loop takes several a wake-up), so rows that held
    // different rates compare there.
    const heldRun = runs.find((r) => r.rate === held) ?? runs[0]!;
    const cpu = cpuExtra(heldRun.cpu, rawCpu, 'request');
    const atCompared = runs.find((r) => r.rate === COMPARED_RATE);
    if (atCompared?.cpu.node !== undefined) cpu[`node CPU µs/request at ${COMPARED_RATE}/s`] = atCompared.cpu.node;
    if (atCompared?.cpu.postgres !== undefined) cpu[`its PostgreSQL CPU µs/request at ${COMPARED_RATE}/s`] = atCompared.cpu.postgres;
    rows.push({
      scenario: `SIEM polls, open loop: ${kind.name}, highest rate held at p99 < ${o.p99Ms} ms`,
      database: t.kind,
      size,
      figure: held,
      unit: 'requests/s',
      raw,
      ratio: held / raw,
      target: kind.rows === 0 ? '≥ 2,000 requests/s' : 'node ≥ 60% of raw',
      pass: kind.rows === 0 ? held >= 2000 : held / raw >= 0.6,
      extra: { ...extra, 'p50 ms at the last rate': last.p50, ...cpu, ...floor },
      note: `${held === o.rates[o.rates.length - 1] ? 'held every rate tried, so the ceiling is higher; ' : ''}rates ${o.rates.join(', ')}/s for ${o.seconds} s each, stopping at the first not held; latency from each request's scheduled time; raw: the same page query back to back on ${t.kind === 'postgres' ? 8 : 1} session(s), parsed${'HTTP floor: highest rate held' in floor ? '; HTTP floor: node:http and pg answering the same polls with the raw query alone (test/bench/floor-server.ts), the same rates' : ''}`,
    });
  }
  return rows;
}
