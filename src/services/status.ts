import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { findCollection } from '../store/collections.ts';
import { detailBlocks, findStatus, listDetails } from '../store/statuses.ts';
import type { DetailRow, Outcome, StatusRow } from '../store/statuses.ts';
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
async function visibleStatus(deps: Deps, who: Principal, root: string, id: string): Promise<StatusRow> {
  requireAuthenticated(who);
  const notFound = new VigilError('not-found', `no status '${id}' in API root '${root}'`);
  const status = await findStatus(deps.database.db, id);
  if (!status) throw notFound;
  if (who.kind === 'client' && status.client_id !== who.id) throw notFound;
  const collection = await findCollection(deps.database.db, status.collection_id);
  if (!collection || collection.api_root !== root) throw notFound;
  return status;
}

export async function getStatus(deps: Deps, who: Principal, root: string, id: string): Promise<StatusResource> {
  const status = await visibleStatus(deps, who, root, id);
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

/** A block of details (store/statuses.ts DETAIL_BLOCK seqs; a queued request's chunk settles two) as JSON text, comma-joined by outcome, with how many of each. */
type RenderedBlock = { fingerprint: string; chars: number } & Record<Outcome, { count: number; text: string }>;

/** Rendered blocks by status, least recently read first; bounded by the characters they hold. */
const rendered = new Map<string, Map<number, RenderedBlock>>();
let renderedChars = 0;
const RENDERED_MAX_CHARS = 64 * 1024 * 1024;

function renderBlock(fingerprint: string, rows: DetailRow[]): RenderedBlock {
  const lists: Record<Outcome, string[]> = { success: [], failure: [], pending: [] };
  for (const d of rows) lists[d.outcome].push(JSON.stringify(toDetail(d)));
  const part = (o: Outcome) => ({ count: lists[o].length, text: lists[o].join(',') });
  const block = { fingerprint, chars: 0, success: part('success'), failure: part('failure'), pending: part('pending') };
  block.chars = block.success.text.length + block.failure.text.length + block.pending.text.length;
  return block;
}

function keep(id: string, blocks: Map<number, RenderedBlock>): void {
  const before = rendered.get(id);
  for (const b of before?.values() ?? []) renderedChars -= b.chars;
  rendered.delete(id);
  rendered.set(id, blocks);
  for (const b of blocks.values()) renderedChars += b.chars;
  for (const [oldest, old] of rendered) {
    if (renderedChars <= RENDERED_MAX_CHARS || oldest === id) break;
    for (const b of old.values()) renderedChars -= b.chars;
    rendered.delete(oldest);
  }
}

/**
 * getStatus as the JSON text of the same resource. A large request is polled while its job
 * settles it chunk by chunk: each block of its details is rendered once and kept, and a poll
 * renders again only the blocks PostgreSQL says changed since (store/statuses.ts, detailBlocks).
 */
export async function getStatusText(deps: Deps, who: Principal, root: string, id: string): Promise<string> {
  const status = await visibleStatus(deps, who, root, id);
  const cached = rendered.get(id) ?? new Map<number, RenderedBlock>();
  const known = new Map([...cached].map(([k, b]) => [k, b.fingerprint]));
  const blocks = new Map<number, RenderedBlock>();
  for (const b of await detailBlocks(deps.database.db, id, known)) {
    const kept = cached.get(b.k);
    blocks.set(b.k, kept && kept.fingerprint === b.fingerprint ? kept : renderBlock(b.fingerprint, b.rows));
  }
  keep(id, blocks);
  const list = (o: Outcome) => {
    const parts = [...blocks.values()].filter((b) => b[o].count > 0);
    return { count: parts.reduce((n, b) => n + b[o].count, 0), text: parts.map((b) => b[o].text).join(',') };
  };
  const successes = list('success');
  const failures = list('failure');
  const pendings = list('pending');
  const head = {
    id: status.id,
    status: pendings.count > 0 ? 'pending' : 'complete',
    request_timestamp: status.request_timestamp,
    total_count: status.total_count,
    success_count: successes.count,
    failure_count: failures.count,
    pending_count: pendings.count,
  };
  const named = (name: string, l: { count: number; text: string }) => (l.count > 0 ? `,"${name}":[${l.text}]` : '');
  return `${JSON.stringify(head).slice(0, -1)}${named('successes', successes)}${named('failures', failures)}${named('pendings', pendings)}}`;
}
