import { beforeAll, describe, expect, it } from 'vitest';
import { originSigner, verifyOrigin } from '../../../src/federation/origin-signature.ts';
import type { OriginSigner } from '../../../src/federation/origin-signature.ts';
import { VigilError } from '../../../src/errors.ts';
import { prepareAhead, prepareInSlices } from '../../../src/services/prepare-objects.ts';
import type { Keyring } from '../../../src/federation/keyring.ts';
import { freshKeyring } from '../../support/keyring.ts';
import { indicator } from '../../support/stix.ts';

let ring: Keyring;
let signer: OriginSigner;
beforeAll(async () => {
  ring = await freshKeyring('node-a');
  signer = originSigner(ring);
});

const definition = {
  type: 'marking-definition',
  spec_version: '2.1',
  id: 'marking-definition--0a0a2a1e-6f0a-4d2f-9a39-5c2d9c8b7e11',
  created: '2024-01-01T00:00:00.000Z',
  name: 'hospital sector only',
  extensions: {
    'extension-definition--a932fcc6-e032-476c-826f-cb970a5a1ade': { extension_type: 'property-extension', tlp_2_0: 'amber' },
  },
};

describe('the first chunks of a queued request, prepared from its body', () => {
  const objects = [indicator(), { type: 'indicator', id: 'indicator--not-a-uuid' }, definition, indicator(), indicator()];
  const body = Buffer.from(JSON.stringify({ type: 'bundle', id: 'bundle--1', objects }, null, 2));

  it('prepares chunk after chunk, up to the number asked for, with their seqs in the body', async () => {
    const ahead = prepareAhead(signer, body, 2, 2);
    expect(await ahead.count).toBe(5);
    const first = (await ahead.chunk(0))!;
    expect(first.count).toBe(2);
    expect(first.candidates.map((c) => [c.seq, c.meta.id])).toEqual([[0, objects[0]!.id]]);
    expect(first.failures.map((f) => [f.seq, f.object_id])).toEqual([[1, 'indicator--not-a-uuid']]);
    const second = (await ahead.chunk(2))!;
    expect(second.candidates.map((c) => c.seq)).toEqual([2, 3]);
    expect(await ahead.chunk(4)).toBeUndefined();
    expect(await ahead.chunk(1)).toBeUndefined();
  });

  it('keeps no text nor parsed form a pending row holds, but a definition’s, and signs each as its origin', async () => {
    const ahead = prepareAhead(signer, body, 5, 1);
    const chunk = (await ahead.chunk(0))!;
    const byId = new Map(chunk.candidates.map((c) => [c.meta.id, c]));
    expect(byId.get(objects[0]!.id)).toMatchObject({ json: null, object: {} });
    expect(JSON.parse(byId.get(definition.id)!.json!)).toEqual(definition);
    for (const c of chunk.candidates) {
      const object = objects.find((o) => o.id === c.meta.id)!;
      await expect(verifyOrigin(c.signature!, object, ring.nodeId, ring.publicKeys())).resolves.toBeUndefined();
    }
  });

  it('prepares nothing for a body it cannot walk, or once cancelled', async () => {
    const notAnObject = prepareAhead(signer, Buffer.from(JSON.stringify([objects[0]])), 2, 2);
    expect(await notAnObject.count).toBeUndefined();
    expect(await notAnObject.chunk(0)).toBeUndefined();
    const cancelled = prepareAhead(signer, body, 2, 2);
    cancelled.cancel();
    expect(await cancelled.chunk(0)).toBeUndefined();
  });
});

describe('objects prepared from their text', () => {
  it('refuses the whole body when one object is not JSON, as PostgreSQL refuses it', async () => {
    const objects = [
      { seq: 0, json: JSON.stringify(indicator()) },
      { seq: 1, json: '{"type":"indicator",}' },
    ];
    const refused = await prepareInSlices(signer, objects).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(VigilError);
    expect(refused).toMatchObject({ code: 'invalid-json' });
    expect((refused as Error).message).toMatch(/^the body is not valid JSON: objects\[1\]: /);
  });
});
