import { POSTGRES_PASS_ENV } from '../passes.ts';
import { onPostgres } from './node.ts';

/**
 * How many cases a property-based test over the database runs in this pass. The suite's two
 * passes (test/passes.ts) run the same statements: where the PostgreSQL pass runs beside the
 * PGlite one, the random search belongs on the server, which runs a case three to four times
 * faster, and the PGlite pass runs a quarter of `pglite`: enough to find what differs on the
 * embedded database, without spending CI's two cores on the same search twice. FC_RUNS sets
 * every pass's count.
 */
export function propertyRuns(counts: { postgres: number; pglite: number }): number {
  if (process.env.FC_RUNS !== undefined) return Number(process.env.FC_RUNS);
  if (onPostgres) return counts.postgres;
  return process.env[POSTGRES_PASS_ENV] === '1' ? Math.ceil(counts.pglite / 4) : counts.pglite;
}
