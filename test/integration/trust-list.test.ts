import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.ts';
import { generateOperatorKey, signTrustList } from '../../src/federation/trust-list.ts';
import { startTestNode } from '../support/node.ts';

const memberKey = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };
const document = {
  type: 'vigil-trust-list',
  federation: 'EU health CSIRTs',
  issued: '2026-11-01T00:00:00Z',
  expires: '2099-01-01T00:00:00Z',
  members: [{ node_id: 'node-fr', keys: [memberKey] }],
};

async function files(signer: 'operator' | 'impostor') {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-trust-'));
  const operator = await generateOperatorKey();
  const impostor = await generateOperatorKey();
  writeFileSync(path.join(dir, 'anchor.jwk'), JSON.stringify(operator.publicJwk));
  const jws = await signTrustList(document, (signer === 'operator' ? operator : impostor).privateJwk);
  writeFileSync(path.join(dir, 'list.jws'), jws);
  return { TRUST_ANCHOR: path.join(dir, 'anchor.jwk'), TRUST_LIST: path.join(dir, 'list.jws') };
}

describe('a node configured with a federation trust list', () => {
  it('starts with a list signed by the operator key it trusts, and knows the members', async () => {
    const node = await startTestNode(await files('operator'));
    try {
      expect(node.deps.trustList?.members.map((m) => m.node_id)).toEqual(['node-fr']);
    } finally {
      await node.stop();
    }
  });

  it('refuses to start on a forged list, naming the setting', async () => {
    const start = startTestNode(await files('impostor'));
    await expect(start).rejects.toThrow(ConfigError);
    await expect(start).rejects.toThrow(/TRUST_LIST: the trust list is not signed by the trusted/);
  });

  it('refuses a half configuration', async () => {
    const { TRUST_LIST } = await files('operator');
    await expect(startTestNode({ TRUST_LIST })).rejects.toThrow(/TRUST_ANCHOR go together/);
  });
});
