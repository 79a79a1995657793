// The HTTP floor of a SIEM poll: node:http and pg, the raw page query of the SIEM rows, and the
// TAXII envelope around what it returns; no routing, authentication, TLP, paging token, audit
// or metrics. What it holds is what any Node server answering the same polls from the same
// PostgreSQL could hold on this machine, so that a SIEM row shows how much of the gap to raw
// PostgreSQL is the node's own work. A child process like the node's, with the node's V8 flags;
// it answers its URL on the IPC channel once it listens.
//
// The ingest floor, the same way: a POSTed envelope's objects each parsed and validated as the
// node validates them (every input through its schema), then stored by the raw ingest's own
// statement (bulk.ts) in its own copy of the table; no origin signature, TLP, stamps, status or
// feed values.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { objectSpans } from '../../src/stix/object-spans.ts';
import { validateStixObject } from '../../src/stix/validate.ts';
import { FLOOR_TABLE, rawInsertStatement } from './bulk.ts';

const url = process.env.FLOOR_DATABASE_URL;
if (!url) throw new Error('floor-server.ts: FLOOR_DATABASE_URL names the schema-scoped database');
// As many sessions as the node's pool, kept open as its are (src/store/database.ts).
const pool = new pg.Pool({ connectionString: url, max: 10, idleTimeoutMillis: 0 });
const OBJECTS = /^\/[^/]+\/collections\/([^/]+)\/objects\/$/;
const TAXII = 'application/taxii+json;version=2.1';

/** Parses and validates each object of a POSTed envelope, and stores the valid ones in one statement. */
async function ingest(req: http.IncomingMessage, res: http.ServerResponse, collection: string): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const valid: string[] = [];
  for (const span of (await objectSpans(body)) ?? []) {
    const text = body.toString('utf8', span.start, span.end);
    if (validateStixObject(JSON.parse(text)).ok) valid.push(text);
  }
  // Level and references as the raw ingest's documents would carry them: no policy is applied here.
  await pool.query(rawInsertStatement(FLOOR_TABLE), [collection, JSON.stringify(valid.map((text) => [text, 0, []]))]);
  res.writeHead(202, { 'content-type': TAXII }).end(JSON.stringify({ status: 'complete', success_count: valid.length }));
}

const server = http.createServer((req, res) => {
  const u = new URL(req.url ?? '/', 'http://floor');
  const collection = OBJECTS.exec(u.pathname)?.[1];
  if (collection && req.method === 'POST') {
    ingest(req, res, collection).catch((err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(err.message));
    return;
  }
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
