// The HTTP floor of a SIEM poll: node:http and pg, the raw page query of the SIEM rows, and the
// TAXII envelope around what it returns; no routing, authentication, TLP, paging token, audit
// or metrics. What it holds is what any Node server answering the same polls from the same
// PostgreSQL could hold on this machine, so that a SIEM row shows how much of the gap to raw
// PostgreSQL is the node's own work. A child process like the node's, with the node's V8 flags;
// it answers its URL on the IPC channel once it listens.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';

const url = process.env.FLOOR_DATABASE_URL;
if (!url) throw new Error('floor-server.ts: FLOOR_DATABASE_URL names the schema-scoped database');
// As many sessions as the node's pool, kept open as its are (src/store/database.ts).
const pool = new pg.Pool({ connectionString: url, max: 10, idleTimeoutMillis: 0 });
const OBJECTS = /^\/[^/]+\/collections\/([^/]+)\/objects\/$/;
const TAXII = 'application/taxii+json;version=2.1';

const server = http.createServer((req, res) => {
  const u = new URL(req.url ?? '/', 'http://floor');
  const collection = OBJECTS.exec(u.pathname)?.[1];
  const after = u.searchParams.get('added_after');
  const limit = Number(u.searchParams.get('limit') ?? 100);
  if (!collection || !after) {
    res.writeHead(404).end();
    return;
  }
  pool
    .query<{ json: string }>(
      'SELECT object::text AS json FROM objects WHERE collection_id = $1 AND date_added > $2::timestamptz ORDER BY date_added LIMIT $3',
      [collection, after, limit],
    )
    .then(
      ({ rows }) => {
        const body = rows.length === 0 ? '{}' : `{"more":false,"objects":[${rows.map((r) => r.json).join(',')}]}`;
        res.writeHead(200, { 'content-type': TAXII }).end(body);
      },
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(err.message),
    );
});

server.listen(0, '127.0.0.1', () => process.send?.({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
process.on('disconnect', () => {
  server.close();
  void pool.end().then(() => process.exit(0));
});
