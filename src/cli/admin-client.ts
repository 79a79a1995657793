import { request } from 'undici';

export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** A call to the admin or alert API; `T` names the answer's shape (see answers.ts), which the node decides. */
export type AdminClient = <T = unknown>(method: string, path: string, body?: unknown) => Promise<T>;

/**
 * The admin API over HTTP: a timeout, no redirects, a size limit on the answer and an exact
 * status check; an error resource from the node becomes its description.
 */
export function adminClient(baseUrl: string, token: string, timeoutMs = 30_000): AdminClient {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(new URL(path, `${baseUrl}/`), {
        method: method as 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
        headers: { authorization: `Bearer ${token}`, accept: 'application/json', 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        // undici's request never follows redirects: a 3xx is reported, not obeyed.
      });
    } catch (err) {
      throw new CliError(`cannot reach the node at ${baseUrl}: ${(err as Error).message}`, 3);
    }
    const text = await res.body.text();
    if (text.length > 64 * 1024 * 1024) throw new CliError('the node answered with an oversized body', 3);
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new CliError(`the node answered ${res.statusCode} with a body that is not JSON`, 3);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return json as T;
    const e = (json ?? {}) as { title?: string; description?: string };
    throw new CliError(
      `${res.statusCode} ${e.title ?? 'error'}: ${e.description ?? text}`,
      res.statusCode === 401 || res.statusCode === 403 ? 4 : 1,
    );
  };
}
