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

/**
 * A STIX version timestamp (text) as a PostgreSQL timestamptz. RFC 3339 allows a leap second
 * (23:59:60, STIX accepts it) and PostgreSQL refuses one with a fraction: it is taken as the last
 * microsecond of its minute, so it orders before the next minute and never aliases it.
 */
export function versionTimeOf(text: RawBuilder<unknown> | ReturnType<typeof sql.ref>): RawBuilder<string> {
  return sql<string>`regexp_replace(${text}, ':60([.][0-9]*)?Z$', ':59.999999Z')::timestamptz`;
}
