import type { Audience } from '../policy/audience.ts';
import { clientAudience } from '../policy/audience.ts';
import type { Clearance } from '../policy/levels.ts';
import { alertObjects } from '../store/alerts.ts';
import type { AlertRow } from '../store/alerts.ts';
import type { Db } from '../store/database.ts';

/** Who an alert is for: its subscription's client, with the rights it has now. */
export function alertAudience(row: Pick<AlertRow, 'clearance' | 'own_org' | 'red'>): Audience {
  return clientAudience(row.clearance as Clearance, row.own_org, row.red);
}

const q = (s: string) => JSON.stringify(s);

/**
 * The JSON body of an alert, built from the stored JSON text of its objects (never re-parsed),
 * after reading them again under the TLP rules for the subscriber. Undefined when nothing of it
 * may be sent any more (the client lost its grant or its clearance since the match).
 * `base`: the node's public URL, when known; the TAXII URL is a path otherwise.
 */
export async function alertBody(db: Db, row: AlertRow, nodeId: string, base: string | undefined): Promise<string | undefined> {
  if (!row.can_read) return undefined;
  const objects = await alertObjects(db, row.collection_id, alertAudience(row), row.relax_container_refs, row.object_refs);
  if (objects.length === 0) return undefined;
  const collectionPath = `/${encodeURIComponent(row.api_root)}/collections/${row.collection_id}/objects/`;
  const ids = [...new Set(objects.map((o) => o.id))];
  const objectsUrl = `${base ?? ''}${collectionPath}?match[id]=${ids.map(encodeURIComponent).join(',')}&match[version]=all`;
  const head = [
    `"type":"vigil-alert"`,
    `"id":${q(row.id)}`,
    `"event_id":${q(row.seq)}`,
    `"created":${q(row.created)}`,
    `"node_id":${q(nodeId)}`,
    `"subscription":{"id":${q(row.subscription_id)},"name":${q(row.subscription_name)}}`,
    `"collection":{"api_root":${q(row.api_root)},"id":${q(row.collection_id)}}`,
    `"stored_at":${q(row.stored_at)}`,
    `"objects_url":${q(objectsUrl)}`,
    `"object_refs":${JSON.stringify(objects.map((o) => ({ id: o.id, version: o.version, date_added: o.date_added })))}`,
  ];
  // Figures made by the matcher from numbers and ids it read from the store: serialised as they are.
  if (row.trend !== null && row.trend !== undefined) head.push(`"trend":${JSON.stringify(row.trend)}`);
  if (row.payload === 'objects') head.push(`"objects":[${objects.map((o) => o.json).join(',')}]`);
  return `{${head.join(',')}}`;
}
