import { Hono } from 'hono';
import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { collectionAccess, requireApiRoot, visibleCollections } from '../services/access.ts';
import type { CollectionAccess } from '../services/access.ts';
import { STIX_MEDIA_TYPE } from './media.ts';
import { taxiiJson } from './respond.ts';
import type { TaxiiEnv } from './env.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A collection or status id in a path: anything but a UUID names nothing here (404). */
export function pathUuid(value: string, what: string): string {
  if (!UUID.test(value)) throw new VigilError('not-found', `no ${what} '${value.slice(0, 100)}': not a UUID`);
  return value.toLowerCase();
}

/** TAXII 2.1 §5.2.1: `can_read`/`can_write` are the caller's own rights. */
function collectionResource(a: Pick<CollectionAccess, 'collection' | 'canRead' | 'canWrite'>) {
  const c = a.collection;
  return {
    id: c.id,
    title: c.title,
    ...(c.description ? { description: c.description } : {}),
    ...(c.alias ? { alias: c.alias } : {}),
    can_read: a.canRead,
    can_write: a.canWrite,
    media_types: [STIX_MEDIA_TYPE],
  };
}

/** TAXII 2.1 §5.1 and §5.2. */
export function collectionRoutes(deps: Deps): Hono<TaxiiEnv> {
  const app = new Hono<TaxiiEnv>();
  app.get('/:root/collections', async (c) => {
    const root = await requireApiRoot(deps, c.req.param('root'));
    const visible = await visibleCollections(deps, c.get('principal'), root.name);
    return taxiiJson(c, visible.length ? { collections: visible.map(collectionResource) } : {});
  });
  app.get('/:root/collections/:id', async (c) => {
    const root = await requireApiRoot(deps, c.req.param('root'));
    const id = pathUuid(c.req.param('id'), 'collection');
    return taxiiJson(c, collectionResource(await collectionAccess(deps, c.get('principal'), root.name, id)));
  });
  return app;
}
