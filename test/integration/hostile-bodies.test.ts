import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STIX, TAXII, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient, indicator, postObjects } from '../support/stix.ts';
import { readCollection } from '../support/taxii-read.ts';

// Bodies an attacker with write access sends, and values a careless producer sends: each is a
// 4xx for the request, or a failure for its object, never a 5xx, never a stuck node.

const MAX_OBJECTS = 200;
const MAX_STRING = 4096;
/** A request that hangs the node must fail the test, not the suite. */
const DEADLINE_MS = 20_000;

let node: TestNode;
let base: string;
let token: string;

beforeAll(async () => {
  node = await startTestNode({ REQUEST_MAX_OBJECTS: String(MAX_OBJECTS), JSON_MAX_STRING_BYTES: String(MAX_STRING) });
  ({ base, token } = await collectionWithClient(node));
});
afterAll(async () => node?.stop());

async function post(body: string | Buffer, contentType = TAXII): Promise<{ status: number; body: any }> {
  const res = await node.request(`${base}/objects/`, {
    method: 'POST',
    token,
    headers: { 'content-type': contentType },
    body,
    signal: AbortSignal.timeout(DEADLINE_MS),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** The node still answers, reads and writes. */
async function stillServes(): Promise<void> {
  expect((await node.request('/readyz', { signal: AbortSignal.timeout(DEADLINE_MS) })).status).toBe(200);
  const o = indicator();
  const s = await postObjects(node, base, [o], token);
  expect(s.success_count).toBe(1);
}

const nested = (depth: number, inner = '1') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;

describe('a body past the JSON limits is refused before any parser sees it', () => {
  it('refuses 100,000 nested arrays (200 KB) with a 422 naming JSON_MAX_DEPTH, and the node goes on', async () => {
    const r = await post(`{"objects":[${nested(100_000)}]}`);
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ http_status: '422', error_code: 'unprocessable' });
    expect(r.body.description).toContain('JSON_MAX_DEPTH');
    await stillServes();
  });

  it('takes nesting up to JSON_MAX_DEPTH (64) and refuses one level more', async () => {
    // The envelope, its list and the object are three levels.
    const deep = (levels: number) => JSON.stringify({ objects: [indicator({ x_deep: JSON.parse(nested(levels)) })] });
    const ok = await post(deep(61));
    expect(ok.status).toBe(202);
    expect(ok.body.success_count).toBe(1);
    expect((await post(deep(62))).status).toBe(422);
  });

  it('refuses a request of more objects than REQUEST_MAX_OBJECTS with a 413, and takes that many', async () => {
    const many = (n: number) => JSON.stringify({ objects: Array.from({ length: n }, () => indicator()) });
    const r = await post(many(MAX_OBJECTS + 1));
    expect(r.status).toBe(413);
    expect(r.body.description).toContain('REQUEST_MAX_OBJECTS');
    expect((await post(many(MAX_OBJECTS))).status).toBe(202);
  });

  it('refuses an object with more members than JSON_MAX_MEMBERS, and a string longer than JSON_MAX_STRING_BYTES', async () => {
    const members = Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`x_m${i}`, 1]));
    const wide = await post(JSON.stringify({ objects: [indicator(members)] }));
    expect(wide.status).toBe(422);
    expect(wide.body.description).toContain('JSON_MAX_MEMBERS');
    const long = await post(JSON.stringify({ objects: [indicator({ description: 'é'.repeat(MAX_STRING) })] }));
    expect(long.status).toBe(422);
    expect(long.body.description).toContain('JSON_MAX_STRING_BYTES');
    // Escapes count as written: a string of quotes and backslashes still ends where it ends.
    const tricky = indicator({ description: '\\"'.repeat(100) + '\\' });
    expect((await post(JSON.stringify({ objects: [tricky] }))).body.success_count).toBe(1);
    await stillServes();
  });

  it('refuses a number no double holds, which PostgreSQL’s parser also fails on or blows up (1e999999, 1e131071), with a 422', async () => {
    for (const n of ['1e999999', '0.1e-999999', '1e131071', '1'.repeat(500)]) {
      const r = await post(`{"objects":[${JSON.stringify(indicator()).slice(0, -1)},"x_n":${n}}]}`);
      expect(r.status, n).toBe(422);
      expect(r.body.description).toMatch(/a number in the body is out of range/);
    }
    // Numbers a double holds, exponents and all, go through (and fail their object if not finite).
    const r = await post(`{"objects":[${JSON.stringify(indicator()).slice(0, -1)},"x_n":-1.5E+300,"x_m":2e-308}]}`);
    expect(r.body.success_count).toBe(1);
  });

  it('bounds the admin and alert APIs’ bodies too', async () => {
    const res = await node.request('/admin/collections', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: `{"api_root":"default","title":"deep","x":${nested(1000)}}`,
      signal: AbortSignal.timeout(DEADLINE_MS),
    });
    expect(res.status).toBe(422);
  });

  it('reserves no memory for a Content-Length that is declared but not sent', async () => {
    const before = process.memoryUsage().arrayBuffers;
    const { port } = new URL(node.url);
    const sockets = await Promise.all(
      Array.from(
        { length: 5 },
        () =>
          new Promise<net.Socket>((resolve) => {
            const socket = net.connect(Number(port), '127.0.0.1', () => {
              socket.write(
                `POST ${base}/objects/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: ${TAXII}\r\nContent-Length: 50000000\r\n\r\n{"objects":[`,
              );
              resolve(socket);
            });
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 300));
    const grown = process.memoryUsage().arrayBuffers - before;
    for (const s of sockets) s.destroy();
    expect(grown).toBeLessThan(20_000_000);
  });
});

/** The status line and headers the node answers to a POST that declares 50 MB and sends a few bytes. */
function answerBeforeTheBody(path: string, bearer: string): Promise<string> {
  const { port } = new URL(node.url);
  return new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${bearer}\r\nAccept: ${TAXII}\r\nContent-Type: ${TAXII}\r\nContent-Length: 50000000\r\n\r\n{"objects":[`,
      );
    });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer within 5 s: the node waited for the body'));
    }, 5000);
    socket.on('data', (d) => {
      text += d.toString('utf8');
      if (!text.includes('\r\n\r\n')) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(text);
    });
    socket.on('error', reject);
  });
}

describe('a body from a caller who may not write', () => {
  it('is answered before it is sent: the node does not wait for max_content_length octets', async () => {
    const readOnly = await collectionWithClient(node, { can_read: true, can_write: false });
    // A collection it may only read: 403; one it has no right on (this file's): 404, as if absent.
    expect(await answerBeforeTheBody(`${readOnly.base}/objects/`, readOnly.token)).toMatch(/^HTTP\/1\.1 403 /);
    expect(await answerBeforeTheBody(`${base}/objects/`, readOnly.token)).toMatch(/^HTTP\/1\.1 404 /);
    await stillServes();
  });
});

describe('a hostile URL', () => {
  it('with a NUL character in a path segment or a query value is a 400, not a database error', async () => {
    const id = base.split('/').pop();
    for (const path of [
      `/de%00fault/collections/${id}/objects/`,
      `${base}/objects/indicator--%00/`,
      `${base}/objects/?match[id]=%00`,
      `${base}/objects/?next=x%00`,
      '/admin/collections/%00',
    ]) {
      const res = await node.request(path, { token, signal: AbortSignal.timeout(DEADLINE_MS) });
      expect(res.status, path).toBe(400);
    }
    await stillServes();
  });
});

describe('one bad value fails its object, not the request', () => {
  it('refuses a number out of double range (1e400) for that object only', async () => {
    const good = indicator();
    const bad = indicator();
    const body = JSON.stringify({ objects: [good, bad] }).replace(`"id":"${bad.id}"`, `"id":"${bad.id}","x_a":1e400`);
    const r = await post(body);
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ success_count: 1, failure_count: 1 });
    expect(r.body.failures[0].message).toMatch(/^objects\[1\]: x_a: a number out of range/);
  });

  it('stores a leap-second version (23:59:60.5) and serves it back as sent', async () => {
    const leap = indicator({ created: '2016-12-31T23:59:60.5Z', modified: '2016-12-31T23:59:60.5Z', valid_from: '2016-12-31T23:59:60.5Z' });
    const next = { ...leap, modified: '2017-01-01T00:00:00Z', name: 'the next version' };
    const r = await post(
      JSON.stringify({ type: 'bundle', id: 'bundle--0a6ba0c3-7c6c-4f4e-9bfa-0d9b0a2f3b51', objects: [leap, next] }),
      STIX,
    );
    expect(r.body).toMatchObject({ success_count: 2, failure_count: 0 });
    const versions = await node.request(`${base}/objects/${leap.id}/versions/`, { token });
    expect(((await versions.json()) as { versions: string[] }).versions).toEqual(['2016-12-31T23:59:60.5Z', '2017-01-01T00:00:00Z']);
    const all = await node.request(`${base}/objects/${leap.id}/?match[version]=all`, { token });
    expect(((await all.json()) as { objects: unknown[] }).objects).toEqual([leap, next]);
  });

  it('refuses a version in year 0000 for that object only', async () => {
    const zero = indicator({ created: '0000-01-01T00:00:00Z', modified: '0000-01-01T00:00:00Z', valid_from: '0000-01-01T00:00:00Z' });
    const r = await post(JSON.stringify({ objects: [zero, indicator()] }));
    expect(r.body).toMatchObject({ success_count: 1, failure_count: 1 });
    expect(r.body.failures[0].message).toMatch(/^objects\[0\]: modified: year 0000 cannot be stored/);
    const read = await readCollection(node, base, token);
    expect(read.objects.map((o) => o.id)).not.toContain(zero.id);
  });
});
