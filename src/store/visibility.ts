import { sql } from 'kysely';
import type { RawBuilder } from 'kysely';
import type { Audience } from '../policy/audience.ts';
import { AMBER, CLEAR, GREEN, RED } from '../policy/levels.ts';

// TLP enforcement inside the read queries (shared/reference/tlp.md): a withheld row is never
// fetched, so limit, more, next and the date headers only ever see what the recipient may.

/** May the audience see a row of `alias` by its level (the strictest of its id's versions)? */
export function levelVisible(alias: string, audience: Audience): RawBuilder<boolean> {
  const level = sql.ref(`${alias}.tlp_level`);
  switch (audience.kind) {
    case 'admin':
      return sql<boolean>`true`;
    case 'public':
      return sql<boolean>`${level} = ${sql.lit(CLEAR)}`;
    case 'peer':
      // AMBER only where this node originated it (origin NULL) and the agreement allows it.
      return audience.amber
        ? sql<boolean>`(${level} <= ${sql.lit(GREEN)} OR (${level} = ${sql.lit(AMBER)} AND ${sql.ref(`${alias}.origin`)} IS NULL))`
        : sql<boolean>`${level} <= ${sql.lit(GREEN)}`;
    case 'client':
      return audience.red
        ? sql<boolean>`(${level} <= ${sql.lit(audience.maxLevel)} OR ${level} = ${sql.lit(RED)})`
        : sql<boolean>`${level} <= ${sql.lit(audience.maxLevel)}`;
  }
}

/**
 * References leak ids: a relationship or sighting pointing at an object of this collection
 * that the audience may not see is withheld, and so is a report, grouping, note or opinion
 * unless the collection relaxes that rule. Objects not held here hide nothing.
 */
export function referencesVisible(alias: string, audience: Audience, relaxContainers: boolean): RawBuilder<boolean> {
  if (audience.kind === 'admin') return sql<boolean>`true`;
  const o = (c: string) => sql.ref(`${alias}.${c}`);
  const applies = relaxContainers ? sql`${o('ref_kind')} = 'link'` : sql`${o('ref_kind')} IS NOT NULL`;
  return sql<boolean>`(NOT (${applies}) OR NOT EXISTS (
    SELECT 1 FROM objects r WHERE r.collection_id = ${o('collection_id')} AND r.id = ANY (${o('ref_ids')})
      AND NOT ${levelVisible('r', audience)}))`;
}
