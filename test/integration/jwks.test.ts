import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';

const run = promisify(execFile);
let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({ NODE_ID: 'node-test' });
});
afterAll(async () => node?.stop());

const jwks = async () => {
  const res = await fetch(`${node.url}/.well-known/jwks.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/jwk-set+json');
  return ((await res.json()) as { keys: { kid: string; d?: string }[] }).keys;
};

describe('/.well-known/jwks.json', () => {
  it('publishes the public keys without credentials, and never a private part', async () => {
    const keys = await jwks();
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toHaveProperty('d');
  });

  it('publishes a key made by `vigil keys rotate` without a restart', async () => {
    const before = (await jwks()).map((k) => k.kid);
    const env = { ...process.env, KEY_DIR: node.deps.config.keyDir, ADMIN_TOKEN: 'unused-but-long-enough' };
    const { stdout } = await run(process.execPath, ['bin/vigil.js', '--json', 'keys', 'rotate'], { env });
    const state = JSON.parse(stdout);
    expect(state.node_id).toBe('node-test');
    const after = (await jwks()).map((k) => k.kid);
    expect(after).toHaveLength(2);
    expect(after).toEqual(expect.arrayContaining([...before, state.keys.at(-1).kid]));
    // the new key is not yet the one that signs
    expect((await node.deps.keyring.signingKey()).kid).toBe(before[0]);
  });
});
