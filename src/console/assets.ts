import { readFileSync } from 'node:fs';
import { Hono } from 'hono';

// The console's only script and style sheet, served as files so the CSP needs no 'unsafe-inline'.
const ASSETS: Record<string, string> = {
  'console.css': 'text/css; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
};

const cache = new Map<string, string>();

/** Read on first request, not on import; kept in memory after (they are a few kilobytes). */
function asset(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');
    cache.set(name, text);
  }
  return text;
}

export function assetRoutes(): Hono {
  const app = new Hono();
  app.get('/:name', (c, next) => {
    const name = c.req.param('name');
    const type = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!type) return next();
    return c.body(asset(name), 200, { 'Content-Type': type, 'Cache-Control': 'public, max-age=300' });
  });
  return app;
}
