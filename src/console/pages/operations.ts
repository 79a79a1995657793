import { Hono } from 'hono';
import { html } from 'hono/html';
import type { Deps } from '../../deps.ts';
import { listAlertSubscriptions, listDeliveries } from '../../services/alerts.ts';
import { listSources } from '../../services/sources.ts';
import type { ConsoleEnv } from '../env.ts';
import { page } from '../layout.ts';
import type { Html } from '../layout.ts';

const RECENT_DELIVERIES = 10;

/** A lag in seconds as people read it: 42 s, 7 min, 3 h 5 min, 2 d 4 h. */
export function formatLag(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return 'never pulled';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

type Deliveries = Awaited<ReturnType<typeof listDeliveries>>;

function deliveriesTable(name: string, rows: Deliveries): Html {
  if (rows.length === 0) return html`<p>No alerts yet for ${name}.</p>`;
  return html`<table>
    <caption>Recent deliveries of ${name}</caption>
    <thead><tr><th scope="col">Alert</th><th scope="col">State</th><th scope="col">Objects</th><th scope="col">Attempts</th><th scope="col">Created</th><th scope="col">Delivered</th><th scope="col">Last HTTP status</th><th scope="col">Last error</th></tr></thead>
    <tbody>${rows.map(
      (
        d,
      ) => html`<tr><th scope="row" class="id">${d.id}</th><td>${d.state}</td><td>${d.object_count}</td><td>${d.attempts}</td><td>${d.created}</td>
        <td>${d.delivered_at ?? ''}</td><td>${d.last_status ?? ''}</td><td>${d.last_error ?? ''}</td></tr>`,
    )}</tbody></table>`;
}

/** Alert subscriptions with their recent deliveries; for the admin, peers and their lag. */
export function operationsRoutes(deps: Deps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>({ strict: false });

  app.get('/alerts', async (c) => {
    const who = c.get('session')!.principal;
    const subs = await listAlertSubscriptions(deps, who);
    const sections: Html[] = [];
    for (const s of subs) {
      const deliveries = await listDeliveries(deps, who, s.id, { limit: RECENT_DELIVERIES });
      sections.push(html`<section aria-labelledby="sub-${s.id}">
        <h2 id="sub-${s.id}">${s.name}</h2>
        <dl class="summary">
          <dt>Active</dt><dd>${s.active ? 'yes' : 'no'}</dd>
          ${who.kind === 'admin' ? html`<dt>Client</dt><dd class="id">${s.client_id}</dd>` : ''}
          <dt>Collections</dt><dd class="id">${s.collections.join(', ')}</dd>
          <dt>Webhook</dt><dd>${s.webhook_url ?? 'none (stream only)'}</dd>
          <dt>Payload</dt><dd>${s.payload}</dd>
          <dt>Filter</dt><dd><code>${JSON.stringify(s.filter)}</code></dd>
        </dl>
        ${deliveriesTable(s.name, deliveries)}
      </section>`);
    }
    const body = subs.length ? html`${sections}` : html`<p class="notice">No alert subscriptions.</p>`;
    return page(c, { title: 'Alert subscriptions', session: c.get('session'), body });
  });

  app.get('/peers', async (c) => {
    const sources = await listSources(deps, c.get('session')!.principal);
    const body = sources.length
      ? html`<table>
        <caption>Sources: peer nodes' and TAXII servers' collections this node pulls</caption>
        <thead><tr><th scope="col">Peer node or TAXII server</th><th scope="col">Remote collection</th><th scope="col">Into collection</th><th scope="col">Every</th>
          <th scope="col">Last success</th><th scope="col">Lag</th><th scope="col">Failures in a row</th><th scope="col">Last error</th><th scope="col">Quarantined</th><th scope="col">Next attempt</th></tr></thead>
        <tbody>${sources.map(
          (
            s,
          ) => html`<tr><th scope="row">${'url' in s ? s.url : (s.peer_node_id ?? s.peer_id)}</th><td class="id">${'url' in s ? '' : `${s.remote_api_root}/`}${s.remote_collection_id}</td><td class="id">${s.collection_id}</td>
            <td>${s.interval_seconds} s</td><td>${s.last_success ?? 'never'}</td><td>${formatLag(s.lag_seconds)}</td>
            <td>${s.consecutive_failures}</td><td>${s.last_error ?? ''}</td><td>${s.quarantined}</td><td>${s.next_attempt}</td></tr>`,
        )}</tbody></table>`
      : html`<p class="notice">No sources: this node pulls from no peer.</p>`;
    return page(c, { title: 'Peers', session: c.get('session'), body });
  });
  return app;
}
