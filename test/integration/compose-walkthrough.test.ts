import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulateCompose } from '../support/compose-emulation.ts';
import type { ComposeEmulation } from '../support/compose-emulation.ts';
import { shellSession } from '../support/shell-session.ts';
import type { ShellSession, SnippetResult } from '../support/shell-session.ts';

// Issue 4, "Deployment": docker-compose.yml's three nodes, federated A ← B ← C by the walkthrough
// of docs/operating.md. There is no Docker engine here, so the compose file is emulated
// (test/support/compose-emulation.ts says exactly what stands in for Docker): each node is a
// real process with the compose file's environment, on an address of its own, and the guide's
// shell block runs, paragraph by paragraph, in one bash session whose `docker compose` runs
// commands as in the nodes' containers and whose `curl` reaches the published ports.

const REPO = path.resolve(new URL('../..', import.meta.url).pathname);
const read = (file: string) => readFileSync(path.join(REPO, file), 'utf8');
const pgUrl = process.env.TEST_DATABASE_URL;

const GREEN = 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da';
const AMBER = 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82';

/** The operating guide's compose walkthrough: its shell block, in paragraphs. */
function walkthrough(): string[] {
  const guide = read('docs/operating.md');
  const section = guide.slice(guide.indexOf('## Docker Compose: a federation of three nodes'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('docs/operating.md: no shell block under "Docker Compose: a federation of three nodes"');
  return block
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean);
}

/** Top-level JSON values printed one after another (jq -c lines, `vigil --json` documents). */
function jsonValues(text: string): any[] {
  const values: any[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') {
      if (depth++ === 0) start = i;
    } else if ((ch === '}' || ch === ']') && --depth === 0) values.push(JSON.parse(text.slice(start, i + 1)));
  }
  return values;
}

const indicatorIn = (file: string) =>
  (JSON.parse(read(file)) as { objects: { id: string; name: string; object_marking_refs: string[] }[] }).objects[0]!;

const paragraphs = walkthrough();
/** The paragraph holding `text` (the walkthrough's steps, found by what they do). */
const step = (text: string) => {
  const found = paragraphs.filter((p) => p.includes(text));
  if (found.length !== 1) throw new Error(`compose walkthrough: ${found.length} paragraphs hold ${text}`);
  return found[0]!;
};
const intervals = [...paragraphs.join('\n').matchAll(/--interval (\d+)/g)].map((m) => Number(m[1]));

describe(`docker-compose.yml and the operating guide's walkthrough, without Docker (${pgUrl ? 'PostgreSQL' : 'PGlite standing in for PostgreSQL'})`, () => {
  let compose: ComposeEmulation;
  let shell: ShellSession;
  const green = indicatorIn('deploy/indicator-green.json');
  const amber = indicatorIn('deploy/indicator-amber.json');

  /** Runs a walkthrough paragraph; it must succeed with nothing on stderr. */
  const run = async (snippet: string): Promise<SnippetResult> => {
    const r = await shell.run(snippet);
    const logs = Object.values(compose.services)
      .map((s) => s.node.output())
      .join('\n');
    expect({ code: r.code, stderr: r.stderr }, `${snippet}\n--- stdout:\n${r.stdout}\n--- node logs:\n${logs.slice(-8000)}`).toEqual({
      code: 0,
      stderr: '',
    });
    return r;
  };
  const names = (r: SnippetResult) => r.stdout.split('\n').filter(Boolean);
  const token = (service: string) => readFileSync(compose.services[service]!.hostPath('/data/admin-token'), 'utf8').trim();
  /** The admin API of a node, as its admin, over its container's address. */
  const admin = async (service: string, pathname: string): Promise<any> => {
    const s = compose.services[service]!;
    const res = await fetch(`http://${s.address}:${s.config.port}${pathname}`, { headers: { authorization: `Bearer ${token(service)}` } });
    expect(res.status, `${service} ${pathname}`).toBe(200);
    return res.json();
  };

  beforeAll(async () => {
    compose = await emulateCompose(pgUrl ? { testDatabaseUrl: pgUrl } : {});
    shell = shellSession({ cwd: REPO, env: compose.shellEnv });
  }, 150_000);

  afterAll(async () => {
    await shell?.close();
    await compose?.stop();
  }, 30_000);

  it('runs the three nodes of the compose file, each with its public URL and a database of its own', async () => {
    expect(compose.database).toBe(pgUrl ? 'postgres' : 'pglite');
    const databases = new Set<string>();
    for (const [name, s] of Object.entries(compose.services)) {
      if (pgUrl) {
        // Its database (made by the init script, renamed for this run) holds its tables.
        const url = new URL(s.config.databaseUrl!);
        url.hostname = new URL(pgUrl).hostname;
        const db = new pg.Client({ connectionString: url.toString() });
        await db.connect();
        const tables = await db.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'objects'`);
        await db.end();
        expect(tables.rows[0].n, name).toBe(1);
        databases.add(url.pathname);
      } else expect(s.config.databaseUrl, name).toBeUndefined();
      const jwks: any = await (await fetch(`http://${s.address}:${s.config.port}/.well-known/jwks.json`)).json();
      expect(jwks.keys.length, name).toBeGreaterThan(0);
      const discovery = await fetch(`http://${s.address}:${s.config.port}/taxii2/`, {
        headers: { accept: 'application/taxii+json;version=2.1', authorization: `Bearer ${token(name)}` },
      });
      expect(((await discovery.json()) as { default?: string }).default, name).toBe(`${s.config.publicUrl}/default/`);
    }
    expect(Object.keys(compose.services).sort()).toEqual(['vigil-a', 'vigil-b', 'vigil-c']);
    if (pgUrl) expect(databases.size).toBe(3);
  });

  it('sets the federation up with the walkthrough’s commands, each succeeding', async () => {
    expect(green.object_marking_refs).toEqual([GREEN]);
    expect(amber.object_marking_refs).toEqual([AMBER]);
    expect(paragraphs[0]).toMatch(/^docker compose up /);
    await run(paragraphs[0]!); // up --wait: every node's health check passes; the helpers
    for (const p of [step('# C: '), step('# B: '), step('# A: ')]) await run(p);
    // What the commands made, read back from the nodes: A pulls B, B pulls C, by their compose names.
    const sources = async (name: string) => (await admin(name, '/admin/sources')).sources;
    expect(await sources('vigil-a')).toMatchObject([{ peer_node_id: 'node-b', consecutive_failures: 0 }]);
    expect(await sources('vigil-b')).toMatchObject([{ peer_node_id: 'node-c', consecutive_failures: 0 }]);
    expect(await sources('vigil-c')).toEqual([]);
  }, 180_000); // 35 s in one CI run, past 60 s in another: each command starts a Node process

  it('brings the GREEN indicator submitted at C to A within two pull intervals; the AMBER one to B only', async () => {
    expect(new Set(intervals).size, 'one pull interval in the walkthrough').toBe(1);
    const interval = intervals[0]! * 1000;
    const tick = Math.max(...Object.values(compose.services).map((s) => s.config.pullTickMs));
    // Two hops, each due within an interval and found within a tick; 3 s for starting processes.
    const deadline = 2 * (interval + tick) + 3000;

    const submit = step('-X POST');
    expect(submit.indexOf('amber'), 'AMBER submitted first').toBeLessThan(submit.indexOf('green'));
    const submitted = await run(submit);
    expect(jsonValues(submitted.stdout)).toEqual([
      { status: 'complete', success_count: 1 },
      { status: 'complete', success_count: 1 },
    ]);
    const t0 = Date.now();
    const atA = step('127.0.0.1:8000/default/collections/$CA/objects/');
    let seen: string[] = [];
    while (!seen.includes(green.name)) {
      if (Date.now() - t0 > deadline) {
        const pulls = await Promise.all(
          ['vigil-b', 'vigil-a'].map(async (n) => `${n}: ${JSON.stringify((await admin(n, '/admin/sources')).sources)}`),
        );
        expect.fail(`GREEN not at A within ${deadline} ms; A holds ${JSON.stringify(seen)}\n${pulls.join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 250));
      seen = names(await run(atA));
    }
    console.info(`GREEN from C at A in ${Date.now() - t0} ms (pull interval ${interval} ms, tick ${tick} ms)`);
    // AMBER was submitted first: B held it when A pulled GREEN from B, and did not serve it.
    expect(names(await run(step('127.0.0.1:8001/default/collections/$CB/objects/'))).sort()).toEqual([amber.name, green.name].sort());
    expect(names(await run(atA))).toEqual([green.name]);
  }, 60_000);

  it('shows A’s pulls healthy and its GREEN indicator from node-b, originated by node-c, unverified', async () => {
    const [list, object] = jsonValues((await run(step('V a source list'))).stdout);
    expect(list.sources).toMatchObject([
      { peer_node_id: 'node-b', interval_seconds: intervals[0], consecutive_failures: 0, last_error: null },
    ]);
    expect(object.versions).toMatchObject([{ received_from: 'node-b', origin_node: 'node-c', origin_verified: false }]);
    expect(step('V a collection object')).toContain(green.id);
  });
});
