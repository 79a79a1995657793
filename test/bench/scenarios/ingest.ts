import { createRawTable, rawInsert } from '../bulk.ts';
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

/** Ingest: POST envelopes through the node, then the same documents as batched INSERTs. */
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
      body: `{"objects":[${docs.map((d) => d.json).join(',')}]}`,
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
    extra: cpuExtra(nodeCpu, rawCpu, 'object'),
  };
}
