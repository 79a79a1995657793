import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { verifyAlert } from '../../src/services/alert-signature.ts';
import type { AlertClaims } from '../../src/services/alert-signature.ts';
import type { StixObject } from './stix.ts';

// Helpers of the alert suites: the alert API as a client calls it, and webhook receivers on
// loopback that fail, hang, drop or redirect on demand, as a hospital's real one sometimes does.

/** Webhooks to loopback over http; no background ticks: the tests drive `deps.alerts.drain()`. */
export const ALERT_TEST_ENV = { ALERT_WEBHOOK_ALLOW_PRIVATE: 'true', ALERT_WEBHOOK_ALLOW_HTTP: 'true', ALERT_TICK_MS: '0' };

type Requester = { url: string; request(pathname: string, init?: RequestInit & { token?: string | null }): Promise<Response> };

export async function alertApi(
  node: Requester,
  method: string,
  pathname: string,
  token: string | null | undefined,
  body?: unknown,
): Promise<Response> {
  return node.request(`/alerts${pathname}`, {
    method,
    ...(token === undefined ? {} : { token }),
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

export async function subscribe(node: Requester, token: string | undefined, body: unknown): Promise<any> {
  const res = await alertApi(node, 'POST', '/subscriptions', token, body);
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

export async function deliveries(node: Requester, token: string | undefined, subscriptionId: string, state?: string): Promise<any[]> {
  const res = await alertApi(node, 'GET', `/subscriptions/${subscriptionId}/deliveries${state ? `?state=${state}` : ''}`, token);
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { deliveries: any[] }).deliveries;
}

/** Checks an alert's signature against the node's published JWKS, as a receiver does. */
export async function verifyReceived(node: Requester, alert: { headers: http.IncomingHttpHeaders; body: string }): Promise<AlertClaims> {
  const jwks = await (await fetch(`${node.url}/.well-known/jwks.json`)).json();
  return verifyAlert(alert.headers['vigil-signature'] as string, alert.body, jwks);
}

export function papMarking(level: 'clear' | 'green' | 'amber' | 'red'): StixObject {
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id: `marking-definition--${randomUUID()}`,
    created: '2024-01-01T00:00:00.000Z',
    name: `PAP:${level.toUpperCase()}`,
    definition_type: 'pap',
    definition: { pap: level },
  };
}

/** What the receiver does with one request: answer a status, hang, trickle an endless body, or drop the connection after reading it. */
export type ReceiverAction = number | 'hang' | 'drop' | 'trickle' | { redirect: string };
export type ReceiverRequest = { key: string; attempt: number; headers: http.IncomingHttpHeaders; body: string; json: any };

/**
 * A webhook receiver that can be down (not listening) and come back on the same port.
 * `act` gets each request with its Idempotency-Key and how many times that key was seen before.
 * `received`: the requests it processed (2xx, or dropped after reading: the sender cannot know).
 */
export function flakyReceiver(act: (r: Omit<ReceiverRequest, 'attempt'> & { attempt: number }) => ReceiverAction = () => 200) {
  const requests: (ReceiverRequest & { action: ReceiverAction })[] = [];
  const received: ReceiverRequest[] = [];
  const perKey = new Map<string, number>();
  const hanging = new Set<http.ServerResponse>();
  let server: http.Server | undefined;
  let port = 0;
  const self = {
    requests,
    received,
    get url() {
      return `http://127.0.0.1:${port}/hook`;
    },
    /** Unique idempotency keys processed. */
    keys: () => new Set(received.map((r) => r.key)),
    /** A port to use while the receiver is down: connections are refused there. */
    async reserve(): Promise<string> {
      await self.start();
      await self.stop();
      return self.url;
    },
    async start(): Promise<void> {
      server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const key = String(req.headers['idempotency-key'] ?? '');
          const attempt = perKey.get(key) ?? 0;
          perKey.set(key, attempt + 1);
          const r: ReceiverRequest = { key, attempt, headers: req.headers, body, json: JSON.parse(body) };
          const action = act(r);
          requests.push({ ...r, action });
          if (action === 'hang') return void hanging.add(res);
          if (action === 'trickle') {
            // 200 at once, then a body that never ends: a byte every 50 ms.
            received.push(r);
            hanging.add(res);
            res.writeHead(200, { 'content-type': 'text/plain' });
            const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write('.')), 50);
            res.on('close', () => clearInterval(t));
            return;
          }
          if (action === 'drop') {
            received.push(r);
            req.socket.destroy();
            return;
          }
          if (typeof action === 'object') return void res.writeHead(302, { location: action.redirect }).end();
          if (action >= 200 && action < 300) received.push(r);
          res.writeHead(action, { 'content-type': 'text/plain' }).end('ok');
        });
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    },
    async stop(): Promise<void> {
      for (const res of hanging) res.socket?.destroy();
      hanging.clear();
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    /** Resolves once `n` distinct keys were processed. */
    async waitForKeys(n: number, ms = 10_000): Promise<ReceiverRequest[]> {
      const deadline = Date.now() + ms;
      while (self.keys().size < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} alerts, got ${self.keys().size} keys (${requests.length} requests)`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return received;
    },
  };
  return self;
}

/** Polls `check` until it holds (for background work across processes). */
export async function eventually<T>(check: () => Promise<T | undefined | false>, ms = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
