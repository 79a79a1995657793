import type { Db } from './database.ts';

export type ApiRootRow = { name: string; title: string; description: string | null; max_content_length: number };

const columns = ['name', 'title', 'description', 'max_content_length'] as const;

function toRow(r: { name: string; title: string; description: string | null; max_content_length: string | number }): ApiRootRow {
  return { ...r, max_content_length: Number(r.max_content_length) };
}

export async function listApiRoots(db: Db): Promise<ApiRootRow[]> {
  return (await db.selectFrom('api_roots').select(columns).orderBy('name').execute()).map(toRow);
}

export async function findApiRoot(db: Db, name: string): Promise<ApiRootRow | undefined> {
  const r = await db.selectFrom('api_roots').select(columns).where('name', '=', name).executeTakeFirst();
  return r && toRow(r);
}

export async function insertApiRoot(db: Db, root: ApiRootRow): Promise<boolean> {
  const r = await db
    .insertInto('api_roots')
    .values(root)
    .onConflict((oc) => oc.column('name').doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function updateApiRoot(db: Db, name: string, patch: Partial<Omit<ApiRootRow, 'name'>>): Promise<ApiRootRow | undefined> {
  if (Object.keys(patch).length === 0) return findApiRoot(db, name);
  const r = await db.updateTable('api_roots').set(patch).where('name', '=', name).returning(columns).executeTakeFirst();
  return r && toRow(r);
}

export async function deleteApiRoot(db: Db, name: string): Promise<boolean> {
  const r = await db.deleteFrom('api_roots').where('name', '=', name).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
