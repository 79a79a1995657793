import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { collectionWithClient, indicator, postObjects } from '../support/stix.ts';
import type { StixObject } from '../support/stix.ts';

// The alert stream (GET /alerts/stream) over real HTTP: live alerts, resuming with Last-Event-ID,
// the TLP rules on the way out, errors, and a node that stops while streams are open.

const TLP1_GREEN = 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da';
const TLP1_AMBER = 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82';

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({ ALERT_TICK_MS: '100' });
});
afterAll(async () => {
  await node?.stop();
});

type SseEvent = { id: string | undefined; event: string | undefined; data: string };

/** An SSE client on fetch's body reader (HTML §9.2.6, enough of it): events, the retry, the raw text. */
async function openStream(n: TestNode, query: string, token: string, headers: Record<string, string> = {}) {
  const abort = new AbortController();
  const res = await n.request(`/alerts/stream${query}`, {
    token,
    headers: { accept: 'text/event-stream', ...headers },
    signal: abort.signal,
  });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let buffer = '';
  let raw = '';
  let retry: number | undefined;
  let ended = false;
  let pending: ReturnType<typeof reader.read> | undefined;

  const parse = () => {
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const e: SseEvent = { id: undefined, event: undefined, data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') data.push(value);
        else if (field === 'id') e.id = value;
        else if (field === 'event') e.event = value;
        else if (field === 'retry') retry = Number(value);
      }
      if (data.length) events.push({ ...e, data: data.join('\n') });
    }
  };
  /** Reads until `done(events)` holds, the stream ends, or the time runs out. */
  const readUntil = async (done: (e: SseEvent[]) => boolean, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!done(events) && !ended && Date.now() < deadline) {
      pending ??= reader.read();
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([
        pending,
        new Promise<'timeout'>((ok) => (timer = setTimeout(() => ok('timeout'), deadline - Date.now()))),
      ]);
      clearTimeout(timer);
      if (r === 'timeout') break;
      pending = undefined;
      if (r.done) ended = true;
      else {
        const text = decoder.decode(r.value, { stream: true });
        raw += text;
        buffer += text;
        parse();
      }
    }
    return events;
  };
  return {
    res,
    events,
    readUntil,
    get raw() {
      return raw;
    },
    get retry() {
      return retry;
    },
    get ended() {
      return ended;
    },
    close: () => abort.abort(),
  };
}

async function subscribe(token: string, body: Record<string, unknown>): Promise<{ id: string }> {
  const res = await node.request('/alerts/subscriptions', {
    method: 'POST',
    token,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ name: 'console', ...body }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { id: string };
}

/** The event ids of a subscription's alerts, oldest first, from the deliveries API. */
async function alertSeqs(token: string, subscriptionId: string): Promise<string[]> {
  await node.deps.alerts.drain();
  const res = await node.request(`/alerts/subscriptions/${subscriptionId}/deliveries?limit=1000`, {
    token,
    headers: { accept: 'application/json' },
  });
  expect(res.status).toBe(200);
  const { deliveries } = (await res.json()) as { deliveries: { seq: string }[] };
  return deliveries.map((d) => d.seq).reverse();
}

const objectIds = (e: SseEvent) => (JSON.parse(e.data).objects as StixObject[]).map((o) => o.id);
const seen = (events: SseEvent[]) => new Set(events.flatMap(objectIds));
const hasAll = (ids: string[]) => (events: SseEvent[]) => ids.every((id) => seen(events).has(id));
const expectIncreasing = (ids: (string | undefined)[]) => {
  for (let i = 1; i < ids.length; i++) expect(BigInt(ids[i]!)).toBeGreaterThan(BigInt(ids[i - 1]!));
};

describe('the alert stream: a live console sees alerts as they are made', () => {
  it('delivers a matching indicator within seconds, its id the event id and its data the alert', async () => {
    const { collectionId, token, base } = await collectionWithClient(node);
    const sub = await subscribe(token, { collections: [collectionId], filter: { types: ['indicator'] } });
    const stream = await openStream(node, '', token);
    try {
      expect(stream.res.status).toBe(200);
      expect(stream.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(stream.res.headers.get('cache-control')).toBe('no-cache');
      expect(stream.res.headers.get('x-accel-buffering')).toBe('no');
      const ioc = indicator({ labels: ['ransomware'] });
      const started = Date.now();
      await postObjects(node, base, [ioc], token);
      const [event] = await stream.readUntil((e) => e.length >= 1);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(stream.retry).toBe(2000);
      expect(event!.event).toBe('alert');
      expect(event!.data).not.toContain('\n');
      const alert = JSON.parse(event!.data);
      expect(alert.type).toBe('vigil-alert');
      expect(alert.event_id).toBe(event!.id);
      expect(alert.subscription.id).toBe(sub.id);
      expect(alert.objects.map((o: StixObject) => o.id)).toEqual([ioc.id]);
      expect(await alertSeqs(token, sub.id)).toEqual([event!.id]);
    } finally {
      stream.close();
    }
  });

  it('resumes from Last-Event-ID with exactly the missed alerts, in order, none twice', async () => {
    const { collectionId, token, base } = await collectionWithClient(node);
    const sub = await subscribe(token, { collections: [collectionId] });
    const first = [indicator(), indicator(), indicator()];
    const missed = [indicator(), indicator(), indicator(), indicator()];

    const live = await openStream(node, `?subscription=${sub.id}`, token);
    for (const ioc of first) await postObjects(node, base, [ioc], token);
    const before = await live.readUntil(hasAll(first.map((o) => o.id)));
    live.close();
    expect(seen(before)).toEqual(new Set(first.map((o) => o.id)));
    const lastId = before.at(-1)!.id!;

    for (const ioc of missed) await postObjects(node, base, [ioc], token);
    const expected = (await alertSeqs(token, sub.id)).filter((seq) => BigInt(seq) > BigInt(lastId));
    expect(expected.length).toBeGreaterThan(0);

    const resumed = await openStream(node, `?subscription=${sub.id}`, token, { 'last-event-id': lastId });
    try {
      await resumed.readUntil((e) => e.length >= expected.length);
      await resumed.readUntil(() => false, 1_000); // nothing more may follow
      expect(resumed.events.map((e) => e.id)).toEqual(expected);
      expectIncreasing(resumed.events.map((e) => e.id));
      expect(seen(resumed.events)).toEqual(new Set(missed.map((o) => o.id)));
    } finally {
      resumed.close();
    }

    // The same from the query parameter, for clients that cannot set headers.
    const byQuery = await openStream(node, `?subscription=${sub.id}&last_event_id=${lastId}`, token);
    try {
      await byQuery.readUntil((e) => e.length >= expected.length);
      expect(byQuery.events.map((e) => e.id)).toEqual(expected);
    } finally {
      byQuery.close();
    }
  });

  it('never carries an AMBER indicator to a GREEN client, while a GREEN one arrives', async () => {
    const { collectionId, token, base } = await collectionWithClient(node, { can_read: true, can_write: false }, 'default', 'GREEN');
    await subscribe(token, { collections: [collectionId] });
    const amberAlone = indicator({ object_marking_refs: [TLP1_AMBER] });
    const amberBeside = indicator({ object_marking_refs: [TLP1_AMBER] });
    const greenBeside = indicator({ object_marking_refs: [TLP1_GREEN] });
    const greenLast = indicator({ object_marking_refs: [TLP1_GREEN] });
    const stream = await openStream(node, '', token);
    try {
      await postObjects(node, base, [amberAlone]);
      await postObjects(node, base, [amberBeside, greenBeside]);
      await postObjects(node, base, [greenLast]);
      await stream.readUntil(hasAll([greenBeside.id, greenLast.id]));
      await node.deps.alerts.drain();
      await stream.readUntil(() => false, 1_000);
      expect(seen(stream.events)).toEqual(new Set([greenBeside.id, greenLast.id]));
      expect(stream.raw).not.toContain(amberAlone.id);
      expect(stream.raw).not.toContain(amberBeside.id);
      expect(stream.raw).not.toContain(TLP1_AMBER);
    } finally {
      stream.close();
    }
  });

  it("reads each alert under the client's rights now: one matched under AMBER is skipped once it is GREEN", async () => {
    const { collectionId, clientId, token, base } = await collectionWithClient(node);
    const sub = await subscribe(token, { collections: [collectionId] });
    const amber = indicator({ object_marking_refs: [TLP1_AMBER] });
    await postObjects(node, base, [amber]);
    const [amberSeq] = await alertSeqs(token, sub.id);
    expect(amberSeq).toBeDefined();
    const lowered = await node.request(`/admin/clients/${clientId}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ clearance: 'GREEN' }),
    });
    expect(lowered.status, await lowered.clone().text()).toBe(200);
    const green = indicator({ object_marking_refs: [TLP1_GREEN] });
    await postObjects(node, base, [green]);
    const seqs = await alertSeqs(token, sub.id);
    expect(seqs).toHaveLength(2);

    const stream = await openStream(node, '', token, { 'last-event-id': String(BigInt(amberSeq!) - 1n) });
    try {
      await stream.readUntil(hasAll([green.id]));
      await stream.readUntil(() => false, 600);
      expect(stream.events.map((e) => e.id)).toEqual([seqs[1]]);
      expect(stream.raw).not.toContain(amber.id);
    } finally {
      stream.close();
    }
  });
});

describe('the alert stream: who may open it, and with what', () => {
  const errorOf = async (res: Response) => {
    const body = (await res.json()) as { error_code: string; description: string };
    return { status: res.status, code: body.error_code, description: body.description };
  };

  it("refuses another client's subscription, a bad Last-Event-ID, and no token", async () => {
    const mine = await collectionWithClient(node);
    const theirs = await collectionWithClient(node);
    const theirSub = await subscribe(theirs.token, { collections: [theirs.collectionId] });
    const get = (query: string, token: string | null, headers: Record<string, string> = {}) =>
      node.request(`/alerts/stream${query}`, { token, headers: { accept: 'text/event-stream', ...headers } });

    expect(await errorOf(await get(`?subscription=${theirSub.id}`, mine.token))).toMatchObject({ status: 404, code: 'not-found' });
    expect(await errorOf(await get('?subscription=not-a-uuid', mine.token))).toMatchObject({ status: 404, code: 'not-found' });
    for (const bad of ['abc', '-1', '1.5', '99999999999999999999']) {
      const e = await errorOf(await get('', mine.token, { 'last-event-id': bad }));
      expect(e).toMatchObject({ status: 400, code: 'bad-request' });
      expect(e.description).toMatch(/^Last-Event-ID: /);
    }
    const q = await errorOf(await get('?last_event_id=x', mine.token));
    expect(q).toMatchObject({ status: 400, code: 'bad-request' });
    expect(q.description).toMatch(/^last_event_id: /);
    expect(await errorOf(await get('', null))).toMatchObject({ status: 401, code: 'unauthorized' });

    // The admin may watch any client's subscription.
    const admin = await openStream(node, `?subscription=${theirSub.id}`, 'test-admin-token-0123456789abcdef');
    try {
      expect(admin.res.status).toBe(200);
      await admin.readUntil(() => admin.retry !== undefined, 5_000);
      expect(admin.retry).toBe(2000);
    } finally {
      admin.close();
    }
  });
});

describe('the alert stream: a node that stops', () => {
  it('ends open streams promptly instead of waiting on them', async () => {
    const own = await startTestNode({ ALERT_TICK_MS: '100' });
    let stopped = false;
    try {
      const { collectionId, token } = await collectionWithClient(own);
      await (
        await own.request('/alerts/subscriptions', {
          method: 'POST',
          token,
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ name: 'console', collections: [collectionId] }),
        })
      ).body?.cancel();
      const streams = [await openStream(own, '', token), await openStream(own, '', token)];
      for (const s of streams) await s.readUntil(() => s.retry !== undefined, 5_000);
      const started = Date.now();
      const hung = new Promise<never>((_, fail) => setTimeout(() => fail(new Error('node.stop() hung on open streams')), 5_000).unref());
      await Promise.race([own.stop(), hung]);
      stopped = true;
      expect(Date.now() - started).toBeLessThan(3_000);
      for (const s of streams) {
        await s.readUntil(() => false, 2_000);
        expect(s.ended).toBe(true);
      }
    } finally {
      if (!stopped) await own.stop();
    }
  });
});
