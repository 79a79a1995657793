import { Hono } from 'hono';
import { authenticated } from '../http/authenticated.ts';
import type { PrincipalEnv } from '../http/authenticated.ts';
import type { Context } from 'hono';
import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import * as admin from '../services/admin.ts';
import * as sources from '../services/sources.ts';
import { jsonBody, uuidParam } from '../http/json.ts';
import * as s from './schemas.ts';

type AdminEnv = PrincipalEnv;

const body = jsonBody;
const uuid = uuidParam;

/** The JSON admin API: API roots, collections, clients and their grants. Admin token only. */
export function adminRoutes(deps: Deps): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>({ strict: false });
  app.use('*', authenticated(deps, 'the admin API needs the admin token (Bearer, or Basic as user admin)'));
  const who = (c: Context<AdminEnv>) => c.get('principal');

  app.get('/api-roots', async (c) => c.json({ api_roots: await admin.listApiRoots(deps, who(c)) }));
  app.post('/api-roots', async (c) => c.json(await admin.createApiRoot(deps, who(c), await body(c, s.createApiRootBody)), 201));
  app.get('/api-roots/:name', async (c) => c.json(await admin.getApiRoot(deps, who(c), c.req.param('name'))));
  app.patch('/api-roots/:name', async (c) =>
    c.json(await admin.updateApiRoot(deps, who(c), c.req.param('name'), await body(c, s.updateApiRootBody))),
  );
  app.delete('/api-roots/:name', async (c) => {
    await admin.deleteApiRoot(deps, who(c), c.req.param('name'));
    return c.body(null, 204);
  });

  app.get('/collections', async (c) => c.json({ collections: await admin.listCollections(deps, who(c), c.req.query('api_root')) }));
  app.post('/collections', async (c) => c.json(await admin.createCollection(deps, who(c), await body(c, s.createCollectionBody)), 201));
  app.get('/collections/:id', async (c) => c.json(await admin.getCollection(deps, who(c), uuid(c.req.param('id'), 'collection'))));
  app.patch('/collections/:id', async (c) =>
    c.json(await admin.updateCollection(deps, who(c), uuid(c.req.param('id'), 'collection'), await body(c, s.updateCollectionBody))),
  );
  app.delete('/collections/:id', async (c) => {
    await admin.deleteCollection(deps, who(c), uuid(c.req.param('id'), 'collection'));
    return c.body(null, 204);
  });

  app.put('/collections/:id/red-recipients/:clientId', async (c) =>
    c.json(await admin.setRedRecipient(deps, who(c), uuid(c.req.param('id'), 'collection'), uuid(c.req.param('clientId'), 'client'), true)),
  );
  app.delete('/collections/:id/red-recipients/:clientId', async (c) =>
    c.json(
      await admin.setRedRecipient(deps, who(c), uuid(c.req.param('id'), 'collection'), uuid(c.req.param('clientId'), 'client'), false),
    ),
  );
  app.get('/collections/:id/objects/:objectId/recipients', async (c) =>
    c.json({ deliveries: await admin.objectRecipients(deps, who(c), uuid(c.req.param('id'), 'collection'), c.req.param('objectId')) }),
  );
  app.get('/collections/:id/objects/:objectId', async (c) =>
    c.json({ versions: await admin.objectProvenance(deps, who(c), uuid(c.req.param('id'), 'collection'), c.req.param('objectId')) }),
  );
  app.get('/collections/:id/denied', async (c) => c.json(await admin.deniedObjects(deps, who(c), uuid(c.req.param('id'), 'collection'))));

  app.get('/clients', async (c) => c.json({ clients: await admin.listClients(deps, who(c)) }));
  app.post('/clients', async (c) => c.json(await admin.createClient(deps, who(c), await body(c, s.createClientBody)), 201));
  app.get('/clients/:id', async (c) => c.json(await admin.getClient(deps, who(c), uuid(c.req.param('id'), 'client'))));
  app.patch('/clients/:id', async (c) =>
    c.json(await admin.updateClient(deps, who(c), uuid(c.req.param('id'), 'client'), await body(c, s.updateClientBody))),
  );
  app.delete('/clients/:id', async (c) => {
    await admin.deleteClient(deps, who(c), uuid(c.req.param('id'), 'client'));
    return c.body(null, 204);
  });
  app.put('/clients/:id/peer', async (c) =>
    c.json(await admin.setPeerIdentity(deps, who(c), uuid(c.req.param('id'), 'client'), await body(c, s.peerIdentityBody))),
  );
  app.post('/clients/:id/token', async (c) => c.json(await admin.rotateClientToken(deps, who(c), uuid(c.req.param('id'), 'client'))));
  app.put('/clients/:id/grants/:collectionId', async (c) => {
    const grant = await body(c, s.putGrantBody);
    const collectionId = uuid(c.req.param('collectionId'), 'collection');
    return c.json(await admin.putGrant(deps, who(c), uuid(c.req.param('id'), 'client'), { collection_id: collectionId, ...grant }));
  });
  app.delete('/clients/:id/grants/:collectionId', async (c) => {
    const collectionId = uuid(c.req.param('collectionId'), 'collection');
    return c.json(
      await admin.putGrant(deps, who(c), uuid(c.req.param('id'), 'client'), {
        collection_id: collectionId,
        can_read: false,
        can_write: false,
      }),
    );
  });
  // Sources: /subscriptions is their name before 0.2, kept (with its list key) for one release.
  for (const [path, listKey] of [
    ['/sources', 'sources'],
    ['/subscriptions', 'subscriptions'],
  ] as const) {
    app.get(path, async (c) => c.json({ [listKey]: await sources.listSources(deps, who(c)) }));
    app.post(path, async (c) => c.json(await sources.createSource(deps, who(c), await body(c, s.createSourceBody)), 201));
    app.get(`${path}/:id`, async (c) => c.json(await sources.getSource(deps, who(c), uuid(c.req.param('id'), 'source'))));
    app.get(`${path}/:id/quarantine`, async (c) =>
      c.json({ objects: await sources.sourceQuarantine(deps, who(c), uuid(c.req.param('id'), 'source')) }),
    );
    app.delete(`${path}/:id`, async (c) => {
      await sources.deleteSource(deps, who(c), uuid(c.req.param('id'), 'source'));
      return c.body(null, 204);
    });
  }
  // Without this, an unknown /admin/ path falls through to the TAXII routes and their Accept check (406).
  app.all('*', (c) => {
    throw new VigilError('not-found', `no admin endpoint ${c.req.method} ${new URL(c.req.url).pathname}`);
  });
  return app;
}
