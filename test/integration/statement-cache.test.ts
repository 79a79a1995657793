import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeCached } from '../../src/store/statement-cache.ts';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';

// A statement compiled once per shape (store/statement-cache.ts): each request's values in it.

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => node?.stop());

const lists = (values: Record<string, string | string[]>) =>
  executeCached<{ a: string | null; b: string | null }>(node.database.db, 'test lists', values, (v) => {
    const joined = (list: unknown) => (list ? sql`array_to_string(ARRAY[${sql.join(list as string[])}]::text[], ',')` : sql`NULL`);
    return sql`SELECT ${joined(v.a)} AS a, ${joined(v.b)} AS b`;
  });

describe('a cached statement', () => {
  it('takes each request its own values', async () => {
    const shape = `test ${randomUUID()}`;
    const run = (x: string) =>
      executeCached<{ x: string }>(node.database.db, shape, { x }, (v) => sql`SELECT ${v.x}::text AS x`).then((r) => r.rows[0]!.x);
    expect(await run('one')).toBe('one');
    expect(await run('two')).toBe('two');
  });

  it('is told apart by which lists are given and their lengths', async () => {
    expect((await lists({ a: ['1', '2'] })).rows[0]).toEqual({ a: '1,2', b: null });
    expect((await lists({ b: ['3', '4'] })).rows[0]).toEqual({ a: null, b: '3,4' });
    expect((await lists({ a: ['5', '6', '7'] })).rows[0]).toEqual({ a: '5,6,7', b: null });
    expect((await lists({ a: ['8'], b: ['9'] })).rows[0]).toEqual({ a: '8', b: '9' });
  });

  it('refuses a value in its text, or a parameter that is not one of its values', async () => {
    const db = node.database.db;
    await expect(executeCached(db, `test ${randomUUID()}`, { x: 'a' }, (v) => sql`SELECT ${sql.lit(v.x)} AS x`)).rejects.toThrow(/text/);
    await expect(executeCached(db, `test ${randomUUID()}`, { x: 'a' }, (v) => sql`SELECT ${v.x}::text, ${'frozen'}::text`)).rejects.toThrow(
      /every value/,
    );
  });
});
