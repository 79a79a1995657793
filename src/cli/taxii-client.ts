import { readFileSync } from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { z } from 'zod';
import { CliError } from './admin-client.ts';

// The TAXII 2.1 side of the node, as `vigil submit` and `vigil poll` use it: the same care as
// admin-client.ts (timeouts, no redirects, a size limit, exact statuses), TAXII media types,
// and zod checks on the parts of each answer the commands rely on.

const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1';
const MAX_ANSWER = 64 * 1024 * 1024;

const apiRoot = z.looseObject({ max_content_length: z.number().int().positive() });
const detail = z.looseObject({ id: z.string(), version: z.string().optional(), message: z.string().optional() });
const status = z.looseObject({
  id: z.string(),
  status: z.enum(['pending', 'complete']),
  total_count: z.number().int().nonnegative(),
  pending_count: z.number().int().nonnegative(),
  successes: z.array(detail).optional(),
  failures: z.array(detail).optional(),
  pendings: z.array(detail).optional(),
});
const envelope = z.looseObject({
  more: z.boolean().optional(),
  next: z.string().optional(),
  objects: z.array(z.looseObject({ id: z.string(), type: z.string() })).optional(),
});

export type TaxiiStatus = z.infer<typeof status>;
export type TaxiiEnvelope = z.infer<typeof envelope>;
export type ObjectsPage = { envelope: TaxiiEnvelope; dateAddedLast: string | undefined };

export type TaxiiClient = {
  maxContentLength(root: string): Promise<number>;
  addObjects(root: string, collection: string, envelopeText: string): Promise<TaxiiStatus>;
  getStatus(root: string, id: string): Promise<TaxiiStatus>;
  getObjects(root: string, collection: string, query: URLSearchParams): Promise<ObjectsPage>;
};

/** What main.ts knows of the environment; the token is found in the same order as for the admin API. */
export type ClientEnvironment = { ADMIN_TOKEN?: string | undefined; DATA_DIR: string };

export function clientToken(given: string | undefined, env: ClientEnvironment): string {
  const token = given ?? env.ADMIN_TOKEN;
  if (token) return token;
  const file = path.resolve(env.DATA_DIR, 'admin-token');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    throw new CliError(`no token: pass --token (a client's token or the admin token), set ADMIN_TOKEN, or run where ${file} exists`, 2);
  }
}

const seg = (s: string) => encodeURIComponent(s);

async function readLimited(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_ANSWER) throw new CliError(`the node answered with a body over ${MAX_ANSWER} octets`, 3);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeFailure(statusCode: number, text: string): string {
  try {
    const e = JSON.parse(text) as { title?: unknown; description?: unknown };
    if (e && typeof e.title === 'string') return `${statusCode} ${e.title}${typeof e.description === 'string' ? `: ${e.description}` : ''}`;
  } catch {
    // not an error resource: show the start of what came
  }
  return `${statusCode}${text ? `: ${text.slice(0, 200)}` : ''}`;
}

/** How often a request the node answered 429 or 503 with Retry-After is sent again, and the longest wait taken. */
const RETRIES = 5;
const RETRY_AFTER_MAX_SECONDS = 60;

/** The seconds of a Retry-After the CLI waits out (the node sends whole seconds), or undefined. */
function retryAfter(value: string | string[] | undefined): number | undefined {
  return typeof value === 'string' && /^\d+$/.test(value.trim()) ? Math.min(Number(value), RETRY_AFTER_MAX_SECONDS) : undefined;
}

/**
 * `notice`: where a wait before sending again is told (stderr). A 429 or a 503 with Retry-After
 * stored nothing (the node says so), so even a POST is sent again, up to RETRIES times: a node
 * taking in other large bodies (REQUEST_BYTES_IN_FLIGHT) answers a 503 until they are recorded.
 */
export function taxiiClient(
  baseUrl: string,
  token: string,
  timeoutMs = 60_000,
  notice: (message: string) => void = (message) => process.stderr.write(`${message}\n`),
): TaxiiClient {
  async function call<T>(method: 'GET' | 'POST', pathname: string, expected: number, schema: z.ZodType<T>, body?: string) {
    for (let attempt = 1; ; attempt++) {
      const answer = await send(method, pathname, body);
      const wait =
        answer.res.statusCode === 429 || answer.res.statusCode === 503 ? retryAfter(answer.res.headers['retry-after']) : undefined;
      if (wait === undefined || attempt > RETRIES) return checked(answer, method, pathname, expected, schema);
      notice(`${method} /${pathname}: ${describeFailure(answer.res.statusCode, answer.text)}; sending it again in ${wait} s`);
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    }
  }

  async function send(method: 'GET' | 'POST', pathname: string, body?: string) {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(new URL(pathname, `${baseUrl}/`), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: TAXII_MEDIA_TYPE,
          ...(body === undefined ? {} : { 'content-type': TAXII_MEDIA_TYPE }),
        },
        body,
        // A large POST is read whole and recorded before the node answers.
        headersTimeout: method === 'POST' ? Math.max(timeoutMs, 300_000) : timeoutMs,
        bodyTimeout: timeoutMs,
        // undici's request never follows redirects: a 3xx is reported, not obeyed.
      });
    } catch (err) {
      throw new CliError(`cannot reach the node at ${baseUrl}: ${(err as Error).message}`, 3);
    }
    let text: string;
    try {
      text = await readLimited(res.body);
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError(`the node at ${baseUrl} broke off its answer: ${(err as Error).message}`, 3);
    }
    return { res, text };
  }

  function checked<T>(
    { res, text }: Awaited<ReturnType<typeof send>>,
    method: string,
    pathname: string,
    expected: number,
    schema: z.ZodType<T>,
  ): { value: T; headers: typeof res.headers } {
    const where = `${method} /${pathname}`;
    if (res.statusCode !== expected) {
      const code = res.statusCode === 401 || res.statusCode === 403 ? 4 : 1;
      throw new CliError(`${where}: ${describeFailure(res.statusCode, text)}`, code);
    }
    const contentType = String(res.headers['content-type'] ?? '');
    if (!contentType.startsWith('application/taxii+json')) {
      throw new CliError(
        `${where}: the node answered ${res.statusCode} with ${contentType || 'no content type'}, not TAXII; is ${baseUrl} a Vigil node?`,
        3,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CliError(`${where}: the node answered ${res.statusCode} with a body that is not JSON`, 3);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new CliError(`${where}: unexpected answer from the node (${issue.path.join('.') || 'body'}: ${issue.message})`, 1);
    }
    return { value: parsed.data, headers: res.headers };
  }

  return {
    async maxContentLength(root) {
      return (await call('GET', `${seg(root)}/`, 200, apiRoot)).value.max_content_length;
    },
    async addObjects(root, collection, envelopeText) {
      return (await call('POST', `${seg(root)}/collections/${seg(collection)}/objects/`, 202, status, envelopeText)).value;
    },
    async getStatus(root, id) {
      return (await call('GET', `${seg(root)}/status/${seg(id)}/`, 200, status)).value;
    },
    async getObjects(root, collection, query) {
      const q = query.size ? `?${query}` : '';
      const { value, headers } = await call('GET', `${seg(root)}/collections/${seg(collection)}/objects/${q}`, 200, envelope);
      const last = headers['x-taxii-date-added-last'];
      return { envelope: value, dateAddedLast: typeof last === 'string' ? last : undefined };
    },
  };
}
