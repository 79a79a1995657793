import { describe, expect, it } from 'vitest';
import { isIdentifier, isStixType, objectKind } from '../../../src/stix/identifiers.ts';

describe('object types (§3 type)', () => {
  it.each(['indicator', 'x-mitre-tactic', 'x-opencti-text', 'ipv4-addr', 'abc', 'a'.repeat(250)])('accepts %s', (type) => {
    expect(isStixType(type)).toBe(true);
  });

  it.each([
    ['shorter than 3 characters', 'ab'],
    ['longer than 250 characters', 'a'.repeat(251)],
    ['upper case', 'Indicator'],
    ['two hyphens in a row', 'x--foo'],
    ['a leading hyphen', '-foo'],
    ['a trailing hyphen', 'foo-'],
    ['a leading digit', '1abc'],
    ['an underscore', 'x_foo'],
    ['a non-ASCII letter', 'indicatör'],
  ])('rejects a type with %s', (_, type) => {
    expect(isStixType(type)).toBe(false);
  });

  it('classifies the spec types and treats the rest as custom', () => {
    expect(objectKind('malware')).toBe('sdo');
    expect(objectKind('sighting')).toBe('sro');
    expect(objectKind('file')).toBe('sco');
    expect(objectKind('marking-definition')).toBe('meta');
    expect(objectKind('x-mitre-tactic')).toBe('custom');
  });
});

describe('identifiers (§2): <type>--<RFC 4122 UUID>', () => {
  it.each([
    'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f',
    'file--364fe3e5-b1f4-5ba3-b951-ee5983b3538d',
    'relationship--81f12913-1372-4c96-85ec-E9034ac98aba',
    'identity--6ba7b810-9dad-11d1-80b4-00c04fd430c8',
    'x-mitre-tactic--2558fd61-8c75-4730-94c4-11926db2a263',
  ])('accepts %s', (id) => {
    expect(isIdentifier(id)).toBe(true);
  });

  it.each([
    ['no UUID', 'indicator--'],
    ['a single hyphen', 'indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f'],
    ['a non-RFC 4122 variant', 'indicator--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f'],
    ['the nil UUID', 'indicator--00000000-0000-0000-0000-000000000000'],
    ['a UUID without hyphens', 'indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f'],
    ['an invalid type', 'Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f'],
  ])('rejects an identifier with %s', (_, id) => {
    expect(isIdentifier(id)).toBe(false);
  });
});
