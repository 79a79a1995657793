// A console client over plain fetch: cookies by hand, the CSRF token read from the page, and
// the Origin header a browser sends on a form post.

export type ConsoleClient = { cookies: Map<string, string>; csrf: string };

export function cookieHeader(cookies: Map<string, string>): string {
  return [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
}

export function keepCookies(res: Response, cookies: Map<string, string>): void {
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq).trim();
    const value = pair!.slice(eq + 1).trim();
    if (value === '' || /max-age=0/i.test(line)) cookies.delete(name);
    else cookies.set(name, value);
  }
}

export const csrfOf = (page: string): string => /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';

export async function consoleGet(base: string, path: string, cookies: Map<string, string>): Promise<Response> {
  const res = await fetch(`${base}${path}`, { headers: { cookie: cookieHeader(cookies) }, redirect: 'manual' });
  keepCookies(res, cookies);
  return res;
}

export async function consolePost(
  base: string,
  path: string,
  cookies: Map<string, string>,
  form: Record<string, string> | FormData,
  headers: Record<string, string> = { origin: base, 'sec-fetch-site': 'same-origin' },
): Promise<Response> {
  const body = form instanceof FormData ? form : new URLSearchParams(form);
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    body,
    headers: { cookie: cookieHeader(cookies), ...headers },
    redirect: 'manual',
  });
  keepCookies(res, cookies);
  return res;
}

/** Signs in with a token as the sign-in form does; the client's CSRF token comes from the next page. */
export async function signIn(base: string, token: string): Promise<ConsoleClient> {
  const cookies = new Map<string, string>();
  const form = await consoleGet(base, '/console/signin', cookies);
  const res = await consolePost(base, '/console/signin', cookies, { _csrf: csrfOf(await form.text()), token });
  if (res.status !== 303) throw new Error(`sign-in: ${res.status} ${await res.text()}`);
  const page = await consoleGet(base, '/console/collections', cookies);
  return { cookies, csrf: csrfOf(await page.text()) };
}
