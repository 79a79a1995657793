import { readFileSync } from 'node:fs';
import http from 'node:http';
import { listenOnLoopback } from './loopback.ts';

// A small MISP that answers POST /events/restSearch as MISP does with returnFormat stix2: the
// Authorization header must be a user's authkey (else 403 and MISP's JSON error), `timestamp`
// and `publish_timestamp` keep events changed (published) at or after them, `published` and
// `tags` filter, `limit` events a page from `page` 1, and the page's events come as one STIX 2.1
// bundle, each object once (the organisation's identity is shared by its events).

export type MispEvent = {
  /** The event as misp-stix exports it: a bundle's objects, one report or grouping among them. */
  objects: Record<string, unknown>[];
  tags?: string[];
  published?: boolean;
  /** Seconds since the epoch; the event's timestamp unless set. */
  publishTimestamp?: number;
};

export type MispBehaviour = {
  /** Answers every request with this status and body (a busy server, a proxy's error page). */
  status?: { code: number; body: string; contentType: string; retryAfter?: string };
  /** Answers 200 with this body instead of a bundle. */
  body?: { text: string; contentType: string };
  /** Answers this long after the request came (a slow server). */
  delayMs?: number;
};

export type MispServer = {
  /** The MISP's base URL. */
  url: string;
  key: string;
  events: MispEvent[];
  behaviour: MispBehaviour;
  /** Each request's path, Authorization header and JSON body, in order. */
  requests: { path: string; authorization: string | undefined; accept: string | undefined; body: Record<string, unknown> }[];
  close(): Promise<void>;
};

const AUTH_FAILED =
  'Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.';

/** An event of test/fixtures/misp/. */
export function fixtureEvent(name: string, over: Omit<MispEvent, 'objects'> = {}): MispEvent {
  const bundle = JSON.parse(readFileSync(new URL(`../fixtures/misp/${name}`, import.meta.url), 'utf8'));
  return { objects: bundle.objects, ...over };
}

/** The event's report or grouping: MISP's event, its `modified` the event timestamp. */
export function eventObject(e: MispEvent): Record<string, unknown> {
  return e.objects.find((o) => o.type === 'report' || o.type === 'grouping')!;
}

const timestampOf = (e: MispEvent) => Math.floor(Date.parse(eventObject(e).modified as string) / 1000);

export async function startMispServer(key = 'b7Qm2Xr9Lk4Tz8Wc1Nv6Hp3Fs5Dj0GyAe7Ru2Ki9'): Promise<MispServer> {
  // The handler reads the fields the test sets; url and close are filled in once it listens.
  const misp: MispServer = { url: '', key, events: [], behaviour: {}, requests: [], close: async () => {} };
  const answer = (req: http.IncomingMessage, raw: string, res: http.ServerResponse) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    let body: Record<string, unknown> = {};
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      body = {};
    }
    misp.requests.push({ path: req.url!, authorization: req.headers.authorization, accept: req.headers.accept, body });
    if (req.method !== 'POST' || req.url !== '/events/restSearch')
      return send(404, { name: 'Not Found', message: 'Not Found', url: req.url });
    if (req.headers.authorization !== misp.key) return send(403, { name: AUTH_FAILED, message: AUTH_FAILED, url: '/events/restSearch' });
    const b = misp.behaviour;
    if (b.status)
      return res
        .writeHead(b.status.code, {
          'content-type': b.status.contentType,
          ...(b.status.retryAfter ? { 'retry-after': b.status.retryAfter } : {}),
        })
        .end(b.status.body);
    if (b.body) return res.writeHead(200, { 'content-type': b.body.contentType }).end(b.body.text);
    if (body.returnFormat !== 'stix2' || body['stix-version'] !== '2.1')
      return send(400, { name: 'unexpected request', message: 'not stix2 2.1' });
    const since = (name: string) => (body[name] === undefined ? undefined : Number(body[name]));
    const changed = since('timestamp');
    const publishedSince = since('publish_timestamp');
    const tags = Array.isArray(body.tags) ? (body.tags as string[]) : undefined;
    const matching = misp.events.filter(
      (e) =>
        (changed === undefined || timestampOf(e) >= changed) &&
        (publishedSince === undefined || (e.published === true && (e.publishTimestamp ?? timestampOf(e)) >= publishedSince)) &&
        (body.published !== true || e.published === true) &&
        (tags === undefined || tags.some((t) => e.tags?.includes(t))),
    );
    const limit = Number(body.limit ?? matching.length);
    const page = Number(body.page ?? 1);
    const events = matching.slice((page - 1) * limit, page * limit);
    const objects = new Map<string, Record<string, unknown>>();
    for (const e of events) for (const o of e.objects) objects.set(o.id as string, o);
    send(200, { type: 'bundle', id: `bundle--${crypto.randomUUID()}`, objects: [...objects.values()] });
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const delay = misp.behaviour.delayMs;
      if (delay) setTimeout(() => answer(req, raw, res), delay);
      else answer(req, raw, res);
    });
  });
  const { port, close } = await listenOnLoopback(server);
  misp.url = `http://127.0.0.1:${port}/`;
  misp.close = close;
  return misp;
}
