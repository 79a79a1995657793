import { Hono } from 'hono';
import { authenticated } from '../http/authenticated.ts';
import type { PrincipalEnv } from '../http/authenticated.ts';
import type { Context } from 'hono';
import type { Deps } from '../deps.ts';
import { jsonBody, queryParams, uuidParam } from '../http/json.ts';
import * as alerts from '../services/alerts.ts';
import * as s from './schemas.ts';
import { alertStream } from './stream.ts';

export type AlertsEnv = PrincipalEnv;

/**
 * The alert API (JSON): a client's subscriptions, their deliveries, and the live stream.
 * Clients use the token they poll TAXII with (Bearer, or Basic with their name); the admin
 * token sees every subscription.
 */
export function alertRoutes(deps: Deps): Hono<AlertsEnv> {
  const app = new Hono<AlertsEnv>({ strict: false });
  app.use('*', authenticated(deps, 'send your client token: Bearer, or HTTP Basic with your client name'));
  const who = (c: Context<AlertsEnv>) => c.get('principal');
  const id = (c: Context<AlertsEnv>) => uuidParam(c.req.param('id') ?? '', 'alert subscription');

  app.get('/stream', async (c) => alertStream(deps, c, who(c)));
  app.get('/subscriptions', async (c) => c.json({ subscriptions: await alerts.listAlertSubscriptions(deps, who(c)) }));
  app.post('/subscriptions', async (c) =>
    c.json(await alerts.createAlertSubscription(deps, who(c), await jsonBody(c, s.createAlertSubscriptionBody)), 201),
  );
  app.get('/subscriptions/:id', async (c) => c.json(await alerts.getAlertSubscription(deps, who(c), id(c))));
  app.patch('/subscriptions/:id', async (c) =>
    c.json(await alerts.updateAlertSubscription(deps, who(c), id(c), await jsonBody(c, s.updateAlertSubscriptionBody))),
  );
  app.delete('/subscriptions/:id', async (c) => {
    await alerts.deleteAlertSubscription(deps, who(c), id(c));
    return c.body(null, 204);
  });
  app.get('/subscriptions/:id/deliveries', async (c) =>
    c.json({ deliveries: await alerts.listDeliveries(deps, who(c), id(c), queryParams(c, s.deliveriesQuery)) }),
  );
  app.post('/subscriptions/:id/deliveries/:alertId/retry', async (c) => {
    await alerts.retryDelivery(deps, who(c), id(c), uuidParam(c.req.param('alertId'), 'alert'));
    return c.json({ requeued: true });
  });
  return app;
}
