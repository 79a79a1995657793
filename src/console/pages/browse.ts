import { Hono } from 'hono';
import { html } from 'hono/html';
import type { Deps } from '../../deps.ts';
import { VigilError } from '../../errors.ts';
import { uuidParam } from '../../http/json.ts';
import { levelName } from '../../policy/levels.ts';
import { collectionAccess, visibleCollections } from '../../services/access.ts';
import { objectProvenance } from '../../services/admin.ts';
import { feedUrls, publicBase } from '../../services/feed-urls.ts';
import { FEED_TOKEN_PLACEHOLDER } from '../../stix/feed-values.ts';
import { getObject, getObjects } from '../../services/read-objects.ts';
import { listApiRoots } from '../../store/api-roots.ts';
import { OBJECTS_PARAMS, parsePageQuery } from '../../taxii/query.ts';
import type { ConsoleEnv } from '../env.ts';
import { page } from '../layout.ts';
import type { Html } from '../layout.ts';
import { parseForm, stixId } from '../schemas.ts';
import type { SignedIn } from '../sessions.ts';

const DEFAULT_LIMIT = 50;

// The TAXII filters as the GET form names them: the same names as the TAXII API, so a console
// URL reads like the API's, and the same parser (src/taxii/query.ts) checks them.
const FILTERS = [
  { name: 'match[type]', label: 'Type', hint: 'e.g. indicator,malware' },
  { name: 'match[id]', label: 'ID', hint: 'comma-separated STIX ids' },
  { name: 'match[version]', label: 'Version', hint: 'last, first, all or a timestamp' },
  { name: 'match[spec_version]', label: 'Spec version', hint: 'e.g. 2.1' },
  { name: 'added_after', label: 'Added after', hint: '2024-01-01T00:00:00.000000Z' },
  { name: 'limit', label: 'Limit', hint: `objects per page (default ${DEFAULT_LIMIT})` },
] as const;

export const tlp = (name: string) => html`<span class="tlp tlp-${name}">TLP:${name}</span>`;

/** A property of an object's JSON as text, when it is a string; objects are attacker-controlled. */
function prop(json: string, key: string): string {
  try {
    const v = (JSON.parse(json) as Record<string, unknown>)[key];
    return typeof v === 'string' ? v : '';
  } catch {
    return '';
  }
}

const objectHref = (root: string, collectionId: string, id: string) =>
  `/console/collections/${encodeURIComponent(root)}/${collectionId}/objects/${encodeURIComponent(id)}`;

function collectionsTable(
  rows: { root: string; title: string; id: string; alias: string | null; canRead: boolean; canWrite: boolean }[],
): Html {
  if (rows.length === 0) return html`<p class="notice">No collection is open to you yet.</p>`;
  return html`<table>
    <caption>Collections you may read or write</caption>
    <thead><tr><th scope="col">Title</th><th scope="col">API root</th><th scope="col">ID</th><th scope="col">Alias</th><th scope="col">Read</th><th scope="col">Write</th><th scope="col">Actions</th></tr></thead>
    <tbody>${rows.map(
      (r) => html`<tr>
        <th scope="row">${r.title}</th><td>${r.root}</td><td class="id">${r.id}</td><td>${r.alias ?? ''}</td>
        <td>${r.canRead ? 'yes' : 'no'}</td><td>${r.canWrite ? 'yes' : 'no'}</td>
        <td>${r.canRead ? html`<a href="/console/collections/${encodeURIComponent(r.root)}/${r.id}">Browse<span class="vh"> ${r.title}</span></a> ` : ''}
            ${r.canWrite ? html`<a href="/console/collections/${encodeURIComponent(r.root)}/${r.id}/submit">Submit a bundle<span class="vh"> to ${r.title}</span></a>` : ''}</td>
      </tr>`,
    )}</tbody></table>`;
}

/**
 * Where a reader points a firewall, a resolver or an EDR tool at this collection: the seven lists'
 * full URLs, and how a device authenticates. No token in them: the reader's own may never ride in
 * a URL, and a feed client's is the device's.
 */
function feedsSection(base: string, collectionId: string): Html {
  const urls = Object.entries(feedUrls(base, collectionId));
  return html`<section aria-labelledby="feeds" class="feeds">
    <h2 id="feeds">Feeds for firewalls, DNS resolvers and EDR tools</h2>
    <p>Plain lists of this collection's indicators, under the same TLP rules as what you read here.</p>
    <table>
      <caption>This collection's feeds</caption>
      <thead><tr><th scope="col">List</th><th scope="col">URL</th></tr></thead>
      <tbody>${urls.map(([list, url]) => html`<tr><th scope="row">${list}</th><td><code data-feed="${list}">${url}</code></td></tr>`)}</tbody>
    </table>
    <p>A device authenticates with a <strong>feed client</strong> of its own, which your node's admin creates
      (<code>vigil client create … --feed</code>): with HTTP Basic (the feed client's name and token) or
      <code>Authorization: Bearer</code>, or, where it cannot send headers, with the token in the URL:
      <code>${urls[0]![1]}?token=${FEED_TOKEN_PLACEHOLDER}</code>. Only a feed client's token may go in a URL, never yours.</p>
  </section>`;
}

/** The form's values, empty ones dropped (an empty field is no filter, not a bad one). */
function filterValues(query: Record<string, string>): URLSearchParams {
  const kept = new URLSearchParams();
  for (const name of OBJECTS_PARAMS) {
    const v = query[name]?.trim();
    if (v) kept.set(name, v);
  }
  return kept;
}

function filterForm(action: string, values: URLSearchParams, error?: string): Html {
  return html`<form method="get" action="${action}" class="filters"${error ? html` aria-describedby="filter-error"` : ''}>
    ${FILTERS.map(
      (f, i) => html`<div><label for="f${i}">${f.label}</label>
        <input type="text" id="f${i}" name="${f.name}" value="${values.get(f.name) ?? ''}" aria-describedby="f${i}-hint">
        <p class="hint" id="f${i}-hint">${f.hint}</p></div>`,
    )}
    <div><button type="submit">Apply filters</button></div>
  </form>
  ${error ? html`<p class="error" role="alert" id="filter-error">${error}</p>` : ''}`;
}

export function browseRoutes(deps: Deps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>({ strict: false });
  const who = (c: { get(k: 'session'): ConsoleEnv['Variables']['session'] }): SignedIn => c.get('session')!.principal;

  app.get('/collections', async (c) => {
    const principal = who(c);
    const rows = [];
    for (const root of await listApiRoots(deps.database.db)) {
      for (const v of await visibleCollections(deps, principal, root.name)) {
        rows.push({
          root: root.name,
          title: v.collection.title,
          id: v.collection.id,
          alias: v.collection.alias,
          canRead: v.canRead,
          canWrite: v.canWrite,
        });
      }
    }
    return page(c, { title: 'Collections', session: c.get('session'), body: collectionsTable(rows) });
  });

  app.get('/collections/:root/:id', async (c) => {
    const root = c.req.param('root');
    const collectionId = uuidParam(c.req.param('id'), 'collection');
    const access = await collectionAccess(deps, who(c), root, collectionId);
    if (!access.canRead) throw new VigilError('forbidden', 'this client may not read this collection');
    const values = filterValues(c.req.query());
    const next = c.req.query('next');
    const action = `/console/collections/${encodeURIComponent(root)}/${collectionId}`;
    const title = `Objects in ${access.collection.title}`;
    let req: ReturnType<typeof parsePageQuery>;
    try {
      const query = new URLSearchParams(values);
      if (next) query.set('next', next);
      req = parsePageQuery(`http://console/?${query}`, OBJECTS_PARAMS, DEFAULT_LIMIT);
    } catch (err) {
      if (!(err instanceof VigilError)) throw err;
      return page(c, { title, session: c.get('session'), status: 400, body: filterForm(action, values, err.message) });
    }
    let result: Awaited<ReturnType<typeof getObjects>>;
    try {
      result = await getObjects(deps, who(c), { root, collectionId }, req);
    } catch (err) {
      if (!(err instanceof VigilError) || err.code !== 'invalid-cursor') throw err;
      return page(c, {
        title,
        session: c.get('session'),
        status: 400,
        body: filterForm(action, values, `next: ${err.message}; start again from the first page`),
      });
    }
    const nextQuery = new URLSearchParams(values);
    if (result.next) nextQuery.set('next', result.next);
    const body = html`${filterForm(action, values)}
      ${access.canWrite ? html`<p><a href="${action}/submit">Submit a bundle to this collection</a></p>` : ''}
      ${
        result.items.length === 0
          ? html`<p class="notice">No objects match.</p>`
          : html`<table>
        <caption>${result.items.length} object${result.items.length === 1 ? '' : 's'}${result.more ? ', more on the next page' : ''}</caption>
        <thead><tr><th scope="col">ID</th><th scope="col">Type</th><th scope="col">Name</th><th scope="col">Version</th><th scope="col">Spec</th><th scope="col">TLP</th><th scope="col">Date added</th></tr></thead>
        <tbody>${result.items.map(
          (o) => html`<tr>
            <th scope="row" class="id"><a href="${objectHref(root, collectionId, o.id)}">${o.id}</a></th>
            <td>${o.id.split('--')[0]}</td><td>${prop(o.json, 'name')}</td><td>${o.version}</td><td>${o.spec_version}</td>
            <td>${tlp(levelName(o.level))}</td><td>${o.date_added}</td></tr>`,
        )}</tbody></table>`
      }
      <p class="pager">${next ? html`<a href="${action}?${values.toString()}">First page</a>` : ''}
        ${result.next ? html`<a href="${action}?${nextQuery.toString()}" rel="next">Next page</a>` : ''}</p>
      ${feedsSection(publicBase(deps, c.req.url), collectionId)}`;
    return page(c, { title, session: c.get('session'), body });
  });

  app.get('/collections/:root/:id/objects/:objectId', async (c) => {
    const root = c.req.param('root');
    const collectionId = uuidParam(c.req.param('id'), 'collection');
    const objectId = parseForm(stixId, c.req.param('objectId'));
    const principal = who(c);
    // Every version the caller may read, through the TAXII read path: TLP is applied in SQL.
    const versions = await getObject(
      deps,
      principal,
      { root, collectionId, objectId },
      { limit: deps.config.pageSizeMax, filters: { versions: [{ kind: 'all' }] } },
    );
    const provenance = principal.kind === 'admin' ? await objectProvenance(deps, principal, collectionId, objectId) : [];
    const byVersion = new Map(provenance.map((p) => [`${p.version}|${p.spec_version}`, p]));
    const admin = principal.kind === 'admin';
    const yesNo = (v: boolean | null | undefined) => (v === true ? 'yes' : v === false ? 'no' : '—');
    const body = html`<p>Collection: <a href="/console/collections/${encodeURIComponent(root)}/${collectionId}">${collectionId}</a></p>
      <table>
        <caption>Versions of ${objectId}${admin ? ', with their provenance' : ' that you may read'}</caption>
        <thead><tr><th scope="col">Version</th><th scope="col">TLP</th><th scope="col">Spec</th><th scope="col">Date added</th><th scope="col">Name</th>
          ${admin ? html`<th scope="col">Received from</th><th scope="col">Origin node</th><th scope="col">Origin signature checked</th>` : ''}</tr></thead>
        <tbody>${versions.items.map((v) => {
          const p = byVersion.get(`${v.version}|${v.spec_version}`);
          return html`<tr><th scope="row">${v.version}</th><td>${tlp(levelName(v.level))}</td><td>${v.spec_version}</td><td>${v.date_added}</td><td>${prop(v.json, 'name')}</td>
            ${admin ? html`<td>${p?.received_from ?? 'submitted here'}</td><td>${p?.origin_node ?? ''}</td><td>${yesNo(p?.origin_verified)}</td>` : ''}</tr>`;
        })}</tbody>
      </table>
      ${versions.items.map(
        (v) => html`<details><summary>STIX content of version ${v.version}</summary><pre>${prettyJson(v.json)}</pre></details>`,
      )}`;
    return page(c, { title: `Object ${objectId}`, session: c.get('session'), body });
  });
  return app;
}

function prettyJson(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}
