import { Hono } from 'hono';
import type { Deps } from '../deps.ts';
import { listApiRoots } from '../store/api-roots.ts';
import { requireApiRoot, requireAuthenticated } from '../services/access.ts';
import { TAXII_MEDIA_TYPE } from './media.ts';
import { taxiiJson } from './respond.ts';
import type { TaxiiEnv } from './env.ts';

export const DEFAULT_API_ROOT = 'default';

/** TAXII 2.1 §4.1 discovery and §4.2 API root information. */
export function discoveryRoutes(deps: Deps): Hono<TaxiiEnv> {
  const app = new Hono<TaxiiEnv>();
  const base = (origin: string) => deps.config.publicUrl ?? origin;

  app.get('/taxii2', async (c) => {
    requireAuthenticated(c.get('principal'));
    const roots = await listApiRoots(deps.database.db);
    const origin = base(new URL(c.req.url).origin);
    const urls = roots.map((r) => `${origin}/${r.name}/`);
    const fallback = roots.find((r) => r.name === DEFAULT_API_ROOT) ?? roots[0];
    return taxiiJson(c, {
      title: 'Vigil',
      description: 'A STIX 2.1 / TAXII 2.1 threat-intelligence exchange node',
      ...(fallback ? { default: `${origin}/${fallback.name}/` } : {}),
      ...(urls.length ? { api_roots: urls } : {}),
    });
  });

  app.get('/:root', async (c) => {
    requireAuthenticated(c.get('principal'));
    const root = await requireApiRoot(deps, c.req.param('root'));
    return taxiiJson(c, {
      title: root.title,
      ...(root.description ? { description: root.description } : {}),
      versions: [TAXII_MEDIA_TYPE],
      max_content_length: root.max_content_length,
    });
  });
  return app;
}
