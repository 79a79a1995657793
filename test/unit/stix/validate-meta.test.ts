import { describe, expect, it } from 'vitest';
import { validateStixObject } from '../../../src/stix/validate.ts';
import { expectInvalid, expectValid, valid } from './helpers.ts';

const TLP_RED_1 = {
  type: 'marking-definition',
  spec_version: '2.1',
  id: 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed',
  created: '2017-01-20T00:00:00.000Z',
  definition_type: 'tlp',
  name: 'TLP:RED',
  definition: { tlp: 'red' },
};
const TLP2_EXT = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';
const TLP_AMBER_STRICT_2 = {
  type: 'marking-definition',
  spec_version: '2.1',
  id: 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  created: '2022-10-01T00:00:00.000Z',
  name: 'TLP:AMBER+STRICT',
  extensions: { [TLP2_EXT]: { extension_type: 'property-extension', tlp_2_0: 'amber+strict' } },
};

describe('marking-definition (§7.2.1)', () => {
  it('requires created, and uses it as the version', () => {
    expectInvalid(valid('marking-definition', { created: undefined }), 'created: is required');
    const result = validateStixObject(TLP_RED_1);
    expect(result.ok && result.meta).toEqual({
      id: TLP_RED_1.id,
      type: 'marking-definition',
      specVersion: '2.1',
      version: TLP_RED_1.created,
      markingRefs: [],
    });
  });

  it('without extensions, requires definition_type and definition', () => {
    expectInvalid(valid('marking-definition', { definition: undefined }), 'definition: is required when extensions is absent');
    expectInvalid(valid('marking-definition', { definition_type: undefined }), 'definition_type: is required when extensions is absent');
    expectInvalid(valid('marking-definition', { definition: 'Copyright' }), 'definition: must be an object');
  });

  it('a statement marking has a statement string', () => {
    expectInvalid(valid('marking-definition', { definition: { text: 'Copyright' } }), 'definition.statement: must be a string');
  });

  it('TLP 1.0 markings are only the four predefined objects', () => {
    expectValid(TLP_RED_1);
    expectInvalid({ ...TLP_RED_1, definition: { tlp: 'clear' } }, "definition.tlp: must be one of: 'white', 'green', 'amber', 'red'");
    expectInvalid({ ...TLP_RED_1, definition: { tlp: 'amber' } }, 'id: must be the predefined TLP:AMBER marking-definition id');
    expectInvalid({ ...TLP_RED_1, id: 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec' }, 'id: must be the predefined TLP:RED');
    expectInvalid({ ...TLP_RED_1, created: '2017-01-20T00:00:00.001Z' }, 'created: must be 2017-01-20T00:00:00.000Z for a TLP 1.0 marking');
    expectValid({ ...TLP_RED_1, created: '2017-01-20T00:00:00Z' });
  });

  it('TLP 2.0 markings are defined by the OASIS extension, with a known level', () => {
    expectValid(TLP_AMBER_STRICT_2);
    expectInvalid(
      { ...TLP_AMBER_STRICT_2, extensions: { [TLP2_EXT]: { extension_type: 'property-extension', tlp_2_0: 'white' } } },
      `extensions.${TLP2_EXT}.tlp_2_0: must be one of: 'clear', 'green', 'amber', 'amber+strict', 'red'`,
    );
  });

  it('a marking may itself be marked', () => {
    expectValid({ ...valid('marking-definition'), object_marking_refs: [TLP_RED_1.id] });
    expectInvalid(
      { ...valid('marking-definition'), object_marking_refs: ['identity--e357d6a0-bea4-47c9-84f7-1aa79108e709'] },
      'object_marking_refs[0]:',
    );
  });
});

describe('language-content (§7.1)', () => {
  it('requires object_ref and non-empty contents', () => {
    expectInvalid(valid('language-content', { object_ref: undefined }), 'object_ref: is required');
    expectInvalid(valid('language-content', { object_ref: 'campaign' }), 'object_ref: must be a STIX identifier');
    expectInvalid(valid('language-content', { contents: {} }), 'contents: must not be empty');
    expectInvalid(valid('language-content', { contents: { de: 'Hallo' } }), 'contents.de: must be an object');
    expectInvalid(valid('language-content', { object_modified: 'now' }), 'object_modified: must be a STIX timestamp');
  });
});

describe('extension-definition (§7.3)', () => {
  it.each(['created_by_ref', 'name', 'schema', 'version', 'extension_types'])('requires %s', (property) => {
    expectInvalid(valid('extension-definition', { [property]: undefined }), `${property}: is required`);
  });

  it('extension_types come from extension-type-enum', () => {
    expectValid(
      valid('extension-definition', {
        extension_types: ['property-extension', 'toplevel-property-extension'],
        extension_properties: ['rank'],
      }),
    );
    expectInvalid(valid('extension-definition', { extension_types: ['new-thing'] }), 'extension_types[0]: must be one of');
    expectInvalid(valid('extension-definition', { extension_types: [] }), 'extension_types: must not be empty');
  });
});
