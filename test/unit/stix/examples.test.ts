// Every object of the public OASIS example bundles, the TLP markings and our
// one-of-each-type fixture must validate: real data is the final test of the rules.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { objectKind, SCO_TYPES, SDO_TYPES, SRO_TYPES, META_TYPES } from '../../../src/stix/identifiers.ts';
import { validateStixObject } from '../../../src/stix/validate.ts';
import { VALID_OBJECTS } from './helpers.ts';

const FIXTURES = fileURLToPath(new URL('../../fixtures/stix/', import.meta.url));

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return jsonFiles(path);
    return name.endsWith('.json') ? [path] : [];
  });
}

type Case = [string, unknown];

function objectsOf(path: string): Case[] {
  const json = JSON.parse(readFileSync(path, 'utf8')) as { type?: string; objects?: unknown[]; id?: string };
  const label = relative(FIXTURES, path);
  // interop-objectmarking-test.json is a single object rather than a bundle: check it too.
  const objects = Array.isArray(json.objects) ? json.objects : [json];
  return objects.map((object, i) => [`${label} #${i} ${(object as { id?: string }).id ?? ''}`, object]);
}

const exampleCases: Case[] = jsonFiles(join(FIXTURES, 'oasis-examples')).flatMap(objectsOf);
const tlpCases: Case[] = objectsOf(join(FIXTURES, 'tlp-markings.json'));

describe('the OASIS example bundles in test/fixtures/stix/oasis-examples', () => {
  it('are all there', () => {
    expect(exampleCases.length).toBeGreaterThan(300);
  });

  it.each(exampleCases)('%s is valid', (_, object) => {
    const result = validateStixObject(object);
    expect(result.ok ? 'ok' : result.message).toBe('ok');
  });
});

describe('test/fixtures/stix/tlp-markings.json', () => {
  it.each(tlpCases)('%s is valid', (_, object) => {
    const result = validateStixObject(object);
    expect(result.ok ? 'ok' : result.message).toBe('ok');
  });
});

describe('one valid example of every STIX 2.1 object type', () => {
  it('covers every SDO, SRO, SCO and meta object type', () => {
    const types = new Set(VALID_OBJECTS.map((o) => o['type']));
    for (const type of [...SDO_TYPES, ...SRO_TYPES, ...SCO_TYPES, ...META_TYPES]) expect(types).toContain(type);
  });

  it.each(VALID_OBJECTS.map((o): Case => [`${String(o['type'])} ${String(o['id'])}`, o]))('%s is valid', (_, object) => {
    const result = validateStixObject(object);
    expect(result.ok ? 'ok' : result.message).toBe('ok');
    const type = (object as { type: string }).type;
    expect(result.ok && result.meta.version).toBe(
      objectKind(type) === 'sco'
        ? null
        : ((object as { modified?: string; created?: string }).modified ?? (object as { created: string }).created),
    );
  });
});
