import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureKeyring, loadKeyring } from '../../src/federation/keyring.ts';
import type { Keyring } from '../../src/federation/keyring.ts';

/** A node's keyring made afresh in a folder of its own, as a node makes it at first start. */
export async function freshKeyring(nodeId: string): Promise<Keyring> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-keys-'));
  await ensureKeyring(dir, nodeId);
  return loadKeyring(dir);
}
