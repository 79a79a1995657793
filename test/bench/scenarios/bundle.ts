import { randomUUID } from 'node:crypto';
import { generate, take } from '../data.ts';
import { client, json, STIX } from '../load.ts';
import type { Target } from '../target.ts';
import { createCollection, objectsPath } from './setup.ts';

type Status = { id: string; status: string; success_count: number; failure_count: number };

/** Large bundle: one analyst bundle POSTed whole; seconds until its status says `complete`. */
export async function largeBundle(t: Target, o: { objects: number; pad: number; seed: number }) {
  const c = client(t.url, 2);
  const collectionId = await createCollection(c, 'bench bundle');
  const docs = take(generate({ seed: o.seed, pad: o.pad }), o.objects);
  const body = `{"type":"bundle","id":"bundle--${randomUUID()}","objects":[${docs.map((d) => d.json).join(',')}]}`;
  t.rss.reset();
  const t0 = performance.now();
  let status = await json<Status>(c, objectsPath(collectionId), { method: 'POST', contentType: STIX, body });
  while (status.status !== 'complete') {
    await new Promise((r) => setTimeout(r, 250));
    status = await json<Status>(c, `/default/status/${status.id}/`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const peakRss = t.rss.peak();
  await c.close();
  if (status.success_count !== o.objects)
    throw new Error(`large bundle: ${status.success_count} of ${o.objects} stored, ${status.failure_count} failed`);
  return { seconds, peakRss, megabytes: Buffer.byteLength(body) / 1e6 };
}
