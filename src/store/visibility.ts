import { sql } from 'kysely';
import type { RawBuilder } from 'kysely';
import type { Audience } from '../policy/audience.ts';
import { AMBER, CLEAR, GREEN, RED } from '../policy/levels.ts';
import type { Level } from '../policy/levels.ts';

// TLP enforcement inside the read queries (shared/reference/tlp.md): a withheld row is never
// fetched, so limit, more, next and the date headers only ever see what the recipient may.

/**
 * An audience as a read query needs it. A client's RED naming may be left to the query itself
 * (a condition read in the same statement), so one statement checks access and reads the page.
 */
export type QueryAudience = Audience | { kind: 'client'; maxLevel: Level; red: RawBuilder<boolean> };

/** May the audience see a row of `alias` by its level (the strictest of its id's versions)? */
export function levelVisible(alias: string, audience: QueryAudience): RawBuilder<boolean> {
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
      if (typeof audience.red !== 'boolean') {
        // The bound first, so an index walk checks it: RED only where the condition holds.
        return sql<boolean>`(${level} <= (CASE WHEN ${audience.red} THEN ${sql.lit(RED)} ELSE ${sql.lit(audience.maxLevel)} END)
          AND (${level} <= ${sql.lit(audience.maxLevel)} OR ${level} = ${sql.lit(RED)}))`;
      }
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
/**
 * Does the references rule apply to a row of `alias` (its `ref_kind`)? To links always; to
 * containers (reports, groupings, notes, opinions) unless the collection relaxes them. Callers that
 * check the references themselves (trends.ts) take the same condition from here.
 */
export function referencesApply(alias: string, relaxContainers: boolean | RawBuilder<boolean>): RawBuilder<boolean> {
  const kind = sql.ref(`${alias}.ref_kind`);
  if (typeof relaxContainers !== 'boolean') return sql<boolean>`(${kind} IS NOT NULL AND (${kind} = 'link' OR NOT ${relaxContainers}))`;
  return relaxContainers ? sql<boolean>`${kind} = 'link'` : sql<boolean>`${kind} IS NOT NULL`;
}

export function referencesVisible(
  alias: string,
  audience: QueryAudience,
  relaxContainers: boolean | RawBuilder<boolean>,
): RawBuilder<boolean> {
  if (audience.kind === 'admin') return sql<boolean>`true`;
  const o = (c: string) => sql.ref(`${alias}.${c}`);
  return sql<boolean>`(NOT (${referencesApply(alias, relaxContainers)}) OR NOT EXISTS (
    SELECT 1 FROM objects r WHERE r.collection_id = ${o('collection_id')} AND r.id = ANY (${o('ref_ids')})
      AND NOT ${levelVisible('r', audience)}))`;
}
