import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { runVigil } from '../support/cli.ts';
import { adminJson } from '../support/stix.ts';

// Where a caller's devices find the lists (docs/feeds.md): GET /feeds/, `vigil feed urls` and what
// `vigil client create --feed` prints. Built from PUBLIC_URL; only collections the caller may
// read; never a token in a URL.

const PUBLIC = 'https://cti.example.org';
const LISTS = ['ipv4', 'ipv6', 'domain', 'url', 'sha256', 'md5'];
const urlsOf = (col: string) => ({
  ...Object.fromEntries(LISTS.map((k) => [k, `${PUBLIC}/feeds/${col}/${k}.txt`])),
  csv: `${PUBLIC}/feeds/${col}/indicators.csv`,
});

let node: TestNode;
let readable: string;
let writable: string;
let other: string;
let reader: { id: string; token: string };
let fw: { id: string; token: string };

beforeAll(async () => {
  node = await startTestNode({ PUBLIC_URL: PUBLIC });
  const collection = async (title: string) => (await adminJson(node, 'POST', '/admin/collections', { api_root: 'default', title })).id;
  [readable, writable, other] = [await collection('Readable'), await collection('Writable only'), await collection('Not granted')];
  reader = await adminJson(node, 'POST', '/admin/clients', {
    name: 'soc',
    grants: [
      { collection_id: readable, can_read: true, can_write: false },
      { collection_id: writable, can_read: false, can_write: true },
    ],
  });
  fw = await adminJson(node, 'POST', '/admin/clients', {
    name: 'fw',
    kind: 'feed',
    grants: [{ collection_id: readable, can_read: true, can_write: false }],
  });
});
afterAll(async () => node?.stop());

const feeds = async (query: string, token: string | null) => {
  const res = await node.request(`/feeds/${query}`, { token, headers: { accept: 'application/json' } });
  return { status: res.status, body: (await res.json()) as { feeds: { collection_id: string }[] } };
};

describe('GET /feeds/', () => {
  it('gives a client the seven lists of each collection it may read, from PUBLIC_URL, and no others', async () => {
    const { status, body } = await feeds('', reader.token);
    expect(status).toBe(200);
    expect(body).toEqual({ feeds: [{ collection_id: readable, api_root: 'default', title: 'Readable', urls: urlsOf(readable) }] });
    expect((await feeds(`?collection=${readable}`, reader.token)).body.feeds).toHaveLength(1);
    for (const col of [writable, other]) expect((await feeds(`?collection=${col}`, reader.token)).status, col).toBe(404);
    expect((await feeds('?collection=not-a-uuid', reader.token)).status).toBe(400);
  });

  it("answers a feed client, with its token in the header or in the URL, and the admin every collection's", async () => {
    expect((await feeds('', fw.token)).body.feeds.map((f) => f.collection_id)).toEqual([readable]);
    expect((await feeds(`?token=${fw.token}`, null)).body.feeds.map((f) => f.collection_id)).toEqual([readable]);
    const all = (await feeds('', ADMIN_TOKEN)).body.feeds.map((f) => f.collection_id);
    expect(all).toEqual(expect.arrayContaining([readable, writable, other]));
  });

  it('refuses a caller without credentials, and a client token in the URL', async () => {
    expect((await feeds('', null)).status).toBe(401);
    expect((await feeds(`?token=${reader.token}`, null)).status).toBe(401);
  });
});

describe('the vigil command', () => {
  const vigil = (args: string[], token: string) => runVigil(['--token', token, ...args], { env: { VIGIL_URL: node.url } });

  it('prints the feed URLs of the collections the caller may read, and how a device sends its token', async () => {
    const r = await vigil(['feed', 'urls'], reader.token);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Readable (${readable})\n  ipv4    ${PUBLIC}/feeds/${readable}/ipv4.txt\n`);
    expect(r.stdout).toContain(`  csv     ${PUBLIC}/feeds/${readable}/indicators.csv\n`);
    expect(r.stdout).toContain('?token=<your feed token>');
    expect(r.stdout).not.toContain(writable);
    expect(r.stdout).not.toContain(reader.token);
    const one = JSON.parse((await vigil(['--json', 'feed', 'urls', '--collection', readable], ADMIN_TOKEN)).stdout);
    expect(one.feeds).toEqual([expect.objectContaining({ collection_id: readable, urls: urlsOf(readable) })]);
    expect((await vigil(['feed', 'urls', '--collection', writable], reader.token)).code).toBe(1);
  });

  it('prints, with a new feed client’s token, the feed URLs of the collections it may read', async () => {
    const r = await vigil(['client', 'create', 'fw-hospital-b', '--feed', '--read', readable, '--clearance', 'GREEN'], ADMIN_TOKEN);
    expect(r.code, r.stderr).toBe(0);
    const [created, token, ...rest] = r.stdout.trimEnd().split('\n');
    expect(created).toMatch(/^created feed client fw-hospital-b /);
    expect(token).toMatch(/^token \(shown once, keep it safe\): \S+$/);
    const secret = token!.split(': ')[1]!;
    expect(rest.join('\n')).toContain(`Readable (${readable})\n  ipv4    ${PUBLIC}/feeds/${readable}/ipv4.txt`);
    expect(rest.join('\n')).not.toContain(secret);
    expect(rest.join('\n')).not.toContain(other);
    const json = JSON.parse(
      (await vigil(['--json', 'client', 'create', 'fw-hospital-c', '--feed', '--read', readable, '--clearance', 'GREEN'], ADMIN_TOKEN))
        .stdout,
    );
    expect(json).toMatchObject({ kind: 'feed', token: expect.any(String), feeds: [{ collection_id: readable, urls: urlsOf(readable) }] });
  });
});
