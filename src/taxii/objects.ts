import { Hono } from 'hono';
import type { Deps } from '../deps.ts';
import { requireApiRoot } from '../services/access.ts';
import { proveHint } from '../services/auth.ts';
import type { Principal } from '../services/auth.ts';
import type { ClientHint } from '../services/client-hints.ts';
import { addObjects, requireWriter } from '../services/ingest.ts';
import { deleteObject, getManifest, getObject, getObjectsPage, getVersions } from '../services/read-objects.ts';
import { getStatusText } from '../services/status.ts';
import { bodyKind } from './media.ts';
import { readJsonBody } from './body.ts';
import { pathUuid } from './collections.ts';
import { DELETE_PARAMS, OBJECTS_PARAMS, OBJECT_PARAMS, VERSIONS_PARAMS, parsePageQuery } from './query.ts';
import { objectsPageResponse, pageResponse, taxiiJson, taxiiText } from './respond.ts';
import type { TaxiiEnv } from './env.ts';

/** TAXII 2.1 §4.3 and §5.3–5.8: status, manifest, objects, object, versions. */
export function objectRoutes(deps: Deps): Hono<TaxiiEnv> {
  const app = new Hono<TaxiiEnv>();
  const pageSize = deps.config.pageSizeMax;

  // Reads check the API root with the caller's rights, in one query (services/access.ts). A
  // malformed request to a root that does not exist still answers that the root does not exist.
  const parse = async <T>(root: string, read: () => T): Promise<T> => {
    try {
      return read();
    } catch (err) {
      await requireApiRoot(deps, root);
      throw err;
    }
  };
  const where = (root: string, id: string) => ({ root, collectionId: pathUuid(id, 'collection') });

  app.get('/:root/status/:id', async (c) => {
    const root = await requireApiRoot(deps, c.req.param('root'));
    return taxiiText(c, await getStatusText(deps, c.get('principal'), root.name, pathUuid(c.req.param('id'), 'status')));
  });

  app.get('/:root/collections/:id/manifest', async (c) => {
    const root = c.req.param('root');
    const [w, q] = await parse(root, () => [where(root, c.req.param('id')), parsePageQuery(c.req.url, OBJECTS_PARAMS, pageSize)] as const);
    const page = await getManifest(deps, c.get('principal'), w, q);
    const records = page.items.map((r) =>
      JSON.stringify({
        id: r.id,
        date_added: r.date_added,
        version: r.version,
        media_type: `application/stix+json;version=${r.spec_version}`,
      }),
    );
    return pageResponse(c, page, 'objects', records);
  });

  app.get('/:root/collections/:id/objects', async (c) => {
    const root = c.req.param('root');
    const read = async (who: Principal, hint?: ClientHint) => {
      const [w, q] = await parse(
        root,
        () => [where(root, c.req.param('id')), parsePageQuery(c.req.url, OBJECTS_PARAMS, pageSize)] as const,
      );
      return objectsPageResponse(c, await getObjectsPage(deps, who, w, q, hint), c.get('signed') === true);
    };
    const hint = c.get('hint');
    if (hint) {
      try {
        return await read(hint.principal, hint);
      } catch {
        // Unproven, or any answer given before the token was proved (a 400, a 404): the
        // credentials are checked as on every other request (a 401 if they fail), then read again.
        c.set('principal', await proveHint(deps, hint));
      }
    }
    return read(c.get('principal'));
  });

  app.post('/:root/collections/:id/objects', async (c) => {
    const root = await requireApiRoot(deps, c.req.param('root'));
    const collectionId = pathUuid(c.req.param('id'), 'collection');
    const kind = bodyKind(c.req.header('content-type'));
    await requireWriter(deps, c.get('principal'), root.name, collectionId);
    const { body, objectsAtMost, release } = await readJsonBody(
      c.req.raw,
      root.max_content_length,
      deps.config.jsonLimits,
      deps.bodyBudget,
    );
    try {
      const status = await addObjects(deps, c.get('principal'), { root: root.name, collectionId, body, kind, objectsAtMost });
      return taxiiJson(c, status, 202);
    } finally {
      release();
    }
  });

  app.get('/:root/collections/:id/objects/:objectId', async (c) => {
    const root = c.req.param('root');
    const [w, q] = await parse(
      root,
      () =>
        [
          { ...where(root, c.req.param('id')), objectId: c.req.param('objectId') },
          parsePageQuery(c.req.url, OBJECT_PARAMS, pageSize),
        ] as const,
    );
    const page = await getObject(deps, c.get('principal'), w, q);
    return pageResponse(
      c,
      page,
      'objects',
      page.items.map((r) => r.json),
    );
  });

  app.delete('/:root/collections/:id/objects/:objectId', async (c) => {
    // The API root first, as before: deleting needs credentials, checked in the service.
    const w = { ...where((await requireApiRoot(deps, c.req.param('root'))).name, c.req.param('id')), objectId: c.req.param('objectId') };
    const { filters } = parsePageQuery(c.req.url, DELETE_PARAMS, pageSize);
    await deleteObject(deps, c.get('principal'), w, filters);
    return taxiiText(c, '', 200);
  });

  app.get('/:root/collections/:id/objects/:objectId/versions', async (c) => {
    const root = c.req.param('root');
    const [w, q] = await parse(
      root,
      () =>
        [
          { ...where(root, c.req.param('id')), objectId: c.req.param('objectId') },
          parsePageQuery(c.req.url, VERSIONS_PARAMS, pageSize),
        ] as const,
    );
    const page = await getVersions(deps, c.get('principal'), w, q);
    return pageResponse(
      c,
      page,
      'versions',
      page.items.map((r) => JSON.stringify(r.version)),
    );
  });

  return app;
}
