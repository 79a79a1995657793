import { Hono } from 'hono';
import { html } from 'hono/html';
import type { Deps } from '../../deps.ts';
import { VigilError } from '../../errors.ts';
import { queryParams } from '../../http/json.ts';
import { getIndicatorSeries, getTrends } from '../../services/trends.ts';
import type { Trends } from '../../services/trends.ts';
import { seriesQuery, trendIndicatorId, trendsQuery } from '../../sightings/schemas.ts';
import { barChart } from '../bar-chart.ts';
import type { ConsoleEnv } from '../env.ts';
import { page } from '../layout.ts';
import type { Html } from '../layout.ts';

// Trends (docs/console.md): the ranking of GET /trends, rising first, and one indicator's series
// as a chart with its data table; the same services and TLP rules as the JSON API.

const WINDOW_LABELS = { hour: 'Last hour', day: 'Last day', week: 'Last 7 days' } as const;
const SORT_LABELS = { rising: 'Rising', sightings: 'Most sighted' } as const;
const TYPE_LABELS = { indicator: 'Indicators', malware: 'Malware', 'attack-pattern': 'Attack patterns' } as const;

function select<K extends string>(name: string, label: string, options: Record<K, string>, chosen: K): Html {
  return html`<div><label for="f-${name}">${label}</label><select id="f-${name}" name="${name}">
    ${Object.entries<string>(options).map(([v, text]) => html`<option value="${v}" ${v === chosen ? 'selected' : ''}>${text}</option>`)}
  </select></div>`;
}

const growthText = (g: number) => `${g >= 0 ? '+' : '−'}${Math.round(Math.abs(g) * 100)} %`;

function trendsTable(t: Trends, window: keyof typeof WINDOW_LABELS): Html {
  if (t.items.length === 0)
    return html`<p class="notice">${t.sort === 'rising' ? 'Nothing is rising' : 'Nothing was sighted'} in this window among what you may read.</p>`;
  const chartable = t.type === 'indicator';
  return html`<table class="trends">
    <caption>${SORT_LABELS[t.sort]} ${TYPE_LABELS[t.type].toLowerCase()}: ${WINDOW_LABELS[window].toLowerCase()}</caption>
    <thead><tr><th scope="col">Name</th><th scope="col">ID</th><th scope="col">Sightings</th><th scope="col">Window before</th>
      <th scope="col">Growth</th><th scope="col">Nodes</th></tr></thead>
    <tbody>${t.items.map(
      (i) => html`<tr data-id="${i.id}">
        <th scope="row">${chartable ? html`<a href="/console/trends/indicators/${encodeURIComponent(i.id)}">${i.name ?? i.id}</a>` : (i.name ?? i.id)}</th>
        <td class="id">${i.id}</td><td data-field="sightings">${i.sightings}</td><td data-field="previous">${i.previous}</td>
        <td data-field="growth">${growthText(i.growth)}</td><td>${i.nodes}</td></tr>`,
    )}</tbody></table>`;
}

const hourLabel = (start: string) => start.slice(11, 16);
const dayLabel = (start: string) => start.slice(5, 10);

export function trendsRoutes(deps: Deps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>({ strict: false });

  app.get('/trends', async (c) => {
    const q = queryParams(c, trendsQuery.extend({ sort: trendsQuery.shape.sort.unwrap().default('rising') }));
    const t = await getTrends(deps, c.get('session')!.principal, q);
    const body = html`<form method="get" action="/console/trends" class="filters" aria-label="Trends">
        ${select('window', 'Window', WINDOW_LABELS, q.window)}${select('sort', 'Order', SORT_LABELS, q.sort)}${select('type', 'Type', TYPE_LABELS, q.type)}
        <div><button type="submit">Show</button></div>
      </form>
      <p>Sightings published by this node and its peers that you may read, each aggregate counted once. The current window ends with the
        UTC hour or day now falls in; growth compares it with the window of the same length just before.</p>
      ${trendsTable(t, q.window)}`;
    return page(c, { title: 'Trends', session: c.get('session'), body });
  });

  app.get('/trends/indicators/:id', async (c) => {
    const id = trendIndicatorId.safeParse(c.req.param('id'));
    if (!id.success) throw new VigilError('not-found', 'no indicator you may read has this id');
    const q = queryParams(c, seriesQuery);
    const s = await getIndicatorSeries(deps, c.get('session')!.principal, id.data, q);
    const label = s.size === 'hour' ? hourLabel : dayLabel;
    const total = s.buckets.reduce((n, b) => n + b.sightings, 0);
    const span = q.window === 'day' ? 'the last 24 hours, by hour (UTC)' : 'the last 7 days, by day (UTC)';
    const chart = barChart({
      id: 'series',
      title: `Sightings of ${s.name ?? s.indicator} over ${span}`,
      description: `${total} sightings in all; ${s.buckets.filter((b) => b.sightings > 0).length} of ${s.buckets.length} ${s.size}s with sightings.`,
      xAxis: s.size === 'hour' ? 'Hour (UTC)' : 'Day (UTC)',
      yAxis: 'Sightings',
      bars: s.buckets.map((b) => ({ label: label(b.start), value: b.sightings })),
    });
    const body = html`<p class="id">${s.indicator}</p>
      <form method="get" class="filters" aria-label="Series">
        ${select('window', 'Span', { day: 'Last 24 hours', week: 'Last 7 days' }, q.window)}<div><button type="submit">Show</button></div>
      </form>
      <figure>${chart}<figcaption>Each bar is the sightings published for that ${s.size}, by this node and its peers.</figcaption></figure>
      <table class="series">
        <caption>Sightings per ${s.size} (the chart's data)</caption>
        <thead><tr><th scope="col">${s.size === 'hour' ? 'Hour' : 'Day'} (UTC)</th><th scope="col">Sightings</th><th scope="col">Nodes</th></tr></thead>
        <tbody>${s.buckets.map((b) => html`<tr><th scope="row">${b.start}</th><td>${b.sightings}</td><td>${b.nodes}</td></tr>`)}</tbody>
      </table>
      <p><a href="/console/trends">Back to trends</a></p>`;
    return page(c, { title: s.name ?? 'Indicator trend', session: c.get('session'), body });
  });
  return app;
}
