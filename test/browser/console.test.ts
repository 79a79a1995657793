import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestNode } from '../support/node.ts';
import { launchChromium } from '../support/chromium.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson, collectionWithClient, indicator, postObjects } from '../support/stix.ts';
import { TLP1 } from '../fixtures/tlp-ids.ts';
import { addTaxiiSource, startTaxiiFeed } from '../support/taxii-feed.ts';
import type { TaxiiFeed } from '../support/taxii-feed.ts';

// The web console end to end: Debian's Chromium driven by playwright-core against a real node
// on loopback. One browser for the file; a screenshot of each main page into artifacts/.

const ARTIFACTS = new URL('./artifacts/', import.meta.url).pathname;
let node: TestNode;
let browser: Browser;
let col: Awaited<ReturnType<typeof collectionWithClient>>;
let feed: TaxiiFeed;
const FEED_SECRET = 'feed-secret-7d41c2e9a0b8';
const problems: string[] = [];

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  // Bundles over 3 objects are queued: the status page then fills in as the job runs.
  [node, browser, feed] = await Promise.all([
    startTestNode({ SYNC_INGEST_MAX_OBJECTS: '3', NODE_COUNTRY: 'FR', SIGHTINGS_TICK_MS: '0' }),
    launchChromium(),
    startTaxiiFeed(),
  ]);
  col = await collectionWithClient(node);
});
afterAll(async () => {
  await browser?.close();
  await node?.stop();
  await feed?.close();
});

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: node.url });
  const page = await context.newPage();
  // A CSP violation or a script error shows up here: the console must cause none.
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(e.message));
  return { context, page };
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto('/console/');
  await page.getByLabel('Client token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/console/collections');
}

const shot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });

describe('the web console in Chromium', () => {
  it('shows an error for a bad token', async () => {
    const { context, page } = await newPage();
    await page.goto('/console/');
    expect(await page.title()).toBe('Sign in — Vigil console');
    await page.getByLabel('Client token').fill('vgl_wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('That token was not accepted');
    await shot(page, '01-signin-error');
    expect((await context.cookies()).some((c) => c.name === 'vigil_session')).toBe(false);
    await context.close();
  });

  it('lets a client submit a bundle, follow its status, browse, page and open an object', async () => {
    const { context, page } = await newPage();
    await signIn(page, col.token);
    await page.getByRole('cell', { name: col.collectionId }).waitFor();
    expect(await page.title()).toBe('Collections — Vigil console');
    await shot(page, '02-collections');

    // A bundle with good and bad objects, chosen as a file.
    const first = indicator({ name: 'Beacon v1', modified: '2024-01-01T00:00:00.000Z' });
    const goods = [
      first,
      indicator({ name: 'Beacon v2', id: first.id, modified: '2024-02-01T00:00:00.000Z' }),
      indicator({ name: 'Phish domain' }),
      indicator({ name: 'Loader hash' }),
    ];
    const bads = [
      { ...indicator({ name: 'no pattern' }), pattern: undefined },
      { type: 'indicator', id: 'not-an-id', spec_version: '2.1' },
    ];
    const bundle = { type: 'bundle', id: 'bundle--5d0092c5-5f74-4287-9642-33f4c354e56d', objects: [...goods, ...bads] };
    await page
      .getByRole('link', { name: /Submit a bundle/ })
      .first()
      .click();
    await page
      .getByLabel('STIX bundle file')
      .setInputFiles({ name: 'bundle.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(bundle)) });
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/\/console\/status\/default\/[0-9a-f-]{36}$/);
    await page.locator('[data-field="status"]', { hasText: 'complete' }).waitFor({ timeout: 15_000 });
    const rows = page.locator('table tbody tr');
    expect(await rows.count()).toBe(6);
    expect(await page.locator('tr.outcome-success').count()).toBe(4);
    const failures = await page.locator('tr.outcome-failure').allTextContents();
    expect(failures).toHaveLength(2);
    expect(failures.join('\n')).toMatch(/objects\[4\]: .*pattern/);
    expect(failures.join('\n')).toMatch(/objects\[5\]: /);
    await expect(page.locator('#status-summary').textContent()).resolves.toBe('4 stored, 2 rejected, 0 pending');
    // Whether the page first showed it pending or complete, nothing says it is still storing.
    expect(await page.locator('#status-pending-notice').count()).toBe(0);
    await shot(page, '03-status');

    // Browse with a type filter, two per page, and follow `next`.
    await page.goto(`/console/collections/default/${col.collectionId}`);
    await page.getByLabel('Type').fill('indicator');
    await page.getByLabel('Limit').fill('2');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const ids = async () => page.locator('tbody th.id').allTextContents();
    const page1 = await ids();
    expect(page1).toHaveLength(2);
    await shot(page, '04-objects');
    await page.getByRole('link', { name: 'Next page' }).click();
    const page2 = await ids();
    expect(page2.length).toBeGreaterThanOrEqual(1);
    expect(page2.some((id) => page1.includes(id))).toBe(false);
    expect(new Set([...page1, ...page2]).size).toBe(3);
    expect(page.url()).toContain('match%5Btype%5D=indicator');
    expect(page.url()).toContain('next=');

    // One object's versions, with their TLP level.
    await page.goto(`/console/collections/default/${col.collectionId}`);
    await page.getByRole('link', { name: first.id }).click();
    expect(await page.title()).toBe(`Object ${first.id} — Vigil console`);
    const versions = page.locator('tbody tr');
    expect(await versions.count()).toBe(2);
    expect(await versions.allTextContents()).toEqual([expect.stringContaining('Beacon v1'), expect.stringContaining('Beacon v2')]);
    expect(await page.locator('tbody .tlp').allTextContents()).toEqual(['TLP:AMBER', 'TLP:AMBER']);
    await shot(page, '05-object');
    await context.close();
  });

  it('shows a client its alert subscriptions and recent deliveries', async () => {
    await postJson('/alerts/subscriptions', col.token, { name: 'C2 watch', collections: [col.collectionId] });
    await postObjects(node, col.base, [indicator({ name: 'alerted' })], col.token);
    const { context, page } = await newPage();
    await signIn(page, col.token);
    await page.getByRole('link', { name: 'Alerts' }).click();
    await expect(page.getByRole('heading', { name: 'C2 watch' }).textContent()).resolves.toBe('C2 watch');
    // The matcher runs every ALERT_TICK_MS: reload until the alert is there.
    for (let i = 0; i < 40 && (await page.getByText('No alerts yet').count()) > 0; i++) {
      await page.waitForTimeout(250);
      await page.reload();
    }
    expect(await page.locator('table caption', { hasText: 'Recent deliveries of C2 watch' }).count()).toBe(1);
    await shot(page, '06-alerts');
    await context.close();
  });

  it('shows the admin every source: kind, last pull, lag, counts, the error escaped, never a secret', async () => {
    const jwks = (await (await fetch(`${node.url}/.well-known/jwks.json`)).json()) as { keys: unknown[] };
    const peer = await adminJson(node, 'POST', '/admin/clients', { name: 'node-b', kind: 'peer' });
    await adminJson(node, 'PUT', `/admin/clients/${peer.id}/peer`, { node_id: 'node-b', keys: jwks.keys, base_url: 'http://127.0.0.1:9' });
    await adminJson(node, 'POST', '/admin/sources', {
      peer_id: peer.id,
      remote_api_root: 'default',
      remote_collection_id: col.collectionId,
      collection_id: col.collectionId,
      interval_seconds: 1,
    });
    // A TAXII server's collection: one good pull of two objects, then a failing one.
    feed.objects = [0, 1].map((ms) => ({ object: indicator({ name: `from the feed ${ms}` }), dateAdded: `2025-03-01T10:00:00.00${ms}Z` }));
    const taxii = await addTaxiiSource(node, feed, { auth: { kind: 'bearer', token: FEED_SECRET }, interval_seconds: 3600 });
    // Due at once: the puller's tick may take it first; either way it is pulled once.
    if (!(await node.deps.puller.pullNow(taxii.id))) await node.deps.puller.idle();

    const { context, page } = await newPage();
    await signIn(page, ADMIN_TOKEN);
    await page.getByRole('link', { name: 'Sources' }).click();
    expect(await page.title()).toBe('Sources — Vigil console');
    const row = page.locator(`tr[data-source="${taxii.id}"]`);
    const field = (name: string) => row.locator(`[data-field="${name}"]`).textContent();
    await expect(field('kind')).resolves.toBe('TAXII server');
    await expect(row.getByRole('rowheader').textContent()).resolves.toBe(feed.apiRoot);
    await expect(field('last_pulled_count')).resolves.toBe('2');
    await expect(field('stored_count')).resolves.toBe('2');
    await expect(field('consecutive_failures')).resolves.toBe('0');
    await expect(field('lag')).resolves.toMatch(/^\d+ s$/);

    // Answered as no TAXII server does, with markup in what the error quotes.
    feed.behaviour = { contentType: 'text/html; charset="<b>bold</b>"' };
    expect(await node.deps.puller.pullNow(taxii.id)).toMatchObject({ ok: false });
    await page.reload();
    await expect(field('consecutive_failures')).resolves.toBe('1');
    await expect(field('last_pulled_count')).resolves.toBe('0');
    await expect(field('stored_count')).resolves.toBe('2');
    await expect(field('last_error')).resolves.toBe(
      'malformed: the server answered text/html; charset="<b>bold</b>", not application/taxii+json;version=2.1',
    );
    expect(await row.locator('[data-field="last_error"] b').count()).toBe(0);
    const lastSuccess = await field('last_success');
    expect(lastSuccess).toMatch(/^2\d{3}-/);
    expect((await field('last_attempt'))! > lastSuccess!).toBe(true);
    expect(await field('lag')).not.toBe('never pulled');
    expect(await page.content()).not.toContain(FEED_SECRET);

    // The peer's row, from the same table: failures pile up against a port nothing listens on.
    const peerRow = page.getByRole('row', { name: /node-b/ });
    await expect(peerRow.locator('[data-field="kind"]').textContent()).resolves.toBe('Vigil peer');
    for (let i = 0; i < 40 && (await peerRow.locator('[data-field="consecutive_failures"]').textContent()) === '0'; i++) {
      await page.waitForTimeout(250);
      await page.reload();
    }
    expect(Number(await peerRow.locator('[data-field="consecutive_failures"]').textContent())).toBeGreaterThan(0);
    await shot(page, '07-sources');
    // The page's name before this release still leads there.
    await page.goto('/console/peers');
    expect(new URL(page.url()).pathname).toBe('/console/sources');
    // The admin sees each version's provenance.
    await page.goto(`/console/collections/default/${col.collectionId}?limit=1`);
    await page.locator('tbody th.id a').first().click();
    expect(await page.getByRole('columnheader').allTextContents()).toEqual(
      expect.arrayContaining(['Received from', 'Origin node', 'Origin signature checked']),
    );
    await expect(page.locator('tbody tr').first().textContent()).resolves.toContain('submitted here');
    await shot(page, '08-admin-object');
    await context.close();
  });

  it("shows a reader its collection's feed URLs, with no token in them, and they answer", async () => {
    const { context, page } = await newPage();
    await signIn(page, col.token);
    await page.goto(`/console/collections/default/${col.collectionId}`);
    const urls = await page.locator('code[data-feed]').allTextContents();
    const at = `${node.url}/feeds/${col.collectionId}/`;
    expect(urls).toEqual(['ipv4', 'ipv6', 'domain', 'url', 'sha256', 'md5'].map((k) => `${at}${k}.txt`).concat(`${at}indicators.csv`));
    const section = (await page.locator('section.feeds').textContent()) ?? '';
    expect(section).toContain(`${at}ipv4.txt?token=<your feed token>`);
    expect(await page.content()).not.toContain(col.token);
    await shot(page, '10-feeds');
    await context.close();
    // Each URL is a list this reader may poll, with its token in a header.
    for (const url of urls) expect((await fetch(url, { headers: { authorization: `Bearer ${col.token}` } })).status, url).toBe(200);
  });

  it('refuses a form posted without its CSRF token (403)', async () => {
    const { context, page } = await newPage();
    await signIn(page, col.token);
    await page.goto(`/console/collections/default/${col.collectionId}/submit`);
    await page
      .getByLabel('Or paste the bundle')
      .fill(JSON.stringify({ type: 'bundle', id: 'bundle--0c7e0f2a-1b51-4b2e-9d43-5f4f2f1e6d01', objects: [indicator()] }));
    await page.locator('main input[name="_csrf"]').evaluate((el) => el.remove());
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Submit' }).click(),
    ]);
    expect(response.status()).toBe(403);
    await expect(page.getByRole('alert').textContent()).resolves.toContain('security token');
    await context.close();
  });

  it('ends the session at sign-out: the cookie no longer works', async () => {
    const { context, page } = await newPage();
    await signIn(page, col.token);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'vigil_session')!;
    expect(session.httpOnly).toBe(true);
    expect(session.sameSite).toBe('Strict');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/console/signin');
    await context.addCookies([session]);
    await page.goto('/console/collections');
    expect(new URL(page.url()).pathname).toBe('/console/signin');
    await context.close();
  });

  it('never shows a GREEN client an AMBER object', async () => {
    const green = await collectionWithClient(node, { can_read: true, can_write: false }, 'default', 'GREEN');
    const amber = indicator({ name: 'AMBER only', object_marking_refs: [TLP1.amber] });
    await postObjects(node, green.base, [amber, indicator({ name: 'GREEN news', object_marking_refs: [TLP1.green] })]);
    const { context, page } = await newPage();
    await signIn(page, green.token);
    await page.getByRole('link', { name: /^Browse/ }).click();
    const text = await page.locator('main').textContent();
    expect(text).toContain('GREEN news');
    expect(text).not.toContain('AMBER only');
    expect(text).not.toContain(amber.id);
    expect(await page.locator('tbody .tlp').allTextContents()).toEqual(['TLP:GREEN']);
    await shot(page, '09-green-client');
    const direct = await page.goto(`/console/collections/default/${green.collectionId}/objects/${amber.id}`);
    expect(direct?.status()).toBe(404);
    expect(await page.locator('main').textContent()).not.toContain('AMBER only');
    await context.close();
  });

  it('shows the rising indicators of a window, and an indicator’s sightings over time as a chart with its data', async () => {
    const rising = indicator({ name: 'Rising C2', pattern: "[ipv4-addr:value = '203.0.113.50']" });
    await postObjects(node, col.base, [rising]);
    // Two hours with sightings: 3 an hour ago, 2 now (shareable: published at once).
    for (const [count, ago] of [
      [3, 3_600_000],
      [2, 0],
    ] as const)
      await postJson('/sightings', col.token, {
        indicator: rising.id,
        count,
        last_seen: new Date(Date.now() - ago).toISOString(),
        shareable: true,
      });
    await node.deps.sightings.drain();
    const { context, page } = await newPage();
    await signIn(page, col.token);
    await page.getByRole('link', { name: 'Trends', exact: true }).click();
    await page.waitForURL('**/console/trends');
    await page.getByLabel('Window').selectOption('week');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/window=week/);
    const row = page.locator('table.trends tbody tr', { hasText: 'Rising C2' });
    await expect(row.locator('[data-field="sightings"]').textContent()).resolves.toBe('5');
    await expect(row.locator('[data-field="growth"]').textContent()).resolves.toBe('+500 %');
    await shot(page, '10-trends');
    await row.getByRole('link', { name: 'Rising C2' }).click();
    await page.waitForURL(`**/console/trends/indicators/${rising.id}`);
    const chart = page.getByRole('img', { name: /Sightings of Rising C2/ });
    await chart.waitFor();
    expect(await chart.locator('rect.bar').count()).toBe(2);
    expect(await chart.locator('rect.bar').evaluateAll((bars) => bars.map((b) => b.getAttribute('data-value')))).toEqual(['3', '2']);
    expect(await page.locator('table.series tbody tr').count()).toBe(24);
    await shot(page, '11-trend-chart');
    await context.close();
  });

  it('caused no script error or CSP violation on any page', () => {
    expect(problems.filter((p) => !p.includes('status of 40'))).toEqual([]);
  });
});

async function postJson(path: string, token: string, body: unknown): Promise<unknown> {
  const res = await node.request(path, {
    method: 'POST',
    token,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}
