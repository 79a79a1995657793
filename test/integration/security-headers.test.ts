import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';

// The node's security headers on every kind of answer: nosniff everywhere, HSTS only when
// PUBLIC_URL is https, and the console's and the API reference's own policies, as they were.

const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

describe.each([
  { publicUrl: undefined, hsts: null },
  { publicUrl: 'http://cti.example.org', hsts: null },
  { publicUrl: 'https://cti.example.org', hsts: 'max-age=31536000' },
])('with PUBLIC_URL $publicUrl', ({ publicUrl, hsts }) => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode(publicUrl ? { PUBLIC_URL: publicUrl } : {});
  });
  afterAll(async () => node?.stop());

  const every = (res: Response, what: string) => {
    expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
    expect(res.headers.get('strict-transport-security'), what).toBe(hsts);
  };

  it('sends them on TAXII answers and errors, and on the operations endpoints', async () => {
    const answers: [string, Response, number][] = [
      ['TAXII discovery', await node.request('/taxii2/'), 200],
      ['TAXII 401', await node.request('/taxii2/', { token: 'vgl_not-a-token' }), 401],
      ['TAXII 404', await node.request('/default/collections/00000000-0000-4000-8000-000000000000/objects/'), 404],
      ['405', await node.request('/taxii2/', { method: 'PUT' }), 405],
      ['healthz', await node.request('/healthz', { token: null }), 200],
      ['jwks', await node.request('/.well-known/jwks.json', { token: null }), 200],
      ['openapi', await node.request('/openapi.json', { token: null }), 200],
    ];
    for (const [what, res, status] of answers) {
      expect(res.status, what).toBe(status);
      every(res, what);
      expect(res.headers.get('content-security-policy'), what).toBeNull();
    }
  });

  it('sends the console’s policy on its pages and assets', async () => {
    for (const path of ['/console/signin', '/console/assets/console.css', '/console/nothing-here']) {
      const res = await fetch(`${node.url}${path}`, { redirect: 'manual' });
      every(res, path);
      expect(res.headers.get('content-security-policy'), path).toBe(CONSOLE_CSP);
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('referrer-policy'), path).toBe('same-origin');
      expect(res.headers.get('cross-origin-opener-policy'), path).toBe('same-origin');
      expect(res.headers.get('cross-origin-resource-policy'), path).toBe('same-origin');
    }
  });

  it('sends the API reference’s policy on /docs and its script', async () => {
    for (const path of ['/docs', '/docs/scalar.js']) {
      const res = await fetch(`${node.url}${path}`);
      expect(res.status, path).toBe(200);
      every(res, path);
      expect(res.headers.get('content-security-policy'), path).toBe(DOCS_CSP);
      expect(res.headers.get('referrer-policy'), path).toBe('same-origin');
      await res.body?.cancel();
    }
  });
});
