import { describe, expect, it } from 'vitest';
import { objectSpans } from '../../../src/stix/object-spans.ts';

/** The texts of the spans objectSpans finds in `body`, or undefined. */
async function elements(body: string): Promise<string[] | undefined> {
  const bytes = Buffer.from(body);
  return (await objectSpans(bytes))?.map((s) => bytes.toString('utf8', s.start, s.end));
}

describe("the spans of a body's objects", () => {
  it("finds each element of a bundle's or an envelope's objects, as written", async () => {
    expect(await elements('{"type":"bundle","id":"bundle--1","objects":[{"a":1},{"b":[1,{"c":"]},"}]}]}')).toEqual([
      '{"a":1}',
      '{"b":[1,{"c":"]},"}]}',
    ]);
    expect(await elements('{ "more" : false ,\n  "objects" : [\n    {} ,\n    3 , "x\\"y\\\\" , null\n  ]\n}')).toEqual([
      '{}',
      '3',
      '"x\\"y\\\\"',
      'null',
    ]);
    expect(await elements('{"objects":[]}')).toEqual([]);
  });

  it('takes the last `objects` of a body that has two, as JSON.parse and PostgreSQL do', async () => {
    const body = '{"objects":[{"id":"first"}],"x":{"objects":[0]},"objects":[{"id":"a"},{"id":"b"}]}';
    expect(await elements(body)).toEqual(['{"id":"a"}', '{"id":"b"}']);
    expect(await elements(body)).toEqual((JSON.parse(body) as { objects: unknown[] }).objects.map((o) => JSON.stringify(o)));
    expect(await elements('{"obj\\u0065cts":[true]}')).toEqual(['true']);
  });

  it('answers undefined where there is no such array', async () => {
    expect(await elements('[{"objects":[1]}]')).toBeUndefined();
    expect(await elements('{"objects":5}')).toBeUndefined();
    expect(await elements('{"objects":[1],"objects":"no"}')).toBeUndefined();
    expect(await elements('{"type":"bundle"}')).toBeUndefined();
    expect(await elements('{"objects":[1,2')).toBeUndefined();
    expect(await elements('{"objects":["unterminated]}')).toBeUndefined();
  });

  it('walks a 10 MB body, and text that is not JSON, without throwing', async () => {
    const object = JSON.stringify({ type: 'indicator', description: 'a "quoted" ]} text, with \\ and [brackets] '.repeat(40) });
    const body = `{"objects":[${Array.from({ length: 5000 }, () => object).join(',')}]}`;
    expect((await elements(body))?.length).toBe(5000);
    for (const junk of ['', '}', ']]]', '{"a":}}}', '{"objects":[}', '"\\', '{"\\":[1]}', '{"objects":[1]}}}}', '{{{{']) {
      const spans = await objectSpans(Buffer.from(junk));
      expect(spans === undefined || Array.isArray(spans)).toBe(true);
    }
  });
});
