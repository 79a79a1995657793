import { Pool } from 'undici';
import type { Dispatcher } from 'undici';

// The outbound side of federation: one keep-alive pool per peer origin, every request with
// connect, headers and body timeouts, a size limit enforced while the body streams in, no
// redirects (undici's request never follows them) and an exact status check by the caller.

export type Limits = { connectTimeoutMs: number; headersTimeoutMs: number; bodyTimeoutMs: number; maxBytes: number };

export const DEFAULT_LIMITS: Limits = {
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 60_000,
  maxBytes: 64 * 1024 * 1024,
};

export type PeerErrorCode = 'unreachable' | 'timeout' | 'too-large' | 'connection-lost' | 'http-status';

/** A failed exchange with a peer, by stable code. */
export class PeerRequestError extends Error {
  override name = 'PeerRequestError';
  readonly code: PeerErrorCode;
  constructor(code: PeerErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export type PeerResponse = { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer };

export type PeerClients = {
  get(url: string, headers: Record<string, string>, limits?: Partial<Limits>): Promise<PeerResponse>;
  /** A POST with a body (MISP's restSearch), under the same limits. */
  post(url: string, headers: Record<string, string>, body: string, limits?: Partial<Limits>): Promise<PeerResponse>;
  close(): Promise<void>;
  /** Aborts whatever is in flight (shutdown): a stuck peer must not hold the node up. */
  destroy(): Promise<void>;
};

function classify(err: unknown): PeerRequestError {
  if (err instanceof PeerRequestError) return err;
  const code = (err as { code?: string }).code ?? '';
  const message = (err as Error).message;
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
    return new PeerRequestError('timeout', message);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EAI_AGAIN') {
    return new PeerRequestError('unreachable', `${code}: ${message}`);
  }
  return new PeerRequestError('connection-lost', `${code || 'error'}: ${message}`);
}

async function readLimited(body: Dispatcher.ResponseData['body'], maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      body.destroy();
      throw new PeerRequestError('too-large', `the answer is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function createPeerClients(defaults: Limits = DEFAULT_LIMITS): PeerClients {
  const pools = new Map<string, Pool>();
  const poolFor = (origin: string, connectTimeoutMs: number) => {
    let pool = pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: 4, connect: { timeout: connectTimeoutMs }, keepAliveTimeout: 30_000 });
      pools.set(origin, pool);
    }
    return pool;
  };
  const send = async (
    method: 'GET' | 'POST',
    url: string,
    headers: Record<string, string>,
    body: string | undefined,
    over: Partial<Limits>,
  ) => {
    const limits = { ...defaults, ...over };
    const target = new URL(url);
    try {
      const res = await poolFor(target.origin, limits.connectTimeoutMs).request({
        method,
        path: `${target.pathname}${target.search}`,
        headers,
        ...(body !== undefined ? { body } : {}),
        headersTimeout: limits.headersTimeoutMs,
        bodyTimeout: limits.bodyTimeoutMs,
      });
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > limits.maxBytes) {
        res.body.destroy();
        throw new PeerRequestError('too-large', `the answer declares ${declared} bytes, more than ${limits.maxBytes}`);
      }
      return { status: res.statusCode, headers: res.headers, body: await readLimited(res.body, limits.maxBytes) };
    } catch (err) {
      throw classify(err);
    }
  };
  return {
    get: (url, headers, over = {}) => send('GET', url, headers, undefined, over),
    post: (url, headers, body, over = {}) => send('POST', url, headers, body, over),
    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((p) => p.close().catch(() => p.destroy())));
    },
    async destroy() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((p) => p.destroy().catch(() => {})));
    },
  };
}
