import http from 'node:http';
import { expect } from 'vitest';
import type { TestNode } from './node.ts';
import { TAXII } from './node.ts';
import { indicator, postObjects } from './stix.ts';

export type RawResponse = { status: number; headers: http.IncomingHttpHeaders; text: string; json(): any };

/**
 * One HTTP request with exactly the headers given: fetch adds `Accept: *\/*` and a
 * Content-Type of its own, which would hide a missing header from the node.
 */
export function rawRequest(
  baseUrl: string,
  method: string,
  pathname: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${baseUrl}${pathname}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** What the endpoints need to exist: a collection, an object in it, a status of the admin's. */
export type Fixture = { node: TestNode; base: string; collectionId: string; objectId: string; statusId: string };

export type Endpoint = {
  name: string;
  method: 'GET' | 'POST' | 'DELETE';
  /** The path without its trailing slash; DELETE makes a fresh object each time, as it uses one up. */
  path(f: Fixture): string | Promise<string>;
  ok: number;
  /** A valid request body (POST only). */
  body?: () => string;
};

export const taxiiEndpoints: Endpoint[] = [
  { name: 'discovery', method: 'GET', path: () => '/taxii2', ok: 200 },
  { name: 'api root', method: 'GET', path: () => '/default', ok: 200 },
  { name: 'status', method: 'GET', path: (f) => `/default/status/${f.statusId}`, ok: 200 },
  { name: 'collections', method: 'GET', path: () => '/default/collections', ok: 200 },
  { name: 'collection', method: 'GET', path: (f) => f.base, ok: 200 },
  { name: 'manifest', method: 'GET', path: (f) => `${f.base}/manifest`, ok: 200 },
  { name: 'objects GET', method: 'GET', path: (f) => `${f.base}/objects`, ok: 200 },
  {
    name: 'objects POST',
    method: 'POST',
    path: (f) => `${f.base}/objects`,
    ok: 202,
    body: () => JSON.stringify({ objects: [indicator()] }),
  },
  { name: 'object GET', method: 'GET', path: (f) => `${f.base}/objects/${f.objectId}`, ok: 200 },
  {
    name: 'object DELETE',
    method: 'DELETE',
    async path(f) {
      const obj = indicator();
      await postObjects(f.node, f.base, [obj]);
      return `${f.base}/objects/${obj.id}`;
    },
    ok: 200,
  },
  { name: 'versions', method: 'GET', path: (f) => `${f.base}/objects/${f.objectId}/versions`, ok: 200 },
];

/** Each endpoint as `/path/` and as `/path`: clients differ, and the node serves both. */
export const endpointVariants = taxiiEndpoints.flatMap((e) =>
  ['/', ''].map((slash) => ({ ...e, slash, label: `${e.name}: ${e.method} ${slash ? 'with' : 'without'} trailing slash` })),
);

/** A collection in API root `default` holding one object, and a status the admin made. */
export async function endpointFixture(node: TestNode, collectionId: string): Promise<Fixture> {
  const base = `/default/collections/${collectionId}`;
  const obj = indicator();
  const status = await postObjects(node, base, [obj]);
  return { node, base, collectionId, objectId: obj.id, statusId: status.id };
}

/** Sends `e` with exactly these headers (plus the POST body's Content-Type unless given). */
export async function sendTo(f: Fixture, e: Endpoint & { slash: string }, headers: Record<string, string>): Promise<RawResponse> {
  const pathname = `${await e.path(f)}${e.slash}`;
  const h = { ...headers };
  if (e.body && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = TAXII;
  return rawRequest(f.node.url, e.method, pathname, h, e.body?.());
}

/** TAXII 2.1 §3.6.1: an error is an error resource, `title` required, `http_status` a string. */
export function expectTaxiiError(res: RawResponse | { status: number; headers: Headers; text: string }, status: number): any {
  expect(res.status, res.text).toBe(status);
  const contentType = res.headers instanceof Headers ? res.headers.get('content-type') : res.headers['content-type'];
  expect(contentType).toBe(TAXII);
  const body = JSON.parse(res.text);
  expect(typeof body.title).toBe('string');
  expect(body.title.length).toBeGreaterThan(0);
  expect(body.http_status).toBe(String(status));
  return body;
}

export const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
