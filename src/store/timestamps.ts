import { sql } from 'kysely';
import type { RawBuilder } from 'kysely';

/** A timestamptz column rendered as TAXII wants it: six fractional digits, UTC, `Z`. */
export function taxiiTime(column: string): RawBuilder<string> {
  return sql<string>`to_char(${sql.ref(column)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}
