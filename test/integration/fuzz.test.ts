import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations } from '../../src/http/openapi-routes.ts';
import type { Operation } from '../../src/http/openapi-routes.ts';
import { STIX, TAXII, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient, indicator } from '../support/stix.ts';

// Hostile input against every endpoint (the route table the OpenAPI document is built from),
// as a client with write access and as nobody: JSON at the edges (depth, size, numbers, Unicode,
// duplicate and prototype keys), hostile query strings, path parameters and headers. Whatever
// comes in, the node answers below 500, within a deadline, and stays ready with bounded memory.
// CI runs a fixed seed; FUZZ_RUNS=2000 FUZZ_SEED=… runs longer or elsewhere.

const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_206);
const DEADLINE_MS = 15_000;
/** Growth of this process's RSS (the node runs in it) a fuzz run may cause. */
const RSS_GROWTH_MAX = 400 * 1024 * 1024;

let node: TestNode;
let base: string;
let collectionId: string;
let clientId: string;
let token: string;
let rssBefore: number;

beforeAll(async () => {
  // Rate limits off: the fuzzer's requests must reach the handlers, not stop at a 429.
  node = await startTestNode({ SYNC_INGEST_MAX_OBJECTS: '20', RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '0' });
  ({ base, collectionId, clientId, token } = await collectionWithClient(node));
  rssBefore = process.memoryUsage().rss;
});
afterAll(async () => node?.stop());

// ---- hostile JSON ---------------------------------------------------------------------------

const numberText = fc.constantFrom(
  '1e400',
  '-1e400',
  '1e-400',
  '-0',
  '0.1e-999999',
  '123456789012345678901234567890',
  '9007199254740993',
  '1E+308',
  '-',
  '01',
  '1.',
  '.5',
  'NaN',
  'Infinity',
);
const stringText = fc.constantFrom(
  '"\\ud800"',
  '"\\udfff\\ud800"',
  '"\\u0000"',
  '"\\uFEFF"',
  '"\u202e"',
  '"😀"',
  '"\\"',
  '"\\u12"',
  '"a\nb"',
  '""',
  `"${'x'.repeat(70_000)}"`,
  '"2016-12-31T23:59:60.5Z"',
  '"0000-01-01T00:00:00Z"',
  '"9999-12-31T23:59:59.9999999Z"',
  '"indicator--"',
  '"__proto__"',
);
const keyText = fc.constantFrom(
  '"__proto__"',
  '"constructor"',
  '"prototype"',
  '"toString"',
  '"hasOwnProperty"',
  '"id"',
  '"type"',
  '"objects"',
  '""',
  '"x_\\u0000"',
  '"X_Upper"',
);

/** JSON text, valid or not, of the shapes that break parsers and validators. */
const hostileJson: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    numberText,
    stringText,
    fc.constantFrom('true', 'null', 'nul', '{', ']', '[,]', '{"a":}', '{"a" 1}', '{"a":1,"a":2}'),
    fc.array(tie('value'), { maxLength: 4 }).map((xs) => `[${xs.join(',')}]`),
    fc.array(fc.tuple(keyText, tie('value')), { maxLength: 4 }).map((kv) => `{${kv.map(([k, v]) => `${k}:${v}`).join(',')}}`),
    fc.integer({ min: 1, max: 3000 }).map((d) => `${'['.repeat(d)}${']'.repeat(d)}`),
    fc.integer({ min: 1, max: 200 }).map((d) => `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`),
  ),
})).value;

/** A valid indicator with one property replaced or added with hostile JSON text. */
const spoiledIndicator = fc
  .tuple(
    fc.constantFrom(
      'name',
      'pattern',
      'modified',
      'created',
      'id',
      'type',
      'spec_version',
      'object_marking_refs',
      'x_custom',
      'x_ref',
      'extensions',
      'granular_markings',
    ),
    hostileJson,
  )
  .map(([key, value]) => {
    const o = JSON.stringify(indicator());
    return `${o.slice(0, -1)},"${key}":${value}}`;
  });

const hostileBody = fc.oneof(
  hostileJson,
  fc.array(fc.oneof(spoiledIndicator, hostileJson), { minLength: 1, maxLength: 30 }).map((xs) => `{"objects":[${xs.join(',')}]}`),
  fc
    .array(spoiledIndicator, { minLength: 1, maxLength: 30 })
    .map((xs) => `{"type":"bundle","id":"bundle--6f6a0ea8-2a9c-4dd4-9b30-c8bd5e5f1a4d","objects":[${xs.join(',')}]}`),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.constant(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d])),
  fc.constant(Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d])),
);

// ---- hostile requests -----------------------------------------------------------------------

const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '%00',
    '%ff',
    '%uD800',
    '..%2f..%2fetc',
    '<script>',
    "' OR 1=1 --",
    '-1',
    '0',
    '1e9',
    '99999999999999999999',
    'null',
    'all',
    'first,last',
    '2021-02-30T00:00:00Z',
    '2016-12-31T23:59:60Z',
    'x'.repeat(5000),
  ),
);

const queryString = fc
  .array(
    fc.tuple(
      fc.constantFrom(
        'limit',
        'added_after',
        'next',
        'match[id]',
        'match[type]',
        'match[version]',
        'match[spec_version]',
        'last_event_id',
        'x',
        'match[',
        'limit[]',
      ),
      hostileText,
    ),
    { maxLength: 5 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));

const credentials = fc.constantFrom<'client' | 'admin' | 'none' | 'garbage' | 'basic' | 'proof'>(
  'client',
  'admin',
  'none',
  'garbage',
  'basic',
  'proof',
);

function authorization(kind: string): string | null {
  switch (kind) {
    case 'client':
      return `Bearer ${token}`;
    case 'admin':
      return undefined as never;
    case 'garbage':
      return 'Bearer \u00ff\u0000'.replace(/[^\x20-\x7e]/g, '?') + 'x'.repeat(3000);
    case 'basic':
      return `Basic ${Buffer.from(`\u0000:${'é'.repeat(300)}`).toString('base64')}`;
    case 'proof':
      return 'Vigil-Proof eyJhbGciOiJub25lIn0.e30.';
    default:
      return null;
  }
}

const acceptHeader = fc.constantFrom(
  TAXII,
  STIX,
  'application/json',
  '*/*',
  'text/html',
  'application/taxii+json;version=9.9',
  'application/taxii+json;q=0',
  ';;;',
  'x'.repeat(4000),
);
const contentType = fc.constantFrom(
  TAXII,
  STIX,
  'application/json',
  'text/plain',
  'application/taxii+json;version=2.0',
  'multipart/form-data; boundary=x',
  '',
  ';',
);

/** Fills a route's path parameters with real ids, unknown ones, or hostile text. */
const pathValue = (name: string, method: string) =>
  fc.oneof(
    ...(method === 'delete'
      ? []
      : [fc.constant(name === 'root' || name === 'name' ? 'default' : name === 'clientId' ? clientId : collectionId)]),
    fc.uuid(),
    hostileText.map((t) => encodeURIComponent(t).slice(0, 2000) || '%20'),
    fc.constantFrom('indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', '..', '%2e%2e', 'a%2Fb'),
  );

function requestFor(op: Operation) {
  const names = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  return fc
    .record({
      params: fc.tuple(...names.map((n) => pathValue(n, op.method))),
      query: queryString,
      body: hostileBody,
      auth: credentials,
      accept: acceptHeader,
      contentType,
    })
    .map((r) => {
      let i = 0;
      const path = op.path.replace(/\{(\w+)\}/g, () => r.params[i++] as string);
      return { ...r, path };
    });
}

async function send(
  method: string,
  path: string,
  r: { query: string; body: string | Buffer; auth: string; accept: string; contentType: string },
): Promise<number> {
  const headers: Record<string, string> = { accept: r.accept };
  const auth = authorization(r.auth);
  if (auth) headers.authorization = auth;
  const init: RequestInit & { token?: string | null } = {
    method: method.toUpperCase(),
    headers,
    signal: AbortSignal.timeout(DEADLINE_MS),
    token: r.auth === 'admin' ? undefined : null,
  };
  if (!['GET', 'HEAD', 'DELETE'].includes(init.method!)) {
    headers['content-type'] = r.contentType;
    init.body = r.body;
  }
  const res = await node.request(`${path}${r.query ? `?${r.query}` : ''}`, init);
  // A stream (SSE) answers 200 and stays open: its status is what counts.
  await res.body?.cancel().catch(() => {});
  return res.status;
}

async function stillReady(): Promise<void> {
  const res = await node.request('/readyz', { signal: AbortSignal.timeout(DEADLINE_MS) });
  expect(res.status).toBe(200);
  expect(process.memoryUsage().rss - rssBefore).toBeLessThan(RSS_GROWTH_MAX);
}

const options = { numRuns: RUNS, seed: SEED, endOnFailure: true };

describe('hostile input, against every endpoint: never a 5xx, never a hang', () => {
  it('POST objects: hostile bodies, as bundle or envelope, as a client with write access', async () => {
    await fc.assert(
      fc.asyncProperty(hostileBody, contentType, async (body, type) => {
        const status = await send('post', `${base}/objects/`, { query: '', body, auth: 'client', accept: TAXII, contentType: type });
        expect(status, String(body).slice(0, 200)).toBeLessThan(500);
      }),
      { ...options, numRuns: RUNS * 3 },
    );
    await stillReady();
  });

  it.each(operations.map((op) => [`${op.method.toUpperCase()} ${op.path}`, op] as const))('%s', async (_, op) => {
    await fc.assert(
      fc.asyncProperty(requestFor(op), async (r) => {
        const status = await send(op.method, r.path, r);
        expect(status, `${op.method} ${r.path}?${r.query}`).toBeLessThan(500);
      }),
      options,
    );
    await stillReady();
  });

  it('the web console: hostile sign-in forms and pages', async () => {
    await fc.assert(
      fc.asyncProperty(
        hostileText,
        hostileText,
        fc.constantFrom(
          '/console/',
          '/console/signin',
          '/console/collections',
          `/console/collections/${collectionId}`,
          '/console/submit',
          '/console/operations',
        ),
        async (a, b, page) => {
          const form = new URLSearchParams({ token: a, csrf: b, collection: b, bundle: a });
          const post = await node.request('/console/signin', {
            method: 'POST',
            token: null,
            headers: { 'content-type': 'application/x-www-form-urlencoded', origin: node.url },
            body: form,
            redirect: 'manual',
            signal: AbortSignal.timeout(DEADLINE_MS),
          });
          expect(post.status).toBeLessThan(500);
          await post.body?.cancel();
          const get = await node.request(`${page}?q=${encodeURIComponent(a)}`, {
            token: null,
            headers: { cookie: `vigil_session=${encodeURIComponent(b)}` },
            redirect: 'manual',
            signal: AbortSignal.timeout(DEADLINE_MS),
          });
          expect(get.status).toBeLessThan(500);
          await get.body?.cancel();
        },
      ),
      options,
    );
    await stillReady();
  });
});
