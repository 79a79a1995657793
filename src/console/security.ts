import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import type { Deps } from '../deps.ts';

export const SESSION_COOKIE = 'vigil_session';
export const PRESESSION_COOKIE = 'vigil_presession';
export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** The origin pages are served from: PUBLIC_URL's when set (behind a proxy), else the request's. */
export function expectedOrigin(deps: Deps, c: Context): string {
  return new URL(deps.config.publicUrl ?? c.req.url).origin;
}

/**
 * A state-changing request must come from a console page: Sec-Fetch-Site, when sent, says
 * same-origin, and Origin, when sent, is ours; at least one of them must be there.
 */
export function sameOrigin(deps: Deps, c: Context): boolean {
  const site = c.req.header('sec-fetch-site');
  const origin = c.req.header('origin');
  if (site === undefined && origin === undefined) return false;
  if (site !== undefined && site !== 'same-origin') return false;
  if (origin !== undefined && origin !== expectedOrigin(deps, c)) return false;
  return true;
}

export function sameToken(given: unknown, expected: string | undefined): boolean {
  if (typeof given !== 'string' || !expected) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const secure = (deps: Deps) => deps.config.publicUrl?.startsWith('https:') ?? false;

export function setConsoleCookie(deps: Deps, c: Context, name: string, value: string): void {
  setCookie(c, name, value, { path: '/console', httpOnly: true, sameSite: 'Strict', secure: secure(deps) });
}

export function clearConsoleCookie(deps: Deps, c: Context, name: string): void {
  deleteCookie(c, name, { path: '/console', httpOnly: true, sameSite: 'Strict', secure: secure(deps) });
}

export function readCookie(c: Context, name: string): string | undefined {
  return getCookie(c, name);
}
