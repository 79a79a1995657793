import { Pool } from 'undici';
import { ADMIN_TOKEN } from './target.ts';

export const TAXII = 'application/taxii+json;version=2.1';
export const STIX = 'application/stix+json;version=2.1';

export type Client = {
  pool: Pool;
  request(
    path: string,
    init?: { method?: string; token?: string; body?: string; contentType?: string },
  ): Promise<{ status: number; headers: Record<string, unknown>; text: string }>;
  close(): Promise<void>;
};

/** An undici pool to the node over loopback: `connections` sockets, one request in flight on each. */
export function client(url: string, connections = 8): Client {
  const pool = new Pool(url, { connections, pipelining: 1, bodyTimeout: 600_000, headersTimeout: 600_000 });
  return {
    pool,
    async request(path, init = {}) {
      const headers: Record<string, string> = {
        accept: path.startsWith('/admin') ? 'application/json' : TAXII,
        authorization: `Bearer ${init.token ?? ADMIN_TOKEN}`,
      };
      if (init.contentType) headers['content-type'] = init.contentType;
      const r = await pool.request({ path, method: (init.method ?? 'GET') as 'GET', headers, body: init.body ?? null });
      return { status: r.statusCode, headers: r.headers, text: await r.body.text() };
    },
    close: () => pool.close(),
  };
}

export async function json<T = any>(
  c: Client,
  path: string,
  init: Parameters<Client['request']>[1] = {},
  expect = [200, 201, 202],
): Promise<T> {
  const r = await c.request(path, init);
  if (!expect.includes(r.status)) throw new Error(`${init.method ?? 'GET'} ${path}: ${r.status} ${r.text.slice(0, 300)}`);
  return JSON.parse(r.text) as T;
}

export type Distribution = { count: number; seconds: number; perSecond: number; p50: number; p90: number; p99: number; max: number };

export function distribution(latenciesMs: number[], seconds: number): Distribution {
  const s = [...latenciesMs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return {
    count: s.length,
    seconds,
    perSecond: s.length / seconds,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: s[s.length - 1] ?? NaN,
  };
}

/**
 * `workers` clients each sending `path` back to back for `seconds` (after a short warm-up):
 * the latency of every request, and the throughput.
 */
export async function closedLoop(
  url: string,
  path: string,
  token: string,
  workers: number,
  seconds: number,
  warmup = 1,
): Promise<Distribution & { latencies: number[] }> {
  const c = client(url, workers);
  const latencies: number[] = [];
  const start = performance.now();
  const measureFrom = start + warmup * 1000;
  const end = measureFrom + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const r = await c.request(path, { token });
      if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text.slice(0, 300)}`);
      const t1 = performance.now();
      if (t0 >= measureFrom) latencies.push(t1 - t0);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  await c.close();
  return { ...distribution(latencies, (performance.now() - measureFrom) / 1000), latencies };
}

/**
 * Requests at a fixed `rate` for `seconds`, as SIEMs arrive: each is sent at its scheduled time
 * whether or not earlier ones have answered (open loop), and its latency counts from that time, so
 * a stall is charged to every request it delayed (no coordinated omission). `connections` bounds
 * the sockets; a request waiting for one is waiting, and that counts too. Answers other than 200
 * are counted as errors.
 */
export async function openLoop(
  url: string,
  path: string,
  token: string,
  rate: number,
  seconds: number,
  connections = 256,
): Promise<Distribution & { rate: number; errors: number }> {
  const c = client(url, connections);
  try {
    return await openLoopWith(rate, seconds, async () => (await c.request(path, { token })).status === 200);
  } finally {
    await c.close();
  }
}

/**
 * The open loop of `openLoop` around any request: `send` is called at each scheduled time and
 * answers whether the request succeeded; a rejection counts as an error.
 */
export async function openLoopWith(
  rate: number,
  seconds: number,
  send: () => Promise<boolean>,
): Promise<Distribution & { rate: number; errors: number }> {
  const total = Math.max(1, Math.round(rate * seconds));
  const latencies: number[] = [];
  let errors = 0;
  const inFlight: Promise<void>[] = [];
  const start = performance.now() + 20;
  const sendAt = (due: number) =>
    send().then(
      (ok) => {
        if (!ok) errors++;
        else latencies.push(performance.now() - due);
      },
      () => {
        errors++;
      },
    );
  for (let i = 0; i < total; ) {
    const now = performance.now();
    // Every request due by now goes out now, late ones with their own due time.
    while (i < total && start + (i * 1000) / rate <= now) {
      inFlight.push(sendAt(start + (i * 1000) / rate));
      i++;
    }
    if (i < total) await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(5, start + (i * 1000) / rate - now))));
  }
  await Promise.all(inFlight);
  return { ...distribution(latencies, seconds), perSecond: latencies.length / seconds, rate, errors };
}
