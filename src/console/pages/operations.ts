import { Hono } from 'hono';
import { html } from 'hono/html';
import type { Deps } from '../../deps.ts';
import { listAlertSubscriptions, listDeliveries } from '../../services/alerts.ts';
import { formatLag, sourceFrom, sourceKindLabel, sourceRemoteCollection } from '../../services/source-display.ts';
import { listSources } from '../../services/sources.ts';
import type { ConsoleEnv } from '../env.ts';
import { page } from '../layout.ts';
import type { Html } from '../layout.ts';

const RECENT_DELIVERIES = 10;

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

type Sources = Awaited<ReturnType<typeof listSources>>;

/** One row per source, whatever its kind: what the admin API answers, never a secret (it holds none). */
function sourcesTable(sources: Sources): Html {
  const cell = (field: string, value: unknown) => html`<td data-field="${field}">${value}</td>`;
  return html`<table class="sources">
    <caption>Sources: the peer nodes', TAXII servers' and other collections this node pulls</caption>
    <thead><tr><th scope="col">Kind</th><th scope="col">From</th><th scope="col">Remote collection</th><th scope="col">Into collection</th>
      <th scope="col">Every</th><th scope="col">Last success</th><th scope="col">Last attempt</th><th scope="col">Lag</th>
      <th scope="col">Taken in the last pull</th><th scope="col">Stored in all</th><th scope="col">Failures in a row</th>
      <th scope="col">Last error</th><th scope="col">Quarantined</th><th scope="col">Next attempt</th></tr></thead>
    <tbody>${sources.map(
      (s) => html`<tr data-source="${s.id}">${cell('kind', sourceKindLabel(s.kind))}<th scope="row">${sourceFrom(s)}</th>
        <td class="id">${sourceRemoteCollection(s)}</td><td class="id">${s.collection_id}</td>${cell('interval', `${s.interval_seconds} s`)}
        ${cell('last_success', s.last_success ?? 'never')}${cell('last_attempt', s.last_attempt ?? 'never')}${cell('lag', formatLag(s.lag_seconds))}
        ${cell('last_pulled_count', s.last_pulled_count)}${cell('stored_count', s.stored_count)}${cell('consecutive_failures', s.consecutive_failures)}
        ${cell('last_error', s.last_error ?? '')}${cell('quarantined', s.quarantined)}${cell('next_attempt', s.next_attempt)}</tr>`,
    )}</tbody></table>`;
}

/** Alert subscriptions with their recent deliveries; for the admin, the sources with their pulls. */
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

  app.get('/sources', async (c) => {
    const sources = await listSources(deps, c.get('session')!.principal);
    const body = sources.length ? sourcesTable(sources) : html`<p class="notice">No sources: this node pulls from nowhere.</p>`;
    return page(c, { title: 'Sources', session: c.get('session'), body });
  });
  // The page's name before this release.
  app.get('/peers', (c) => c.redirect('/console/sources', 301));
  return app;
}
