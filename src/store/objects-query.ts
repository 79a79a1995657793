import { sql } from 'kysely';
import type { RawBuilder } from 'kysely';
import { levelVisible, referencesVisible } from './visibility.ts';
import type { QueryAudience } from './visibility.ts';
import { beforeHorizon } from './write-horizon.ts';

/** Which versions of each object a read selects (TAXII 2.1 §3.4.2: match[version]). */
export type VersionMatch = { kind: 'last' } | { kind: 'first' } | { kind: 'all' } | { kind: 'at'; at: string };

export type ObjectFilters = {
  /** Strictly after this date_added (microsecond text, already truncated to 6 digits). */
  after?: string | undefined;
  ids?: string[] | undefined;
  types?: string[] | undefined;
  versions?: VersionMatch[] | undefined;
  specVersions?: string[] | undefined;
  /** Without specVersions, take every spec version instead of only the latest (DELETE). */
  anySpecVersion?: boolean | undefined;
  /** Who the rows are for: the TLP policy is applied in the query, on every read. */
  audience: QueryAudience;
  /** The collection lets reports, groupings, notes and opinions through whatever they point at. */
  relaxContainers?: boolean | RawBuilder<boolean> | undefined;
};

/** The filters a client states in its query; the services add who the rows are for. */
export type QueryFilters = Omit<ObjectFilters, 'audience' | 'relaxContainers' | 'anySpecVersion'>;

const TRUE = sql<boolean>`true`;

function anyOf(column: RawBuilder<unknown>, values: string[]): RawBuilder<boolean> {
  return sql<boolean>`${column} IN (${sql.join(values)})`;
}

/**
 * The spec-version rule for rows of one id: given versions, those; else only the latest spec
 * version held for the id (TAXII 2.1 §3.4.2, applied before the version rule).
 */
function specCondition(alias: string, specVersions: string[] | undefined, outer?: string): RawBuilder<boolean> {
  const col = sql.ref(`${alias}.spec_version`);
  if (specVersions?.length) return anyOf(col, specVersions);
  if (outer) return sql<boolean>`${col} = ${sql.ref(`${outer}.spec_version`)}`;
  return sql<boolean>`${col} = (SELECT max(s.spec_version) FROM objects s
    WHERE s.collection_id = ${sql.ref(`${alias}.collection_id`)} AND s.id = ${sql.ref(`${alias}.id`)})`;
}

function versionCondition(match: VersionMatch, specVersions: string[] | undefined, anySpec: boolean): RawBuilder<boolean> {
  if (match.kind === 'all') return TRUE;
  if (match.kind === 'at') return sql<boolean>`o.version_at = ${match.at}::timestamptz`;
  const cmp = match.kind === 'last' ? sql.raw('>') : sql.raw('<');
  return sql<boolean>`NOT EXISTS (SELECT 1 FROM objects v
    WHERE v.collection_id = o.collection_id AND v.id = o.id
      AND ${anySpec && !specVersions?.length ? TRUE : specCondition('v', specVersions, 'o')} AND v.version_at ${cmp} o.version_at)`;
}

/**
 * The conditions on a row's own columns (collection, position, id, type), on alias `o`: cheap,
 * and what an index scan in date_added order can check as it goes. `until` bounds a scan window.
 */
export function rowConditions(collectionId: string, f: ObjectFilters, until?: string): RawBuilder<boolean> {
  // Before the horizon: what a writer still in flight may yet stamp earlier is never served.
  const parts: RawBuilder<boolean>[] = [sql<boolean>`o.collection_id = ${collectionId}`, beforeHorizon(collectionId)];
  if (f.after) parts.push(sql<boolean>`o.date_added > ${f.after}::timestamptz`);
  if (until) parts.push(sql<boolean>`o.date_added <= ${until}::timestamptz`);
  if (f.ids?.length) parts.push(anyOf(sql.ref('o.id'), f.ids));
  if (f.types?.length) parts.push(anyOf(sql.ref('o.type'), f.types));
  parts.push(levelVisible('o', f.audience));
  return sql<boolean>`${sql.join(parts, sql` AND `)}`;
}

/** The conditions that compare a row with the other versions of its object (§3.4.2) and with what it references. */
export function versionConditions(f: ObjectFilters): RawBuilder<boolean> {
  const parts: RawBuilder<boolean>[] = [TRUE];
  parts.push(referencesVisible('o', f.audience, f.relaxContainers ?? false));
  if (f.specVersions?.length || !f.anySpecVersion) parts.push(specCondition('o', f.specVersions));
  const versions = f.versions?.length ? f.versions : [{ kind: 'last' } as const];
  if (!versions.some((v) => v.kind === 'all')) {
    parts.push(
      sql<boolean>`(${sql.join(
        versions.map((v) => versionCondition(v, f.specVersions, !!f.anySpecVersion)),
        sql` OR `,
      )})`,
    );
  }
  return sql<boolean>`${sql.join(parts, sql` AND `)}`;
}

/**
 * A read under the default version rules (no match[spec_version], match[version] only `last`):
 * the rows flagged `latest`, which every write keeps equal to what versionConditions select.
 */
export function readsLatest(f: ObjectFilters): boolean {
  return !f.specVersions?.length && !f.anySpecVersion && (f.versions ?? []).every((v) => v.kind === 'last');
}

/** Is a row of alias `v` a later version of the row of alias `o` (spec version first, then time)? */
export function laterVersion(v: string, o: string): RawBuilder<boolean> {
  const c = (alias: string, col: string) => sql.ref(`${alias}.${col}`);
  return sql<boolean>`(${c(v, 'spec_version')} > ${c(o, 'spec_version')}
    OR (${c(v, 'spec_version')} = ${c(o, 'spec_version')} AND ${c(v, 'version_at')} > ${c(o, 'version_at')}))`;
}

/** The WHERE clause of every read of a collection's objects, on alias `o`. */
export function objectsWhere(collectionId: string, f: ObjectFilters, until?: string): RawBuilder<boolean> {
  return sql<boolean>`${rowConditions(collectionId, f, until)} AND ${versionConditions(f)}`;
}
