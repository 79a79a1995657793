import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type * as s from '../alerts/schemas.ts';
import { webhookUrlProblem } from './webhook-url.ts';
import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import * as store from '../store/alerts.ts';
import type { AlertSubscriptionRow } from '../store/alerts.ts';
import { findClientKind, findGrant } from '../store/clients.ts';
import { findCollection } from '../store/collections.ts';
import type { Principal } from './auth.ts';
import { requireAuthenticated } from './access.ts';

// Alert subscriptions for the alert API and the vigil command. A client manages its own, with
// the rights it already has; the admin sees and manages everyone's.

type Owner = { kind: 'admin' } | { kind: 'client'; id: string };

function ownerOf(who: Principal): Owner {
  requireAuthenticated(who);
  if (who.kind === 'admin') return { kind: 'admin' };
  if (who.role !== 'client') throw new VigilError('forbidden', 'peer nodes pull collections; alert subscriptions are for clients');
  return { kind: 'client', id: who.id };
}

export type AlertSubscription = {
  id: string;
  name: string;
  client_id: string;
  collections: string[];
  filter: unknown;
  webhook_url: string | null;
  payload: 'objects' | 'ids';
  active: boolean;
  created: string;
  modified: string;
};

function resource(row: AlertSubscriptionRow): AlertSubscription {
  return {
    id: row.id,
    name: row.name,
    client_id: row.client_id,
    collections: row.collection_ids,
    filter: row.filter,
    webhook_url: row.webhook_url,
    payload: row.payload,
    active: row.active,
    created: row.created,
    modified: row.modified,
  };
}

/** The client may read every named collection; one it has no right on does not exist for it. */
async function checkCollections(deps: Deps, clientId: string, collections: string[]): Promise<void> {
  for (const id of collections) {
    const grant = await findGrant(deps.database.db, clientId, id);
    if (!grant || (!grant.can_read && !grant.can_write) || !(await findCollection(deps.database.db, id))) {
      throw new VigilError('not-found', `collections: no collection '${id}'`);
    }
    if (!grant.can_read) throw new VigilError('forbidden', `collections: this client may not read collection '${id}'`);
  }
}

function checkWebhook(deps: Deps, url: string | null | undefined): void {
  if (!url) return;
  const problem = webhookUrlProblem(url, deps.config.alerts);
  if (problem) throw new VigilError('bad-request', `webhook_url: ${problem}`);
}

async function owned(deps: Deps, who: Principal, id: string): Promise<AlertSubscriptionRow> {
  const owner = ownerOf(who);
  const row = await store.findAlertSubscription(deps.database.db, id);
  if (!row || (owner.kind === 'client' && row.client_id !== owner.id)) throw new VigilError('not-found', `no alert subscription '${id}'`);
  return row;
}

export async function createAlertSubscription(
  deps: Deps,
  who: Principal,
  body: z.infer<typeof s.createAlertSubscriptionBody>,
): Promise<AlertSubscription> {
  const owner = ownerOf(who);
  let clientId: string;
  if (owner.kind === 'admin') {
    if (!body.client_id) throw new VigilError('bad-request', 'client_id: the admin subscribes on behalf of a client; name it');
    clientId = body.client_id;
    const client = await findClientKind(deps.database.db, clientId);
    if (client?.kind !== 'client') throw new VigilError('not-found', `client_id: no client '${clientId}'`);
  } else {
    if (body.client_id && body.client_id !== owner.id) throw new VigilError('forbidden', 'client_id: a client subscribes for itself only');
    clientId = owner.id;
  }
  const collections = [...new Set(body.collections)];
  await checkCollections(deps, clientId, collections);
  checkWebhook(deps, body.webhook_url);
  const id = randomUUID();
  await store.insertAlertSubscription(deps.database.db, {
    id,
    client_id: clientId,
    name: body.name,
    collection_ids: collections,
    filter: body.filter,
    webhook_url: body.webhook_url ?? null,
    payload: body.payload,
    active: body.active,
  });
  return resource((await store.findAlertSubscription(deps.database.db, id))!);
}

export async function listAlertSubscriptions(deps: Deps, who: Principal): Promise<AlertSubscription[]> {
  const owner = ownerOf(who);
  const rows = await store.listAlertSubscriptions(deps.database.db, owner.kind === 'client' ? owner.id : undefined);
  return rows.map(resource);
}

export async function getAlertSubscription(deps: Deps, who: Principal, id: string): Promise<AlertSubscription> {
  return resource(await owned(deps, who, id));
}

export async function updateAlertSubscription(
  deps: Deps,
  who: Principal,
  id: string,
  body: z.infer<typeof s.updateAlertSubscriptionBody>,
): Promise<AlertSubscription> {
  const row = await owned(deps, who, id);
  const collections = body.collections ? [...new Set(body.collections)] : row.collection_ids;
  if (body.collections) await checkCollections(deps, row.client_id, collections);
  if (body.webhook_url !== undefined) checkWebhook(deps, body.webhook_url);
  await store.updateAlertSubscription(deps.database.db, {
    id,
    client_id: row.client_id,
    name: body.name ?? row.name,
    collection_ids: collections,
    filter: body.filter ?? row.filter,
    webhook_url: body.webhook_url === undefined ? row.webhook_url : body.webhook_url,
    payload: body.payload ?? row.payload,
    active: body.active ?? row.active,
  });
  return resource((await store.findAlertSubscription(deps.database.db, id))!);
}

export async function deleteAlertSubscription(deps: Deps, who: Principal, id: string): Promise<void> {
  await owned(deps, who, id);
  await store.deleteAlertSubscription(deps.database.db, id);
}

/** Recent alerts of a subscription and how their delivery went: retries, errors, dead letters. */
export async function listDeliveries(deps: Deps, who: Principal, id: string, q: z.infer<typeof s.deliveriesQuery>) {
  await owned(deps, who, id);
  return store.listDeliveries(deps.database.db, id, q.state, q.limit);
}

/** Sends a dead alert again, from its first attempt (the receiver was fixed). */
export async function retryDelivery(deps: Deps, who: Principal, id: string, alertId: string): Promise<void> {
  await owned(deps, who, id);
  if (!(await store.requeueAlert(deps.database.db, id, alertId)))
    throw new VigilError('not-found', `no dead alert '${alertId}' in this subscription`);
  deps.alerts.kick();
}
