import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { Hono } from 'hono';
import type { Deps } from '../deps.ts';
import { openApiDocument } from './openapi.ts';
import { docsHeaders } from './security-headers.ts';

// GET /openapi.json and the reference page at /docs (Scalar). Public: documentation reveals no
// data. The page works offline (hospital networks): Scalar's browser bundle is served from the
// node itself, and the CSP lets the page reach nothing but this origin.

// The bundle is vendored (vendor/scalar/, see its README): the npm package would bring 250-odd
// runtime packages to every node for this one file. source.json names its version.
const SCALAR_BUNDLE = new URL('../../vendor/scalar/standalone.js', import.meta.url);
const SCALAR_SOURCE = new URL('../../vendor/scalar/source.json', import.meta.url);

type Asset = { raw: Buffer; gzip: Buffer };
let scalarBundle: Promise<Asset> | undefined;

/** Read and compressed once per process, on first use: createApp does no I/O, and tests that never open /docs pay nothing. */
function loadScalar(): Promise<Asset> {
  scalarBundle ??= readFile(SCALAR_BUNDLE).then((raw) => ({ raw, gzip: gzipSync(raw, { level: 9 }) }));
  return scalarBundle;
}

// Everything that would leave the node switched off: telemetry, the hosted fonts, Scalar's request
// proxy and its services, the AI agent and MCP. Passed as the script tag's data-configuration:
// Scalar's documented way for the standalone bundle, which needs no inline script.
const CONFIGURATION = JSON.stringify({
  telemetry: false,
  withDefaultFonts: false,
  proxyUrl: '',
  agent: { disabled: true },
  mcp: { disabled: true },
  showDeveloperTools: 'never',
  hideClientButton: false,
  documentDownloadType: 'json',
})
  .replaceAll('&', '&amp;')
  .replaceAll("'", '&#39;');

const page = (version: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vigil API reference</title>
</head>
<body>
<script id="api-reference" data-url="/openapi.json" data-configuration='${CONFIGURATION}'></script>
<script src="/docs/scalar.js?v=${version}"></script>
</body>
</html>
`;

// The page names the bundle with Scalar's version, so a year of caching is safe across upgrades.
const IMMUTABLE = 'public, max-age=31536000, immutable';

export function apiDocsRoutes(deps: Deps): Hono {
  const app = new Hono({ strict: false });
  let document: string | undefined;
  let html: string | undefined;

  app.get('/openapi.json', (c) => {
    document ??= JSON.stringify(openApiDocument({ publicUrl: deps.config.publicUrl }));
    c.header('Cache-Control', 'no-cache');
    return c.body(document, 200, { 'Content-Type': 'application/json; charset=utf-8' });
  });
  app.get('/docs', (c) => {
    docsHeaders(c);
    c.header('Cache-Control', 'no-cache');
    html ??= page(JSON.parse(readFileSync(SCALAR_SOURCE, 'utf8')).version);
    return c.html(html);
  });
  app.get('/docs/scalar.js', async (c) => {
    const asset = await loadScalar();
    docsHeaders(c);
    c.header('Cache-Control', IMMUTABLE);
    c.header('Vary', 'Accept-Encoding');
    c.header('Content-Type', 'text/javascript; charset=utf-8');
    if (/\bgzip\b/.test(c.req.header('accept-encoding') ?? '')) {
      c.header('Content-Encoding', 'gzip');
      return c.body(new Uint8Array(asset.gzip));
    }
    return c.body(new Uint8Array(asset.raw));
  });
  return app;
}
