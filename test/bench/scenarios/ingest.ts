import { createRawTable, FLOOR_TABLE, rawInsert } from '../bulk.ts';
import { cpuExtra, cpuPerUnit } from '../cpu.ts';
import { generate, take } from '../data.ts';
import type { Doc } from '../data.ts';
import { client, TAXII } from '../load.ts';
import type { Row } from '../report.ts';
import type { Target } from '../target.ts';
import { createCollection, objectsPath } from './setup.ts';

export type IngestOptions = { envelopes: number; perEnvelope: number; clients: number; seed: number };

/** `clients` workers taking envelopes off one queue until it is empty: objects per second. */
async function drain(envelopes: Doc[][], clients: number, send: (docs: Doc[]) => Promise<void>): Promise<number> {
  const queue = [...envelopes];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let e = queue.shift(); e; e = queue.shift()) await send(e);
    }),
  );
  const objects = envelopes.reduce((n, e) => n + e.length, 0);
  return objects / ((performance.now() - t0) / 1000);
}

const envelope = (docs: Doc[]) => `{"objects":[${docs.map((d) => d.json).join(',')}]}`;

/**
 * The ingest floor's figures (floor-server.ts): the same envelopes POSTed to a server that only
 * parses, validates and stores them with the raw statement; empty where the target has no floor (PGlite).
 */
async function ingestFloor(t: Target, collectionId: string, envelopes: Doc[][], clients: number, raw: number) {
  if (!t.floor) return {};
  await createRawTable(t.sql, FLOOR_TABLE);
  const floor = await t.floor();
  const c = client(floor.url, clients);
  try {
    const from = floor.cpu.read();
    const rate = await drain(envelopes, clients, async (docs) => {
      const r = await c.request(objectsPath(collectionId), { method: 'POST', contentType: TAXII, body: envelope(docs) });
      if (r.status !== 202 || (JSON.parse(r.text) as { success_count: number }).success_count !== docs.length)
        throw new Error(`ingest floor: ${r.status} ${r.text.slice(0, 300)}`);
    });
    const cpu = cpuPerUnit(from, floor.cpu.read(), envelopes.length * (envelopes[0]?.length ?? 0));
    const figures: Record<string, number> = { 'ingest floor: objects/s': rate, 'ingest floor: ratio to raw': rate / raw };
    if (cpu.node !== undefined) figures['ingest floor: node CPU µs/object'] = cpu.node;
    if (cpu.postgres !== undefined) figures['ingest floor: PostgreSQL CPU µs/object'] = cpu.postgres;
    return figures;
  } finally {
    await c.close();
    await floor.stop();
  }
}

/** Ingest: POST envelopes through the node, then the same documents as batched INSERTs, then through the ingest floor. */
export async function ingestScenario(t: Target, o: IngestOptions): Promise<Row> {
  const admin = client(t.url, o.clients);
  const collectionId = await createCollection(admin, 'bench ingest');
  const stream = generate({ seed: o.seed });
  const envelopes = Array.from({ length: o.envelopes }, () => take(stream, o.perEnvelope));
  const objects = o.envelopes * o.perEnvelope;
  const nodeFrom = t.cpu.read();
  const node = await drain(envelopes, o.clients, async (docs) => {
    const r = await admin.request(objectsPath(collectionId), {
      method: 'POST',
      contentType: TAXII,
      body: envelope(docs),
    });
    const status = JSON.parse(r.text) as { status: string; success_count: number };
    if (r.status !== 202 || status.status !== 'complete' || status.success_count !== docs.length) {
      throw new Error(`ingest: ${r.status} ${r.text.slice(0, 300)}`);
    }
  });
  const nodeCpu = cpuPerUnit(nodeFrom, t.cpu.read(), objects);
  await admin.close();
  await createRawTable(t.sql);
  const sessions = await t.sessions(o.clients);
  const rawFrom = t.cpu.read();
  const raw = await drain(envelopes, o.clients, (docs) => rawInsert(sessions.sql, collectionId, docs));
  const rawCpu = cpuPerUnit(rawFrom, t.cpu.read(), objects);
  await sessions.close();
  const floor = await ingestFloor(t, collectionId, envelopes, o.clients, raw);
  const ratio = node / raw;
  return {
    scenario: `Ingest: envelopes of ${o.perEnvelope}, ${o.clients} clients`,
    database: t.kind,
    size: `${objects.toLocaleString('en-US')} objects`,
    figure: node,
    unit: 'objects/s',
    raw,
    ratio,
    target: 'node ≥ 60% of raw',
    pass: ratio >= 0.6,
    extra: { ...cpuExtra(nodeCpu, rawCpu, 'object'), ...floor },
    ...(Object.keys(floor).length > 0
      ? {
          note: 'ingest floor: node:http and pg parsing and validating each object as the node does, then storing the valid ones with the raw statement (test/bench/floor-server.ts), the same envelopes and clients',
        }
      : {}),
  };
}
