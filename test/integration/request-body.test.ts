import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VigilError } from '../../src/errors.ts';
import { parseBodyHere } from '../../src/services/request-body.ts';
import { parseRequestObjects } from '../../src/store/statuses.ts';
import type { ParsedBody } from '../../src/store/statuses.ts';
import { startTestNode } from '../support/node.ts';
import type { TestNode } from '../support/node.ts';
import { indicator } from '../support/stix.ts';

// A small request's body is parsed by the node (services/request-body.ts), a large one's by
// PostgreSQL (parseRequestObjects): both must answer the same shape and the same objects, and
// refuse the same bodies.

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => node?.stop());

type Outcome = { refused: true } | (Omit<ParsedBody, 'objects'> & { objects: { seq: number; value: unknown }[] });

/**
 * A parse's answer with each object as its value, as the node signs it (PostgreSQL renders the
 * text its own way: `-0` as `0`, `1e2` as `100`), or that it refused the body.
 */
function outcome(parsed: ParsedBody): Outcome {
  const { objects, ...shape } = parsed;
  return { ...shape, objects: objects.map((o) => ({ seq: o.seq, value: JSON.parse(JSON.stringify(JSON.parse(o.json))) })) };
}

async function byPostgres(body: string): Promise<Outcome> {
  class Rollback extends Error {}
  let parsed: ParsedBody | undefined;
  try {
    await node.database.db.transaction().execute(async (tx) => {
      parsed = await parseRequestObjects(tx, '00000000-0000-4000-8000-000000000000', Buffer.from(body), 1000);
      throw new Rollback();
    });
  } catch (err) {
    if (!(err instanceof Rollback)) return { refused: true };
  }
  return outcome(parsed!);
}

/** The node's parse: the body's shape, then each object's text, which prepare-objects.ts parses (and refuses the body if one is not JSON). */
async function here(body: string): Promise<Outcome | 'left to PostgreSQL'> {
  let parsed: ParsedBody | undefined;
  try {
    parsed = await parseBodyHere(Buffer.from(body));
    if (!parsed) return 'left to PostgreSQL';
    for (const o of parsed.objects) JSON.parse(o.json);
  } catch (err) {
    expect(err instanceof VigilError || err instanceof SyntaxError).toBe(true);
    if (err instanceof VigilError) expect(err.code).toBe('invalid-json');
    return { refused: true };
  }
  return outcome(parsed);
}

const a = JSON.stringify(indicator());
const b = JSON.stringify(indicator({ confidence: 85, labels: ['a\\"b', 'ü', '😀'] }));

const bodies: Record<string, string> = {
  'an envelope': `{"objects":[${a},${b}],"more":false}`,
  'a bundle, spaced out': `{ "type" : "bundle", "id": "bundle--1",\n  "objects" : [\n    ${a} ,\n    ${b}\n  ]\n}`,
  'no objects': '{"more":false}',
  'empty objects': '{"objects":[]}',
  '`objects` twice': `{"objects":[${a}],"objects":[${b},${a}]}`,
  '`objects` escaped': `{"obj\\u0065cts":[${b}]}`,
  '`objects` not a list': '{"objects":{"a":1}}',
  '`objects` a list, then not': `{"objects":[${a}],"objects":null}`,
  'a type that is not a string': '{"type":["bundle"],"objects":[]}',
  'elements that are not objects': '{"objects":[1, "two", null, [3], true, 1.50, -0, 1e2]}',
  'an array': `[${a}]`,
  'a string': '"objects"',
  'a number': '42',
  'not JSON around the objects': `{"objects":[${a}], "more": tru}`,
  'not JSON in an object': '{"objects":[{"type":"indicator",}]}',
  'cut short': `{"objects":[${a}`,
  'two values': '{"objects":[]} {}',
  'a trailing comma': '{"objects":[1,]}',
};

describe('a small body parsed by the node, as PostgreSQL parses a large one', () => {
  for (const [name, body] of Object.entries(bodies)) {
    it(`answers what PostgreSQL answers: ${name}`, async () => {
      expect(await here(body)).toEqual(await byPostgres(body));
    });
  }

  it('leaves to PostgreSQL a body with an escape that it reads otherwise than JSON.parse', async () => {
    for (const body of [
      '{"id":"a\\u0000b","objects":[]}',
      '{"objects":[{"name":"\\uDbff"}]}',
      '{"objects":[{"name":"\\ud83d\\ude00"}]}',
      '{"a\\\\u0000":1}',
    ])
      expect(await here(body), body).toBe('left to PostgreSQL');
    expect(await here('{"id":"\\u00e9\\u0041\\ucafe","objects":[]}')).toEqual(
      await byPostgres('{"id":"\\u00e9\\u0041\\ucafe","objects":[]}'),
    );
  });
});
