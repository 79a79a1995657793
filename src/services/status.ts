import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { findCollection } from '../store/collections.ts';
import { detailsJson, findStatus } from '../store/statuses.ts';
import type { Principal } from './auth.ts';
import { requireAuthenticated } from './access.ts';

/** A failure's message names the object's place in the request: `objects[3]: …`. */
type StatusDetail = { id: string; version: string; message?: string };

/** The TAXII 2.1 status resource (§4.3.1); lists are omitted when empty, never sent as []. */
export type StatusResource = {
  id: string;
  status: 'pending' | 'complete';
  request_timestamp: string;
  total_count: number;
  success_count: number;
  failure_count: number;
  pending_count: number;
  successes?: StatusDetail[];
  failures?: StatusDetail[];
  pendings?: StatusDetail[];
};

/** A status resource as JSON text, with what its caller may need to know without parsing it. */
export type StatusText = { id: string; status: StatusResource['status']; text: string };

/**
 * A status is shown to the admin and to the client that made the request. Its lists come from
 * the database as JSON text (detailsJson): a 40 MB request's status lists 25,000 objects, and
 * its client polls it while the request runs.
 */
export async function getStatusText(deps: Deps, who: Principal, root: string, id: string): Promise<StatusText> {
  requireAuthenticated(who);
  const notFound = new VigilError('not-found', `no status '${id}' in API root '${root}'`);
  const status = await findStatus(deps.database.db, id);
  if (!status) throw notFound;
  if (who.kind === 'client' && status.client_id !== who.id) throw notFound;
  const collection = await findCollection(deps.database.db, status.collection_id);
  if (!collection || collection.api_root !== root) throw notFound;
  const d = await detailsJson(deps.database.db, id);
  const state = d.pending_count > 0 ? 'pending' : 'complete';
  const list = (name: string, items: string | null) => (items ? `,"${name}":[${items}]` : '');
  const text =
    `{"id":${JSON.stringify(status.id)},"status":"${state}","request_timestamp":${JSON.stringify(status.request_timestamp)}` +
    `,"total_count":${status.total_count},"success_count":${d.success_count},"failure_count":${d.failure_count}` +
    `,"pending_count":${d.pending_count}${list('successes', d.successes)}${list('failures', d.failures)}${list('pendings', d.pendings)}}`;
  return { id: status.id, status: state, text };
}

export async function getStatus(deps: Deps, who: Principal, root: string, id: string): Promise<StatusResource> {
  return JSON.parse((await getStatusText(deps, who, root, id)).text) as StatusResource;
}
