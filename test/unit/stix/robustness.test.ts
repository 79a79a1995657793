// validateStixObject runs on whatever a client POSTs: it must answer, never throw.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  customObjectSchema,
  legacyMarkingDefinitionSchema,
  legacyObjectSchema,
  stixObjectSchemas,
} from '../../../src/stix/object-schemas.ts';
import { validateStixObject } from '../../../src/stix/validate.ts';
import { VALID_OBJECTS, valid } from './helpers.ts';

function expectFailure(input: unknown, message: string | RegExp) {
  const result = validateStixObject(input);
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.message).toMatch(message);
}

describe('junk input', () => {
  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['a string', 'indicator'],
    ['a boolean', true],
    ['an array', [valid('tool')]],
  ])('%s is not an object', (_, input) => {
    expect(validateStixObject(input)).toEqual({ ok: false, id: null, version: null, message: 'object: must be a JSON object' });
  });

  it('an empty object lacks a type', () => {
    expectFailure({}, 'type: is required');
  });

  it('prototype-pollution keys are refused as property names, and pollute nothing', () => {
    for (const json of [
      '{"__proto__": {"polluted": true}, "type": "tool", "id": "tool--40feea8d-a469-4acd-ba6e-bccc7d1d1cda"}',
      '{"type": "tool", "id": "tool--40feea8d-a469-4acd-ba6e-bccc7d1d1cda", "constructor": {"prototype": {"polluted": true}}}',
    ]) {
      const result = validateStixObject(JSON.parse(json));
      expect(result.ok).toBe(false);
    }
    expectFailure(
      {
        ...valid('tool'),
        granular_markings: [{ marking_ref: 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed', selectors: ['__proto__'] }],
      },
      /does not select/,
    );
    const nested = JSON.parse(
      '{"source_name": "x", "url": "https://example.com", "hashes": {"__proto__": "d41d8cd98f00b204e9800998ecf8427e"}}',
    );
    validateStixObject(valid('tool', { external_references: [nested] }));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('custom types named like Object.prototype members are plain custom objects', () => {
    const object = { type: 'constructor', spec_version: '2.1', id: 'constructor--2558fd61-8c75-4730-94c4-11926db2a263', value: 1 };
    expect(validateStixObject(object).ok).toBe(true);
    const hashes = JSON.parse('{"constructor": "x", "toString": "y", "__proto__": "z"}');
    expect(validateStixObject(valid('file', { hashes })).ok).toBe(true);
  });

  it('an object whose getters throw fails itself, nothing else', () => {
    const hostile = {
      type: 'tool',
      get id(): string {
        throw new Error('boom');
      },
    };
    expectFailure(hostile, /could not be validated/);
  });

  it('huge objects and values are answered', () => {
    const big: Record<string, unknown> = valid('tool');
    for (let i = 0; i < 20_000; i++) big[`x_acme_${i}`] = i;
    expect(validateStixObject(big).ok).toBe(true);
    expectFailure(valid('tool', { type: 'x'.repeat(1_000_000) }), /^type: 'x{80}…' is not a STIX type/);
    expectFailure(valid('tool', { labels: new Array(100_000).fill(1) }), /labels\[0\]: must be a string/);
  });

  it('deeply nested custom values are not walked', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 50_000; i++) deep = { x: deep };
    expect(validateStixObject(valid('tool', { x_acme_deep: deep })).ok).toBe(true);
  });

  it('random mutations of valid objects never throw', () => {
    const junk: unknown[] = [null, 0, -1, 1.5, '', 'x', true, [], [null], {}, { a: 1 }, '2016-13-45T99:99:99Z', 'identity--x', 1e308, -0];
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 3000; i++) {
      const object = structuredClone(VALID_OBJECTS[random(VALID_OBJECTS.length)]!);
      const keys = Object.keys(object);
      object[keys[random(keys.length)]!] = junk[random(junk.length)];
      const result = validateStixObject(object);
      expect(typeof result.ok).toBe('boolean');
      if (!result.ok) expect(result.message.length).toBeGreaterThan(0);
    }
  });
});

describe('exported schemas', () => {
  it('map every STIX 2.1 type to its schema', () => {
    expect(Object.keys(stixObjectSchemas)).toHaveLength(42);
    for (const object of VALID_OBJECTS) expect(stixObjectSchemas[object['type'] as string]!.safeParse(object).success).toBe(true);
  });

  it('convert to JSON Schema (refinements are dropped, not refused)', () => {
    const all = {
      ...stixObjectSchemas,
      custom: customObjectSchema,
      legacy: legacyObjectSchema,
      legacyMarking: legacyMarkingDefinitionSchema,
    };
    for (const [type, schema] of Object.entries(all)) {
      const json = z.toJSONSchema(schema) as { type?: string; properties?: Record<string, unknown> };
      expect(json.type, type).toBe('object');
      expect(json.properties, type).toHaveProperty('id');
    }
  });
});
