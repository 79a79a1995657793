import type { Db } from './database.ts';

/** Reads a node-wide setting, storing `create()` first if none is there (first replica wins). */
export async function getOrCreateSetting(db: Db, key: string, create: () => string): Promise<string> {
  await db
    .insertInto('node_settings')
    .values({ key, value: create() })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db.selectFrom('node_settings').select('value').where('key', '=', key).executeTakeFirstOrThrow();
  return row.value;
}
