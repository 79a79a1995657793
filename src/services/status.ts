import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { findCollection } from '../store/collections.ts';
import { findStatus, listDetails } from '../store/statuses.ts';
import type { DetailRow } from '../store/statuses.ts';
import type { Principal } from './auth.ts';
import { requireAuthenticated } from './access.ts';

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

function toDetail(d: DetailRow): StatusDetail {
  const detail: StatusDetail = { id: d.object_id ?? '', version: d.version ?? '' };
  // A failure names the object's place in the request too: its id may be missing or wrong.
  if (d.message) detail.message = d.outcome === 'failure' ? `objects[${d.seq}]: ${d.message}` : d.message;
  return detail;
}

/** A status is shown to the admin and to the client that made the request. */
export async function getStatus(deps: Deps, who: Principal, root: string, id: string): Promise<StatusResource> {
  requireAuthenticated(who);
  const notFound = new VigilError('not-found', `no status '${id}' in API root '${root}'`);
  const status = await findStatus(deps.database.db, id);
  if (!status) throw notFound;
  if (who.kind === 'client' && status.client_id !== who.id) throw notFound;
  const collection = await findCollection(deps.database.db, status.collection_id);
  if (!collection || collection.api_root !== root) throw notFound;
  const details = await listDetails(deps.database.db, id);
  const by = (o: DetailRow['outcome']) => details.filter((d) => d.outcome === o).map(toDetail);
  const successes = by('success');
  const failures = by('failure');
  const pendings = by('pending');
  const pendingCount = pendings.length;
  return {
    id: status.id,
    status: pendingCount > 0 ? 'pending' : 'complete',
    request_timestamp: status.request_timestamp,
    total_count: status.total_count,
    success_count: successes.length,
    failure_count: failures.length,
    pending_count: pendingCount,
    ...(successes.length ? { successes } : {}),
    ...(failures.length ? { failures } : {}),
    ...(pendings.length ? { pendings } : {}),
  };
}
