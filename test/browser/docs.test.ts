import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestNode } from '../support/node.ts';
import { launchChromium } from '../support/chromium.ts';
import type { TestNode } from '../support/node.ts';

// /docs in a real browser: Scalar renders the node's own OpenAPI document, offline.

let node: TestNode;
let browser: Browser;
beforeAll(async () => {
  node = await startTestNode();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await node?.stop();
});

describe('/docs', () => {
  it('renders the API reference from /openapi.json, asking nothing of any other origin', async () => {
    const page = await browser.newPage();
    const elsewhere: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(node.url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) elsewhere.push(r.url());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/.test(m.text())) problems.push(m.text());
    });
    await page.goto(`${node.url}/docs`);
    await page.getByText('Server discovery', { exact: false }).first().waitFor({ timeout: 20_000 });
    // The sidebar lists every tag of the document.
    for (const tag of ['Admin', 'Alerts', 'Operations']) await page.getByText(tag, { exact: true }).first().waitFor();
    await page.screenshot({ path: 'test/browser/artifacts/docs.png' });
    expect(elsewhere).toEqual([]);
    expect(problems).toEqual([]);
  }, 60_000);
});
