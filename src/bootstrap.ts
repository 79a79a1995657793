import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config.ts';
import type { Database } from './store/database.ts';
import { insertApiRoot } from './store/api-roots.ts';
import { insertCollection } from './store/collections.ts';
import { getOrCreateSetting } from './store/settings.ts';
import { generateToken } from './services/tokens.ts';
import { DEFAULT_API_ROOT } from './taxii/discovery.ts';

export type AdminToken = { token: string; file?: string; created: boolean };

/** ADMIN_TOKEN, or a token kept in DATA_DIR/admin-token (mode 600), made on first start. */
export function loadAdminToken(config: Config): AdminToken {
  if (config.adminToken) return { token: config.adminToken, created: false };
  const file = path.resolve(config.dataDir, 'admin-token');
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 16) return { token, file, created: false };
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const token = generateToken();
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { token, file, created: true };
}

/** The key `next` tokens are sealed with (cursor.ts derives one per token): one per database, so every replica shares it. */
export async function loadCursorKey(database: Database): Promise<Buffer> {
  const hex = await getOrCreateSetting(database.db, 'cursor_key', () => randomBytes(32).toString('hex'));
  return Buffer.from(hex, 'hex');
}

/**
 * On the very first start, a default API root and collection, so `npm start` gives a usable
 * node. Recorded once per database: deleting them later does not bring them back.
 */
export async function createDefaults(database: Database, config: Config): Promise<{ collectionId: string } | undefined> {
  const marker = randomUUID();
  const winner = await getOrCreateSetting(database.db, 'bootstrapped', () => marker);
  if (winner !== marker) return undefined;
  await insertApiRoot(database.db, {
    name: DEFAULT_API_ROOT,
    title: 'Vigil default API root',
    description: 'Created at first start',
    max_content_length: config.maxContentLength,
  });
  const collectionId = randomUUID();
  await insertCollection(database.db, {
    id: collectionId,
    api_root: DEFAULT_API_ROOT,
    title: 'Default collection',
    description: 'Created at first start',
    alias: 'default',
  });
  return { collectionId };
}
