import { closedLoop } from '../load.ts';
import type { Target } from '../target.ts';
import { objectsPath } from './setup.ts';

export type PollOptions = { workers: number; seconds: number; limit: number; behindHead: number };

/** The added_after of a poller that is `behind` versions behind the head of the collection. */
async function nearHead(t: Target, collectionId: string, behind: number): Promise<string> {
  const [row] = await t.sql<{ at: string }>(
    `SELECT to_char(date_added AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at FROM objects
     WHERE collection_id = $1 ORDER BY date_added DESC OFFSET $2 LIMIT 1`,
    [collectionId, behind],
  );
  if (!row) throw new Error('head poll: the collection is empty');
  return row.at;
}

/** Head poll: `workers` SIEMs polling `added_after` near the head with `limit`, back to back. */
export async function headPoll(t: Target, collectionId: string, token: string, o: PollOptions) {
  const after = await nearHead(t, collectionId, o.behindHead);
  const path = `${objectsPath(collectionId)}?added_after=${encodeURIComponent(after)}&limit=${o.limit}`;
  return closedLoop(t.url, path, token, o.workers, o.seconds);
}
