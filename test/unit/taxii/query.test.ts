import { describe, expect, it } from 'vitest';
import { OBJECT_PARAMS, OBJECTS_PARAMS, parsePageQuery } from '../../../src/taxii/query.ts';

const at = (query: string) => `http://node.example/default/collections/c1/objects/${query}`;

const code = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

describe('parsePageQuery', () => {
  it('answers a query asked again as the first time, for each endpoint and default limit', () => {
    for (let round = 0; round < 2; round++) {
      const q = '?added_after=2025-01-01T00:00:00.5Z&limit=10&match[type]=indicator,malware';
      expect(parsePageQuery(at(q), OBJECTS_PARAMS, 1000)).toEqual({
        limit: 10,
        next: undefined,
        filters: {
          after: '2025-01-01T00:00:00.500000Z',
          ids: undefined,
          types: ['indicator', 'malware'],
          versions: undefined,
          specVersions: undefined,
        },
      });
      // The same text to an endpoint that does not take match[type], and with another default limit.
      expect(parsePageQuery(at(q), OBJECT_PARAMS, 1000).filters.types).toBeUndefined();
      expect(parsePageQuery(at(''), OBJECTS_PARAMS, 1000).limit).toBe(1000);
      expect(parsePageQuery(at(''), OBJECTS_PARAMS, 50).limit).toBe(50);
    }
  });

  it('refuses a bad query every time it is asked', () => {
    for (let round = 0; round < 3; round++) {
      expect(code(() => parsePageQuery(at('?limit=0'), OBJECTS_PARAMS, 1000))).toBe('invalid-parameter');
      expect(code(() => parsePageQuery(at('?limit=5&limit=6'), OBJECTS_PARAMS, 1000))).toBe('invalid-parameter');
    }
  });

  it('reads no parameter from a fragment, however the text after a `?` looks', () => {
    expect(parsePageQuery(at('?limit=7'), OBJECTS_PARAMS, 1000).limit).toBe(7);
    expect(parsePageQuery(at('#x?limit=7'), OBJECTS_PARAMS, 1000).limit).toBe(1000);
    expect(parsePageQuery(at('?limit=8#?limit=7'), OBJECTS_PARAMS, 1000).limit).toBe(8);
  });

  it('hands out a request no caller can change for the next one, and stays right past the queries it keeps', () => {
    const q = at('?match[id]=indicator--1&match[version]=all');
    const first = parsePageQuery(q, OBJECTS_PARAMS, 1000);
    expect(() => first.filters.ids!.push('indicator--2')).toThrow(TypeError);
    expect(() => Object.assign(first.filters, { after: 'x' })).toThrow(TypeError);
    expect(() => Object.assign(first.filters.versions![0]!, { kind: 'last' })).toThrow(TypeError);
    for (let i = 0; i < 1500; i++) expect(parsePageQuery(at(`?limit=${i + 1}`), OBJECTS_PARAMS, 1000).limit).toBe(i + 1);
    expect(parsePageQuery(q, OBJECTS_PARAMS, 1000)).toEqual({
      limit: 1000,
      next: undefined,
      filters: { after: undefined, ids: ['indicator--1'], types: undefined, versions: [{ kind: 'all' }], specVersions: undefined },
    });
  });
});
