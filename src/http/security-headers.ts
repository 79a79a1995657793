import type { Context, MiddlewareHandler } from 'hono';
import type { Config } from '../config.ts';

// The node's security headers, in one place: those on every answer, and the policies of the two
// HTML surfaces (the console, the API reference). Hono's secureHeaders is not used: its defaults
// (Referrer-Policy no-referrer, HSTS with includeSubDomains) would break the console's form posts
// and bind the operator's other hosts.

/** A year; no includeSubDomains or preload: those are the operator's to decide for the whole domain. */
export const HSTS = 'max-age=31536000';

/**
 * Every answer: nosniff, and HSTS when PUBLIC_URL is https (the node speaks plain HTTP to its
 * TLS proxy; a browser ignores HSTS over http, and without https PUBLIC_URL none is promised).
 */
export function securityHeaders(config: Pick<Config, 'publicUrl'>): MiddlewareHandler {
  const https = config.publicUrl?.startsWith('https:') ?? false;
  const set = (c: Context) => {
    c.header('X-Content-Type-Options', 'nosniff');
    if (https) c.header('Strict-Transport-Security', HSTS);
  };
  return async (c, next) => {
    // Set before the handler runs, so the answer it builds carries them without a copy (see
    // observe.ts); a handler that made its own Response gets them after.
    set(c);
    await next();
    if (!c.res.headers.has('X-Content-Type-Options')) set(c);
  };
}

// No inline script or style anywhere: the console's JS and CSS are files under /console/assets.
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

/** Every console answer, pages and assets alike. */
export function consoleHeaders(c: Context): void {
  c.header('Content-Security-Policy', CONSOLE_CSP);
  c.header('X-Frame-Options', 'DENY');
  // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on form posts.
  c.header('Referrer-Policy', 'same-origin');
  c.header('Cross-Origin-Opener-Policy', 'same-origin');
  c.header('Cross-Origin-Resource-Policy', 'same-origin');
}

// Scalar injects its styles at run time (hence 'unsafe-inline' for styles only), draws icons as
// data: images, and the "test request" client calls this origin's API (connect-src 'self').
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** The API reference page and its script. */
export function docsHeaders(c: Context): void {
  c.header('Content-Security-Policy', DOCS_CSP);
  c.header('Referrer-Policy', 'same-origin');
}
