import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { operations } from '../../src/http/openapi-routes.ts';
import { rawRequest } from '../support/endpoints.ts';
import { ADMIN_TOKEN, TAXII, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';

// A path the node serves, asked with a method it does not take: 405 with Allow naming exactly the
// methods the path takes (RFC 9110 §15.5.6), a TAXII error resource outside the console. Paths
// it does not serve stay 404. The expected methods come from the OpenAPI route table
// (openapi.test.ts checks it against the app) and, for the console, the table below.

const CONSOLE: Record<string, string[]> = {
  '/console': ['GET'],
  '/console/signin': ['GET', 'POST'],
  '/console/signout': ['POST'],
  '/console/collections': ['GET'],
  '/console/collections/{root}/{id}': ['GET'],
  '/console/collections/{root}/{id}/objects/{objectId}': ['GET'],
  '/console/collections/{root}/{id}/submit': ['GET', 'POST'],
  '/console/status/{root}/{id}': ['GET'],
  '/console/status/{root}/{id}/data': ['GET'],
  '/console/alerts': ['GET'],
  '/console/sources': ['GET'],
  '/console/peers': ['GET'],
  '/console/trends': ['GET'],
  '/console/trends/indicators/{id}': ['GET'],
  '/console/assets/{name}': ['GET'],
};
// The API reference page is not an API operation either.
const DOCS: Record<string, string[]> = { '/docs': ['GET'], '/docs/scalar.js': ['GET'] };

const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const TRIED = [...ORDER, 'OPTIONS', 'TRACE'];

/** Path template → the methods it takes, in Allow's order, HEAD with GET. */
function table(): Map<string, string[]> {
  const byPath = new Map<string, Set<string>>();
  const add = (path: string, method: string) => {
    const key = path.replace(/(.)\/$/, '$1');
    byPath.set(key, (byPath.get(key) ?? new Set()).add(method.toUpperCase()));
  };
  for (const op of operations) add(op.path, op.method);
  for (const [path, methods] of Object.entries({ ...CONSOLE, ...DOCS })) for (const m of methods) add(path, m);
  return new Map(
    [...byPath].map(([path, methods]) => {
      if (methods.has('GET')) methods.add('HEAD');
      return [path, ORDER.filter((m) => methods.has(m))];
    }),
  );
}

// Values that name nothing stored: a method the path takes answers 404 (or 400), and changes nothing.
const UUID = '6b1e2f3a-4c5d-4e6f-8a9b-0c1d2e3f4a5b';
const VALUES: Record<string, string> = {
  root: 'no-such-root',
  name: 'no-such-root',
  id: UUID,
  clientId: UUID,
  collectionId: UUID,
  alertId: UUID,
  objectId: `indicator--${UUID}`,
};
const concrete = (template: string) => template.replace(/\{(\w+)\}/g, (_, name: string) => VALUES[name] ?? 'x');

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => node?.stop());

/** With the admin's credentials, so that a method the path takes gets past authentication (fetch refuses TRACE). */
const headers = (path: string) => ({ authorization: `Bearer ${ADMIN_TOKEN}`, accept: path.startsWith('/console') ? 'text/html' : TAXII });
const send = (method: string, path: string) => rawRequest(node.url, method, path, headers(path));

/** The status alone: the alert stream's answer never ends. */
const statusOf = (method: string, path: string) =>
  new Promise<number>((resolve, reject) => {
    const req = http.request(`${node.url}${path}`, { method, headers: headers(path) }, (res) => {
      resolve(res.statusCode ?? 0);
      res.destroy();
    });
    req.on('error', reject);
    req.end();
  });

describe('a method the path does not take', () => {
  it('the console table lists every console route of the app', () => {
    const routes = createApp(node.deps)
      .routes.filter((r) => r.method !== 'ALL' && r.path.startsWith('/console'))
      .map((r) => r.path.replace(/:(\w+)/g, '{$1}').replace(/(.)\/$/, '$1'));
    expect([...new Set(routes)].sort()).toEqual(Object.keys(CONSOLE).sort());
  });

  it('answers 405 with Allow listing exactly the methods the path takes, on every route', async () => {
    const wrong: string[] = [];
    let checked = 0;
    for (const [template, allow] of table()) {
      const path = concrete(template);
      for (const method of TRIED) {
        const where = `${method} ${path}`;
        if (allow.includes(method)) {
          if ((await statusOf(method, path)) === 405) wrong.push(`${where}: 405 for a method it takes`);
          continue;
        }
        checked++;
        const res = await send(method, path);
        if (res.status !== 405) wrong.push(`${where}: ${res.status}`);
        else if (res.headers.allow !== allow.join(', ')) wrong.push(`${where}: Allow ${res.headers.allow}, expected ${allow.join(', ')}`);
        else if (method === 'HEAD') expect(res.text, where).toBe('');
        else if (path.startsWith('/console')) {
          expect(res.headers['content-type'], where).toMatch(/^text\/html/);
          expect(res.text, where).toContain(`it takes ${allow.join(', ')}`);
        } else {
          expect(res.headers['content-type'], where).toBe(TAXII);
          expect(res.json(), where).toMatchObject({
            title: 'Method not allowed',
            error_code: 'method-not-allowed',
            http_status: '405',
            details: { allow },
          });
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(250);
  });

  it('is refused before authentication, and HEAD goes with GET', async () => {
    const res = await node.request('/admin/clients', { method: 'PUT', token: null, headers: { accept: 'application/json' } });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, POST');
    expect((await node.request('/taxii2/', { method: 'HEAD' })).status).toBe(200);
    const head = await node.request('/console/signout', { method: 'HEAD' });
    expect(head.status).toBe(405);
    expect(head.headers.get('allow')).toBe('POST');
  });

  it('an API root named like a reserved path is no API root: /admin paths take only the admin methods', async () => {
    // TAXII's /{root}/collections/{id}/objects/{objectId}/ takes DELETE; the admin path of the same shape does not.
    const res = await send('DELETE', `/admin/collections/${UUID}/objects/indicator--${UUID}`);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });
});

describe('a path the node does not serve', () => {
  it.each([
    '/nothing/here/at/all',
    '/admin/nope',
    '/alerts/nope',
    '/taxii2/extra',
    `/default/collections/${UUID}/nope`,
    '/.well-known/other',
  ])('%s stays 404 whatever the method', async (path) => {
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']) {
      const res = await send(method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.allow, `${method} ${path}`).toBeUndefined();
    }
  });
});
