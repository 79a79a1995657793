import { sql } from 'kysely';
import type { RawBuilder } from 'kysely';

/** A timestamptz column rendered as TAXII wants it: six fractional digits, UTC, `Z`. */
export function taxiiTime(column: string): RawBuilder<string> {
  return taxiiTimeOf(sql.ref(column));
}

/** Any timestamptz expression rendered as taxiiTime renders a column. */
export function taxiiTimeOf(expression: RawBuilder<unknown> | ReturnType<typeof sql.ref>): RawBuilder<string> {
  return sql<string>`to_char(${expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}
