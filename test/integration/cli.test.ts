import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, TAXII, onPostgres, startTestNode, testSchema } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { adminJson } from '../support/stix.ts';

// The vigil command, run as a real child process against a node on loopback.
// Exit codes: 0 ok, 1 refused by the node, 2 usage or configuration, 3 unreachable, 4 not authorised.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'vigil.js');

type Run = { code: number; stdout: string; stderr: string };

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => node?.stop());

/** Runs `vigil …args` on the Node running this test (Node 24), against the test node by default. */
function vigil(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const full: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, VIGIL_URL: node.url, ADMIN_TOKEN, ...env })) if (v !== undefined) full[k] = v;
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: full, timeout: 90_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      const killed = err?.killed ? `\n(killed after 90 s: ${err.signal})` : '';
      resolve({ code, stdout: String(stdout), stderr: String(stderr) + killed });
    });
  });
}

function expectOk(r: Run): void {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
}

/** A TCP port on loopback that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.concurrent('help', () => {
  it('describes the program and its commands (exit 0)', async () => {
    const r = await vigil(['--help']);
    expectOk(r);
    expect(r.stdout).toContain('Usage: vigil');
    for (const command of ['migrate', 'api-root', 'collection', 'client']) expect(r.stdout).toContain(command);
  });

  it('describes a subcommand and its options (exit 0)', async () => {
    const r = await vigil(['collection', 'create', '--help']);
    expectOk(r);
    expect(r.stdout).toContain('Usage: vigil collection create');
    expect(r.stdout).toContain('--api-root');
    expect(r.stdout).toContain('--title');
  });
});

describe.concurrent('API roots and collections', () => {
  it('creates and lists API roots, in words and as JSON', async () => {
    const name = `cli-${randomUUID().slice(0, 8)}`;
    const created = await vigil(['api-root', 'create', name, '--title', 'From the CLI', '--max-content-length', '2048']);
    expectOk(created);
    expect(created.stdout).toContain(name);
    expect(await adminJson(node, 'GET', `/admin/api-roots/${name}`)).toMatchObject({
      name,
      title: 'From the CLI',
      max_content_length: 2048,
    });

    const [text, json] = await Promise.all([vigil(['api-root', 'list']), vigil(['--json', 'api-root', 'list'])]);
    expectOk(text);
    expect(text.stdout).toContain(name);
    expectOk(json);
    expect(JSON.parse(json.stdout).api_roots).toContainEqual(expect.objectContaining({ name, title: 'From the CLI' }));
  });

  it('creates and lists collections; --json works after the subcommand too', async () => {
    const created = await vigil([
      'collection',
      'create',
      '--api-root',
      'default',
      '--title',
      'CLI collection',
      '--alias',
      'cli-alias',
      '--json',
    ]);
    expectOk(created);
    const col = JSON.parse(created.stdout);
    expect(col).toMatchObject({ api_root: 'default', title: 'CLI collection', alias: 'cli-alias' });
    const taxii = await node.request(`/default/collections/${col.id}/`);
    expect(taxii.status).toBe(200);

    const [text, json] = await Promise.all([
      vigil(['collection', 'list', '--api-root', 'default']),
      vigil(['collection', 'list', '--json']),
    ]);
    expectOk(text);
    expect(text.stdout).toContain(col.id);
    expectOk(json);
    expect(JSON.parse(json.stdout).collections.map((c: any) => c.id)).toContain(col.id);
  });
});

describe.concurrent('clients', () => {
  it('prints a new client token once, and that token works on TAXII', async () => {
    const col = await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: 'for a CLI client' });
    const name = `cli-${randomUUID().slice(0, 8)}`;
    const r = await vigil(['client', 'create', name, '--read', col.id]);
    expectOk(r);
    const token = /token[^:]*:\s*(\S+)/.exec(r.stdout)?.[1];
    expect(token, r.stdout).toBeDefined();
    expect(r.stdout.split(token!).length - 1).toBe(1);

    const res = await node.request(`/default/collections/${col.id}/`, { token: token! });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ can_read: true, can_write: false });

    const list = await vigil(['client', 'list', '--json']);
    expectOk(list);
    expect(list.stdout).not.toContain(token!);
    expect(JSON.parse(list.stdout).clients.map((c: any) => c.name)).toContain(name);
  });

  it('gives the token in --json output of client create', async () => {
    const r = await vigil(['--json', 'client', 'create', `cli-${randomUUID().slice(0, 8)}`]);
    expectOk(r);
    const v = JSON.parse(r.stdout);
    expect(v.token).toEqual(expect.any(String));
    expect((await node.request('/taxii2/', { token: v.token })).status).toBe(200);
  });

  it('grants and revokes rights on a collection', async () => {
    const col = await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title: 'granted by CLI' });
    const c = await adminJson(node, 'POST', '/admin/clients', { name: `cli-${randomUUID().slice(0, 8)}` });
    const grant = await vigil(['client', 'grant', c.id, col.id, '--read', '--write']);
    expectOk(grant);
    expect((await adminJson(node, 'GET', `/admin/clients/${c.id}`)).grants).toEqual([
      { collection_id: col.id, can_read: true, can_write: true },
    ]);
    const taxii = await node.request(`/default/collections/${col.id}/`, { token: c.token, headers: { accept: TAXII } });
    expect(taxii.status).toBe(200);

    const revoke = await vigil(['--json', 'client', 'revoke', c.id, col.id]);
    expectOk(revoke);
    expect(JSON.parse(revoke.stdout).grants).toEqual([]);
    expect((await node.request(`/default/collections/${col.id}/`, { token: c.token })).status).toBe(404);
  });
});

describe.concurrent('failures and exit codes', () => {
  it('exits 1 with the node’s message on stderr when the node refuses the request', async () => {
    const r = await vigil(['api-root', 'create', 'default', '--title', 'again']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('409');
    expect(r.stderr).toContain("API root 'default' already exists");
    expect(r.stdout).toBe('');
  });

  it('exits 1 naming the field when the node finds the request invalid', async () => {
    const r = await vigil(['client', 'create', 'admin']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/400 .*name/);
  });

  it('exits 4 on a wrong admin token, and on a client token', async () => {
    const wrong = await vigil(['api-root', 'list'], { ADMIN_TOKEN: 'not-the-admin-token-0123456789' });
    expect(wrong.code, wrong.stderr).toBe(4);
    expect(wrong.stderr).toContain('401');
    const c = await adminJson(node, 'POST', '/admin/clients', { name: `cli-${randomUUID().slice(0, 8)}` });
    const client = await vigil(['api-root', 'list', '--token', c.token]);
    expect(client.code, client.stderr).toBe(4);
    expect(client.stderr).toContain('403');
  });

  it('exits 3 when the node cannot be reached', async () => {
    const r = await vigil(['api-root', 'list'], { VIGIL_URL: `http://127.0.0.1:${await closedPort()}` });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('cannot reach');
  });

  it.each([
    [['no-such-command']],
    [['api-root', 'create', 'x']],
    [['collection', 'create', '--title', 'no root']],
    [['client', 'grant', 'only-one-argument']],
    [['api-root', 'list', '--no-such-option']],
    [['api-root', 'create', 'x', '--title', 't', '--max-content-length', 'lots']],
  ])('exits 2 on bad usage: vigil %j', async (args) => {
    const r = await vigil(args);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(2);
    expect(r.stderr.length).toBeGreaterThan(0);
  });

  it('exits 2 on a bad environment (VIGIL_URL not a URL, ADMIN_TOKEN too short)', async () => {
    const [url, token] = await Promise.all([
      vigil(['api-root', 'list'], { VIGIL_URL: 'not a url' }),
      vigil(['api-root', 'list'], { ADMIN_TOKEN: 'short' }),
    ]);
    expect(url.code, url.stderr).toBe(2);
    expect(url.stderr).toContain('VIGIL_URL');
    expect(token.code, token.stderr).toBe(2);
    expect(token.stderr).toContain('ADMIN_TOKEN');
  });
});

describe.concurrent('migrate', () => {
  // On the suite's database: a fresh schema on the PostgreSQL server, or a fresh PGlite directory.
  it(`applies 0001_init.sql to a fresh ${onPostgres ? 'PostgreSQL schema' : 'PGlite database'}, then finds it up to date`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-cli-'));
    const schema = onPostgres ? await testSchema(process.env.TEST_DATABASE_URL!) : undefined;
    try {
      const env = { DATABASE_URL: schema?.url, DATA_DIR: dir, VIGIL_URL: undefined, LOG_LEVEL: 'silent' };
      const first = await vigil(['migrate'], env);
      expectOk(first);
      expect(first.stdout).toContain('applied');
      expect(first.stdout).toContain('0001_init.sql');
      const second = await vigil(['migrate'], env);
      expectOk(second);
      expect(second.stdout).toContain('up to date');
      expect(second.stdout).not.toContain('0001_init.sql');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await schema?.drop();
    }
  }, 200_000); // two PGlite CLI runs, 8.5 and 5 s alone (CPU-bound): one passed 30 s while CI's 3 workers shared 2 cores
});
