import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createCollectionBody } from '../../src/admin/schemas.ts';
import { createApp } from '../../src/app.ts';
import { openApiDocument } from '../../src/http/openapi.ts';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';

// GET /openapi.json documents every route of the app, and only those; /docs serves the
// reference page and its script from the node itself.

type Doc = Record<string, any>;
const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options', 'trace'];

let node: TestNode;
let doc: Doc;
beforeAll(async () => {
  node = await startTestNode();
  const res = await node.request('/openapi.json', { token: null, headers: { accept: 'application/json' } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  doc = (await res.json()) as Doc;
});
afterAll(async () => node?.stop());

/** Hono's `/:root/collections/:id` and OpenAPI's `/{root}/collections/{id}/` alike. */
const normalise = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/(.)\/+$/, '$1');

// Not APIs: the console's HTML pages and forms (docs/console.md), and the reference page
// itself with its scripts. Everything else a route serves must be in the document.
const NOT_AN_API = [/^\/console(\/|$)/, /^\/docs(\/|$)/];

/** `METHOD /path` of every handler of the app; middleware (`ALL`, `*` paths) is not a route. */
function appRoutes(app: Hono): Set<string> {
  return new Set(
    app.routes
      .filter((r) => r.method !== 'ALL' && !r.path.endsWith('*'))
      .map((r) => `${r.method} ${normalise(r.path)}`)
      .filter((r) => !NOT_AN_API.some((re) => re.test(r.split(' ')[1]!))),
  );
}

function documentedRoutes(d: Doc): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries<Doc>(d.paths)) {
    for (const method of Object.keys(item).filter((m) => METHODS.includes(m))) out.add(`${method.toUpperCase()} ${normalise(path)}`);
  }
  return out;
}

const difference = (a: Set<string>, b: Set<string>) => [...a].filter((x) => !b.has(x)).sort();

/** The value a local `$ref` (`#/a/b`) points at, or undefined. */
function resolve(d: Doc, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<any>((at, key) => (at && typeof at === 'object' ? at[key] : undefined), d);
}

function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refs(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

const operations = (d: Doc) =>
  Object.entries<Doc>(d.paths).flatMap(([path, item]) =>
    Object.entries<Doc>(item)
      .filter(([m]) => METHODS.includes(m))
      .map(([method, op]) => ({ path, method, op })),
  );

describe('the document is OpenAPI 3.1 in shape', () => {
  it('has the version, info and paths', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info).toMatchObject({ title: 'Vigil', version: expect.any(String) });
    expect(Object.keys(doc.paths).length).toBeGreaterThan(30);
    for (const path of Object.keys(doc.paths)) expect(path).toMatch(/^\//);
  });

  it('resolves every $ref inside itself', () => {
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(50);
    const broken = all.filter((r) => resolve(doc, r) === undefined);
    expect(broken).toEqual([]);
  });

  it('gives every operation responses, a unique id, declared tags and security schemes, and its path parameters', () => {
    const ids = new Set<string>();
    const tags = new Set(doc.tags.map((t: Doc) => t.name));
    const schemes = new Set(Object.keys(doc.components.securitySchemes));
    for (const { path, method, op } of operations(doc)) {
      const where = `${method} ${path}`;
      expect(Object.keys(op.responses ?? {}).length, where).toBeGreaterThan(0);
      for (const status of Object.keys(op.responses)) expect(status, where).toMatch(/^[1-5]\d\d$/);
      expect(ids.has(op.operationId), `${where}: operationId ${op.operationId} twice`).toBe(false);
      ids.add(op.operationId);
      for (const tag of op.tags) expect(tags.has(tag), where).toBe(true);
      for (const requirement of op.security ?? []) for (const name of Object.keys(requirement)) expect(schemes.has(name), where).toBe(true);
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? [])
        .filter((p: Doc) => p.in === 'path')
        .map((p: Doc) => p.name)
        .sort();
      expect(declared, where).toEqual(inPath);
    }
  });

  it('lists the answers any operation may give: 429 with Retry-After, 500, and 503 with Retry-After', () => {
    for (const { path, method, op } of operations(doc)) {
      const where = `${method} ${path}`;
      const statuses = Object.keys(op.responses);
      if (path === '/healthz') {
        expect(statuses, where).not.toContain('500');
        continue;
      }
      expect(statuses, where).toContain('500');
      expect(statuses, where).toContain('503');
      if (path !== '/readyz') expect(statuses, where).toContain('429');
    }
    for (const name of ['Error429', 'Error503']) {
      expect(doc.components.responses[name].headers['Retry-After'], name).toEqual({ $ref: '#/components/headers/Retry-After' });
    }
    expect(doc.components.headers['Retry-After'].schema).toEqual({ type: 'integer', minimum: 0 });
  });

  it('answers errors as TAXII error resources, and names the three ways to authenticate', () => {
    const error = doc.components.responses.Error401.content['application/taxii+json;version=2.1'].schema;
    expect(resolve(doc, error.$ref)).toMatchObject({ required: ['title'] });
    expect(doc.components.securitySchemes).toMatchObject({
      bearer: { type: 'http', scheme: 'bearer' },
      basic: { type: 'http', scheme: 'basic' },
      vigilProof: { type: 'apiKey', in: 'header', name: 'Authorization' },
    });
  });

  it('names PUBLIC_URL as the server, and none without it', () => {
    expect(doc.servers).toBeUndefined();
    expect(openApiDocument({ publicUrl: 'https://taxii.example.org' }).servers).toEqual([{ url: 'https://taxii.example.org' }]);
  });
});

describe('every route is documented', () => {
  it('lists every route of the app, and no route the app does not have', () => {
    const app = appRoutes(createApp(node.deps));
    const documented = documentedRoutes(doc);
    expect(difference(app, documented), 'routes missing from src/http/openapi-routes.ts').toEqual([]);
    expect(difference(documented, app), 'documented routes the app does not have').toEqual([]);
    expect(app.size).toBe(documented.size);
  });

  it('notices a route added without documentation', () => {
    const app = createApp(node.deps);
    app.get('/admin/undocumented/:id', (c) => c.text('x'));
    expect(difference(appRoutes(app), documentedRoutes(doc))).toEqual(['GET /admin/undocumented/{id}']);
  });
});

describe('schemas come from the zod definitions', () => {
  const body = (method: string, path: string, media = 'application/json') => {
    const schema = doc.paths[path][method].requestBody.content[media].schema;
    return (schema.$ref ? resolve(doc, schema.$ref) : schema) as Doc;
  };

  it('POST /admin/collections takes the createCollectionBody schema', () => {
    const schema = body('post', '/admin/collections');
    expect(schema.required).toEqual(expect.arrayContaining(['api_root', 'title']));
    const { $schema: _, ...fromZod } = z.toJSONSchema(createCollectionBody, {
      target: 'draft-2020-12',
      io: 'input',
      unrepresentable: 'any',
    });
    expect(schema).toEqual(fromZod);
  });

  it("an alert subscription's filter lists cpe_prefixes", () => {
    const filter = body('post', '/alerts/subscriptions').properties.filter;
    expect(filter.properties.cpe_prefixes).toMatchObject({ type: 'array', items: { type: 'string' } });
    expect(filter.additionalProperties).toBe(false);
  });

  it('POST objects takes an envelope or a bundle, and answers a status', () => {
    const op = doc.paths['/{root}/collections/{id}/objects/'].post;
    expect(Object.keys(op.requestBody.content).sort()).toEqual(['application/stix+json;version=2.1', 'application/taxii+json;version=2.1']);
    expect(op.responses['202'].content['application/taxii+json;version=2.1'].schema).toEqual({ $ref: '#/components/schemas/Status' });
  });

  it("a source answers its last pull, lag, counts and errors, and the feeds' index its URLs", () => {
    const answer = (method: string, path: string, status = '200') => {
      const ref = doc.paths[path][method].responses[status].content['application/json'].schema.$ref;
      return resolve(doc, ref) as Doc;
    };
    const source = answer('get', '/admin/sources/{id}');
    expect(answer('post', '/admin/sources', '201')).toEqual(source);
    expect(answer('get', '/admin/sources').properties.sources.items).toEqual({ $ref: '#/components/schemas/Source' });
    for (const field of [
      'last_success',
      'last_attempt',
      'lag_seconds',
      'last_pulled_count',
      'stored_count',
      'consecutive_failures',
      'last_error',
    ])
      expect(source.required, field).toContain(field);
    expect(Object.keys(source.properties)).not.toContain('auth_secret');
    expect(source.properties.auth.properties).not.toHaveProperty('token');
    const index = doc.paths['/feeds/'].get;
    expect(index.parameters.map((p: Doc) => p.name)).toEqual(['collection']);
    expect(index.description).toContain('No URL holds a token');
  });

  it('the TAXII filters are query parameters', () => {
    const names = doc.paths['/{root}/collections/{id}/objects/'].get.parameters.map((p: Doc) => p.name);
    expect(names).toEqual(
      expect.arrayContaining(['added_after', 'limit', 'next', 'match[id]', 'match[type]', 'match[version]', 'match[spec_version]']),
    );
  });
});

describe('/docs', () => {
  it('serves a page that loads only its own scripts, without credentials', async () => {
    const res = await node.request('/docs', { token: null, headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/https?:/);
    const html = await res.text();
    const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]);
    expect(scripts).toEqual([expect.stringMatching(/^\/docs\/scalar\.js\?v=/)]);
    expect(html).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]/i);
    expect(html).not.toMatch(/<script>|<style|style=/);
  });

  it('serves the Scalar bundle as JavaScript, cached for long, gzipped when asked', async () => {
    const plain = await node.request('/docs/scalar.js', { token: null, headers: { accept: '*/*', 'accept-encoding': 'identity' } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(plain.headers.get('cache-control')).toContain('max-age=31536000');
    const text = await plain.text();
    expect(text).toContain('createApiReference');

    const zipped = await fetch(`${node.url}/docs/scalar.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(zipped.status).toBe(200);
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(await zipped.text()).toBe(text); // fetch decompresses
  });

  it('serves the vendored bundle byte for byte, named in the page by the version vendor/scalar/source.json gives', async () => {
    const source = JSON.parse(readFileSync(new URL('../../vendor/scalar/source.json', import.meta.url), 'utf8'));
    const html = await (await node.request('/docs', { token: null, headers: { accept: 'text/html' } })).text();
    expect(html).toContain(`/docs/scalar.js?v=${source.version}"`);
    const res = await node.request('/docs/scalar.js', { token: null, headers: { accept: '*/*', 'accept-encoding': 'identity' } });
    expect(
      createHash('sha256')
        .update(new Uint8Array(await res.arrayBuffer()))
        .digest('hex'),
    ).toBe(source.sha256);
  });

  it('points Scalar at /openapi.json with everything that would leave the node switched off', async () => {
    const html = await (await node.request('/docs', { token: null, headers: { accept: 'text/html' } })).text();
    expect(html).toContain('data-url="/openapi.json"');
    const attribute = /data-configuration='([^']*)'/.exec(html)?.[1] ?? '';
    const configuration = JSON.parse(attribute.replaceAll('&#39;', "'").replaceAll('&amp;', '&'));
    expect(configuration).toMatchObject({
      telemetry: false,
      withDefaultFonts: false,
      proxyUrl: '',
      agent: { disabled: true },
      mcp: { disabled: true },
    });
  });

  it('leaves /openapi.json and /docs public even with bad credentials sent', async () => {
    for (const path of ['/openapi.json', '/docs']) {
      const res = await node.request(path, { token: 'not-a-token', headers: { accept: '*/*' } });
      expect(res.status, path).toBe(200);
    }
  });
});
