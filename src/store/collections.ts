import type { Db } from './objects.ts';

export type CollectionRow = {
  id: string;
  api_root: string;
  title: string;
  description: string | null;
  alias: string | null;
};

const columns = ['id', 'api_root', 'title', 'description', 'alias'] as const;

export async function listCollections(db: Db, apiRoot?: string): Promise<CollectionRow[]> {
  let q = db.selectFrom('collections').select(columns);
  if (apiRoot !== undefined) q = q.where('api_root', '=', apiRoot);
  return q.orderBy('id').execute();
}

export async function findCollection(db: Db, id: string): Promise<CollectionRow | undefined> {
  return db.selectFrom('collections').select(columns).where('id', '=', id).executeTakeFirst();
}

export async function insertCollection(db: Db, row: CollectionRow): Promise<void> {
  await db.insertInto('collections').values(row).execute();
}

export async function updateCollection(db: Db, id: string, patch: Partial<Omit<CollectionRow, 'id' | 'api_root'>>): Promise<CollectionRow | undefined> {
  if (Object.keys(patch).length === 0) return findCollection(db, id);
  return db.updateTable('collections').set(patch).where('id', '=', id).returning(columns).executeTakeFirst();
}

export async function deleteCollection(db: Db, id: string): Promise<boolean> {
  const r = await db.deleteFrom('collections').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
