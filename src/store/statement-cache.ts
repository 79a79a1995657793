import { CompiledQuery } from 'kysely';
import type { QueryResult, RawBuilder } from 'kysely';
import type { Db } from './database.ts';

// A hot read's statement is built from many small builders (access, horizon, TLP conditions)
// and compiled by Kysely on every request, though its text depends only on a few choices (its
// shape). Such a statement is built and compiled once per shape; a request then only puts its
// own values in the parameters' places.

/** The values a statement takes from the request: each reaches it only as a parameter. */
export type StatementValues = Record<string, string | readonly string[]>;

type Slot = { key: string; index: number | undefined } | null;

const MARK = '\u0000vigil-value:';
const SHAPES_MAX = 500;
type Compiled = { sql: string; slots: Slot[] };
const compiledFor = new WeakMap<Db, Map<string, Compiled>>();

/** The values with a marker in place of each: the parameters they become say which value goes where. */
function markers(values: StatementValues): StatementValues {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(values)) {
    out[key] = typeof value === 'string' ? `${MARK}${key}` : value.map((_, i) => `${MARK}${key}.${i}`);
  }
  return out;
}

function slotOf(parameter: unknown): Slot {
  if (parameter === null) return null;
  if (typeof parameter !== 'string' || !parameter.startsWith(MARK)) {
    // Any other value would be frozen into every later request of the shape.
    throw new Error(`a cached statement takes every value from its values, not ${JSON.stringify(parameter)}`);
  }
  const [key, index] = parameter.slice(MARK.length).split('.');
  return { key: key!, index: index === undefined ? undefined : Number(index) };
}

/**
 * Runs the statement `build` makes from `values`, compiled once per `shape`: a key that must name
 * everything the statement's text depends on. `build` must put each value in only as a parameter
 * (never in the text, never computed on); a parameter from anywhere else may only be null.
 */
export async function executeCached<R>(
  db: Db,
  shape: string,
  values: StatementValues,
  build: (values: StatementValues) => RawBuilder<R>,
): Promise<QueryResult<R>> {
  // Which values are given, and the lists' lengths, are part of the shape: each element is a parameter of its own.
  const key = `${shape}|${Object.entries(values)
    .map(([name, v]) => (typeof v === 'string' ? name : `${name}.${v.length}`))
    .join(',')}`;
  let compiled = compiledFor.get(db);
  if (!compiled) compiledFor.set(db, (compiled = new Map()));
  let statement = compiled.get(key);
  if (!statement) {
    const query = build(markers(values)).compile(db);
    if (query.sql.includes(MARK)) throw new Error('a cached statement has a value in its text');
    statement = { sql: query.sql, slots: query.parameters.map(slotOf) };
    if (compiled.size < SHAPES_MAX) compiled.set(key, statement);
  }
  const parameters = statement.slots.map((slot) => {
    if (slot === null) return null;
    const value = values[slot.key];
    if (value === undefined) throw new Error(`a cached statement lacks its value '${slot.key}'`);
    return slot.index === undefined ? value : (value as readonly string[])[slot.index];
  });
  return db.executeQuery<R>(CompiledQuery.raw(statement.sql, parameters));
}
