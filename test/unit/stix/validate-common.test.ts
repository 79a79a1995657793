import { describe, expect, it } from 'vitest';
import { validateStixObject } from '../../../src/stix/validate.ts';
import { expectInvalid, expectValid, valid } from './helpers.ts';

const IDENTITY = 'identity--e357d6a0-bea4-47c9-84f7-1aa79108e709';
const TLP_GREEN = 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da';
const TLP_RED = 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed';

describe('type (§3)', () => {
  it('is required and must be a string', () => {
    expectInvalid(valid('tool', { type: undefined }), 'type: is required');
    expectInvalid(valid('tool', { type: 7 }), 'type: must be a string');
  });

  it('must be 3-250 characters of a-z, 0-9 and single hyphens', () => {
    expectInvalid(valid('tool', { type: 'Tool' }), "type: 'Tool' is not a STIX type");
    expectInvalid(valid('tool', { type: 'x--tool' }), 'type:');
    expectInvalid(valid('tool', { type: 'ab' }), 'type:');
  });

  it('is not bundle: a bundle is a container, not an object to store', () => {
    expectInvalid({ type: 'bundle', id: 'bundle--39b3ddf3-51e8-4810-9be3-c7cea641e983', objects: [] }, "type: 'bundle'");
  });
});

describe('id (§2, §3)', () => {
  it('is required', () => {
    expectInvalid(valid('tool', { id: undefined }), 'id: is required');
  });

  it('has the object type as its prefix', () => {
    expectInvalid(
      valid('indicator', { id: 'malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f' }),
      "id: type prefix 'malware' does not match type 'indicator'",
    );
  });

  it('ends with an RFC 4122 UUID of any version for SDOs, upper-case hex included', () => {
    expectValid(valid('tool', { id: 'tool--6ba7b810-9dad-11d1-80b4-00c04fd430c8' }));
    expectValid(valid('tool', { id: 'tool--6BA7B810-9DAD-41D1-80B4-00C04FD430C8' }));
    expectInvalid(valid('tool', { id: 'tool--not-a-uuid' }), "id: 'not-a-uuid' is not an RFC 4122 UUID");
    expectInvalid(valid('tool', { id: 'tool' }), "id: must be 'tool--' followed by a UUID");
  });

  it('ends with a UUID version 4 or 5 for SCOs', () => {
    expectValid(valid('url', { id: 'url--c1477287-23ac-4971-a010-5c287877fa60' }));
    expectInvalid(valid('url', { id: 'url--6ba7b810-9dad-11d1-80b4-00c04fd430c8' }), 'id: must be', 'UUID version 4 or 5');
  });
});

describe('spec_version (§3)', () => {
  it('must be "2.1" on 2.1 objects', () => {
    expectInvalid(valid('tool', { spec_version: '2.2' }), "spec_version: must be '2.1'");
    expectInvalid(valid('tool', { spec_version: 2.1 }), "spec_version: must be '2.1'");
    expectInvalid(valid('url', { spec_version: '2.0' }), "spec_version: must be '2.1'");
  });

  it('may be omitted on SCOs, which then default to 2.1', () => {
    const result = validateStixObject(valid('url', { spec_version: undefined }));
    expect(result.ok && result.meta.specVersion).toBe('2.1');
  });

  it('is required on language-content and extension-definition, which STIX 2.0 did not have', () => {
    expectInvalid(valid('language-content', { spec_version: undefined }), 'spec_version: is required');
    expectInvalid(valid('extension-definition', { spec_version: '2.0' }), "spec_version: must be '2.1'");
  });
});

describe('created and modified (§3)', () => {
  it('are required timestamps on SDOs and SROs', () => {
    expectInvalid(valid('campaign', { created: undefined }), 'created: is required');
    expectInvalid(valid('relationship', { modified: undefined }), 'modified: is required');
    expectInvalid(valid('campaign', { created: '2016-04-06T20:03:00+01:00' }), "created: must be a STIX timestamp (RFC 3339, UTC, 'Z')");
    expectInvalid(valid('campaign', { modified: '2016-04-31T20:03:00Z' }), 'modified: must be a STIX timestamp');
  });

  it('modified is later than or equal to created, compared below the millisecond', () => {
    expectValid(valid('tool', { created: '2016-01-01T00:00:00.0000001Z', modified: '2016-01-01T00:00:00.0000002Z' }));
    expectValid(valid('tool', { created: '2016-01-01T00:00:00Z', modified: '2016-01-01T00:00:00.000Z' }));
    expectInvalid(
      valid('tool', { created: '2016-01-01T00:00:00.0000002Z', modified: '2016-01-01T00:00:00.0000001Z' }),
      'modified: must be later than or equal to created',
    );
  });
});

describe('optional common properties (§3)', () => {
  it('created_by_ref is an identity identifier', () => {
    expectValid(valid('tool', { created_by_ref: IDENTITY }));
    expectInvalid(
      valid('tool', { created_by_ref: 'malware--09b85e14-8076-4d23-bd37-26794c9ae662' }),
      "created_by_ref: must be an identifier of type 'identity'",
    );
  });

  it('revoked is a boolean', () => {
    expectInvalid(valid('tool', { revoked: 'yes' }), 'revoked: must be a boolean');
  });

  it('labels is a non-empty list of strings', () => {
    expectInvalid(valid('tool', { labels: [] }), 'labels: must not be empty');
    expectInvalid(valid('tool', { labels: ['ok', 3] }), 'labels[1]: must be a string');
    expectInvalid(valid('tool', { labels: 'one' }), 'labels: must be a list');
  });

  it('confidence is an integer from 0 to 100', () => {
    expectValid(valid('tool', { confidence: 0 }));
    expectValid(valid('tool', { confidence: 100 }));
    expectInvalid(valid('tool', { confidence: 101 }), 'confidence: must be at most 100');
    expectInvalid(valid('tool', { confidence: -1 }), 'confidence: must be at least 0');
    expectInvalid(valid('tool', { confidence: 50.5 }), 'confidence: must be an integer');
  });

  it('lang is a string', () => {
    expectInvalid(valid('tool', { lang: ['en'] }), 'lang: must be a string');
  });

  it('external_references each have source_name and one of description, url, external_id', () => {
    expectValid(
      valid('tool', { external_references: [{ source_name: 'veris', url: 'https://example.com', hashes: { 'SHA-256': 'a'.repeat(64) } }] }),
    );
    expectInvalid(valid('tool', { external_references: [] }), 'external_references: must not be empty');
    expectInvalid(
      valid('tool', { external_references: [{ url: 'https://example.com' }] }),
      'external_references[0].source_name: is required',
    );
    expectInvalid(
      valid('tool', { external_references: [{ source_name: 'capec' }] }),
      'external_references[0]: must have at least one of description, url or external_id',
    );
  });

  it('external reference hashes are a non-empty dictionary with well-formed known digests', () => {
    const withHashes = (hashes: unknown) =>
      valid('tool', { external_references: [{ source_name: 'x', url: 'https://example.com', hashes }] });
    expectValid(withHashes({ 'SHA-256': 'A'.repeat(64), 'x-custom-hash': 'anything' }));
    expectInvalid(withHashes({}), 'external_references[0].hashes: must not be empty');
    expectInvalid(withHashes({ MD5: 'xyz' }), 'external_references[0].hashes.MD5: must be a MD5 digest (32 hex digits)');
    expectInvalid(withHashes({ 'bad key': 'a' }), "external_references[0].hashes.bad key: key 'bad key' is not allowed");
  });

  it('object_marking_refs is a non-empty list of marking-definition identifiers', () => {
    expectValid(valid('tool', { object_marking_refs: [TLP_GREEN] }));
    expectInvalid(valid('tool', { object_marking_refs: [] }), 'object_marking_refs: must not be empty');
    expectInvalid(
      valid('tool', { object_marking_refs: [IDENTITY] }),
      "object_marking_refs[0]: must be an identifier of type 'marking-definition'",
    );
  });

  it('granular_markings have non-empty selectors and exactly one of marking_ref and lang', () => {
    const tool = (markings: unknown) => valid('tool', { granular_markings: markings });
    expectValid(
      tool([
        { marking_ref: TLP_RED, selectors: ['name'] },
        { lang: 'en', selectors: ['name', 'tool_types.[0]'] },
      ]),
    );
    expectInvalid(tool([{ selectors: ['name'] }]), 'granular_markings[0]: must have exactly one of marking_ref and lang');
    expectInvalid(tool([{ marking_ref: TLP_RED, lang: 'en', selectors: ['name'] }]), 'granular_markings[0]: must have exactly one');
    expectInvalid(tool([{ marking_ref: TLP_RED, selectors: [] }]), 'granular_markings[0].selectors: must not be empty');
    expectInvalid(tool([{ marking_ref: IDENTITY, selectors: ['name'] }]), 'granular_markings[0].marking_ref: must be an identifier');
  });

  it('granular marking selectors select properties and list items of the object itself (§7.2.3)', () => {
    const threatActor = valid('threat-actor');
    expectValid({ ...threatActor, granular_markings: [{ marking_ref: TLP_RED, selectors: ['aliases.[0]', 'goals', 'name'] }] });
    expectValid({
      ...valid('attack-pattern'),
      granular_markings: [{ marking_ref: TLP_RED, selectors: ['kill_chain_phases.[0].phase_name'] }],
    });
    expectInvalid(
      { ...threatActor, granular_markings: [{ marking_ref: TLP_RED, selectors: ['aliases.[1]'] }] },
      "granular_markings[0].selectors[0]: 'aliases.[1]' does not select",
    );
    expectInvalid({ ...threatActor, granular_markings: [{ marking_ref: TLP_RED, selectors: ['nope'] }] }, "'nope' does not select");
    expectInvalid(
      { ...threatActor, granular_markings: [{ marking_ref: TLP_RED, selectors: ['constructor'] }] },
      "'constructor' does not select",
    );
  });

  it('extensions are keyed by extension-definition ids or extension names, each an object', () => {
    const ext = 'extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e';
    expectValid(valid('tool', { extensions: { [ext]: { extension_type: 'property-extension', rank: 5 } } }));
    expectValid(valid('tool', { extensions: { 'x-acme-ext': { rank: 5 } } }));
    expectInvalid(valid('tool', { extensions: { [ext]: 'on' } }), `extensions.${ext}: must be an object`);
    expectInvalid(valid('tool', { extensions: { 'no spaces': {} } }), 'extensions.no spaces: must be keyed by');
    expectInvalid(valid('tool', { extensions: { 'extension-definition--nope': {} } }), 'must be keyed by an extension-definition id');
    expectInvalid(
      valid('tool', { extensions: { [ext]: { extension_type: 'new-thing' } } }),
      `extensions.${ext}.extension_type: must be one of`,
    );
  });
});

describe('custom content (§11)', () => {
  it('accepts and keeps custom properties, leaving the object untouched', () => {
    const tool = valid('tool', { x_acme_score: 7, x_acme_details: { nested: [1, 2] }, x_acme_flags: [] });
    const before = structuredClone(tool);
    expectValid(tool);
    expect(tool).toEqual(before);
  });

  it('custom property names are 3-250 characters of a-z, 0-9 and _, starting with a letter', () => {
    expectInvalid(valid('tool', { 'x-acme-score': 1 }), "'x-acme-score': is not a valid property name");
    expectInvalid(valid('tool', { xAcme: 1 }), "'xAcme': is not a valid property name");
    expectInvalid(valid('tool', { x: 1 }), "'x': is not a valid property name");
    expectInvalid(valid('tool', { _x_acme: 1 }), "'_x_acme': is not a valid property name");
  });

  it('a custom property named *_ref or *_refs may hold any value: §11.1 rules its name, not its value', () => {
    // MITRE ATT&CK for ICS ships objects with "x_mitre_data_source_ref": "".
    expectValid({
      type: 'x-mitre-data-component',
      spec_version: '2.1',
      id: 'x-mitre-data-component--3d20385b-24ef-40e1-9f56-f39750379077',
      created: '2021-10-20T15:05:19.274Z',
      modified: '2022-04-25T14:00:00.188Z',
      name: 'Process Creation',
      x_mitre_data_source_ref: '',
      object_marking_refs: [TLP_GREEN],
    });
    expectValid(valid('tool', { x_mitre_data_source_ref: '' }));
    expectValid(valid('tool', { x_foo_refs: [''] }));
    expectValid(valid('tool', { x_acme_owner_ref: 'bob', x_acme_related_refs: [IDENTITY, 'bob'], x_acme_other_refs: IDENTITY }));
    expectValid(valid('tool', { x_acme_count_ref: 7, x_acme_map_refs: { a: 1 }, x_opencti_granted_refs: [] }));
    expectValid(valid('file', { x_acme_seen_ref: '' }));
    expectValid(valid('tool', { x_acme_owner_ref: IDENTITY, x_acme_related_refs: [IDENTITY] }));
  });

  it('a custom *_ref name still follows the name rules', () => {
    expectInvalid(valid('tool', { 'x-acme-owner_ref': IDENTITY }), "'x-acme-owner_ref': is not a valid property name");
    expectInvalid(valid('tool', { X_acme_owner_ref: IDENTITY }), "'X_acme_owner_ref': is not a valid property name");
  });

  it('spec reference properties keep their types: an empty or malformed value is refused', () => {
    expectInvalid(valid('tool', { created_by_ref: '' }), "created_by_ref: must be an identifier of type 'identity'");
    expectInvalid(
      valid('tool', { object_marking_refs: [''] }),
      "object_marking_refs[0]: must be an identifier of type 'marking-definition'",
    );
    expectInvalid(
      valid('tool', { granular_markings: [{ marking_ref: '', selectors: ['name'] }] }),
      'granular_markings[0].marking_ref: must be an identifier',
    );
    expectInvalid(valid('relationship', { source_ref: '' }), 'source_ref: must be a STIX identifier');
    expectInvalid(valid('relationship', { target_ref: 'bob' }), 'target_ref: must be a STIX identifier');
    expectInvalid(valid('sighting', { sighting_of_ref: '' }), 'sighting_of_ref: must be a STIX identifier');
    expectInvalid(valid('sighting', { where_sighted_refs: [''] }), 'where_sighted_refs[0]: must be an identifier');
    expectInvalid(valid('report', { object_refs: [IDENTITY, ''] }), 'object_refs[1]: must be a STIX identifier');
    expectInvalid(valid('report', { object_refs: [] }), 'object_refs: must not be empty');
    expectInvalid(valid('email-message', { from_ref: '' }), 'from_ref: must be an identifier');
  });

  it('accepts custom object types that satisfy the common rules', () => {
    const tactic = {
      type: 'x-mitre-tactic',
      spec_version: '2.1',
      id: 'x-mitre-tactic--2558fd61-8c75-4730-94c4-11926db2a263',
      created: '2018-10-17T00:14:20.652Z',
      modified: '2019-07-19T17:42:06.909Z',
      name: 'Credential Access',
      x_mitre_shortname: 'credential-access',
      object_marking_refs: [TLP_GREEN],
    };
    const result = validateStixObject(tactic);
    expect(result).toEqual({
      ok: true,
      meta: { id: tactic.id, type: 'x-mitre-tactic', specVersion: '2.1', version: '2019-07-19T17:42:06.909Z', markingRefs: [TLP_GREEN] },
    });
    expectValid({ type: 'x-opencti-text', id: 'x-opencti-text--07cd5e2c-3b77-5e91-8a8a-2dd7bb7e8a8e', value: 'hello' });
    expectInvalid({ ...tactic, modified: '2018-10-17' }, 'modified: must be a STIX timestamp');
    expectInvalid({ ...tactic, modified: '2018-10-16T00:00:00Z' }, 'modified: must be later than or equal to created');
    expectInvalid({ ...tactic, id: 'x-mitre-tactic--nope' }, 'id:');
  });

  it('accepts a new object type defined by an extension definition (§7.3)', () => {
    expectValid({
      type: 'my-favorite-sdo',
      spec_version: '2.1',
      id: 'my-favorite-sdo--ac97aae4-83f1-46ca-a351-7aeb76678189',
      created: '2014-02-20T09:16:08.989Z',
      modified: '2014-02-20T09:16:08.989Z',
      name: 'This is the name of my favorite',
      some_property_name1: 'value1',
      extensions: { 'extension-definition--9c59fd79-4215-4ba2-920d-3e4f320e1e62': { extension_type: 'new-sdo' } },
    });
  });
});

describe('STIX 2.0 objects, stored beside 2.1 ones', () => {
  const indicator20 = {
    type: 'indicator',
    id: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f',
    created: '2016-04-06T20:03:48.000Z',
    modified: '2016-04-06T20:03:48.000Z',
    labels: ['malicious-activity'],
    pattern: "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
    valid_from: '2016-01-01T00:00:00Z',
  };

  it('accepts an SDO without spec_version, or with "2.0", and reports 2.0', () => {
    for (const object of [indicator20, { ...indicator20, spec_version: '2.0' }]) {
      const result = validateStixObject(object);
      expect(result.ok && result.meta).toEqual({
        id: indicator20.id,
        type: 'indicator',
        specVersion: '2.0',
        version: indicator20.modified,
        markingRefs: [],
      });
    }
  });

  it('still requires well-formed id, created and modified', () => {
    expectInvalid({ ...indicator20, created: undefined }, 'created: is required');
    expectInvalid({ ...indicator20, modified: 'yesterday' }, 'modified: must be a STIX timestamp');
    expectInvalid({ ...indicator20, id: 'malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f' }, 'id: type prefix');
    expectInvalid({ ...indicator20, created_by_ref: 'me' }, "created_by_ref: must be an identifier of type 'identity'");
  });

  it('still requires identifiers in the reference properties STIX defines for the type', () => {
    const relationship20 = valid('relationship', { spec_version: undefined });
    expectValid(relationship20);
    expectInvalid({ ...relationship20, source_ref: '' }, 'source_ref: must be a STIX identifier');
    expectInvalid({ ...relationship20, target_ref: 7 }, 'target_ref: must be a STIX identifier');
    const sighting20 = valid('sighting', { spec_version: undefined });
    expectInvalid(
      { ...sighting20, observed_data_refs: 'observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf' },
      'observed_data_refs: must be a list of STIX identifiers',
    );
    expectInvalid({ ...sighting20, where_sighted_refs: [IDENTITY, ''] }, 'where_sighted_refs[1]: must be a STIX identifier');
    expectInvalid(valid('report', { spec_version: undefined, object_refs: ['bob'] }), 'object_refs[0]: must be a STIX identifier');
  });

  it('accepts any value in a custom *_ref property, as for 2.1', () => {
    expectValid({ ...indicator20, x_mitre_data_source_ref: '', x_foo_refs: [''] });
  });

  it('accepts a 2.0 TLP marking-definition (no spec_version)', () => {
    const result = validateStixObject({
      type: 'marking-definition',
      id: TLP_GREEN,
      created: '2017-01-20T00:00:00.000Z',
      definition_type: 'tlp',
      definition: { tlp: 'green' },
    });
    expect(result.ok && result.meta.specVersion).toBe('2.0');
  });
});

describe('meta', () => {
  it('reports id, type, spec version, version and every marking reference once', () => {
    const result = validateStixObject(
      valid('indicator', {
        modified: '2017-01-01T00:00:00.123456Z',
        object_marking_refs: [TLP_GREEN],
        granular_markings: [
          { marking_ref: TLP_RED, selectors: ['name'] },
          { marking_ref: TLP_GREEN, selectors: ['pattern'] },
          { lang: 'fr', selectors: ['name'] },
        ],
      }),
    );
    expect(result).toEqual({
      ok: true,
      meta: {
        id: 'indicator--1b5ff68c-b091-4782-8024-02d403c18265',
        type: 'indicator',
        specVersion: '2.1',
        version: '2017-01-01T00:00:00.123456Z',
        markingRefs: [TLP_GREEN, TLP_RED],
      },
    });
  });

  it('uses created as the version when there is no modified, and null when neither', () => {
    const marking = validateStixObject(valid('marking-definition'));
    expect(marking.ok && marking.meta.version).toBe('2016-08-01T00:00:00.000Z');
    const file = validateStixObject(valid('file'));
    expect(file.ok && file.meta.version).toBe(null);
  });

  it('reports the id and version it could read when the object is invalid', () => {
    expect(validateStixObject(valid('tool', { name: undefined }))).toEqual({
      ok: false,
      id: 'tool--40feea8d-a469-4acd-ba6e-bccc7d1d1cda',
      version: '2016-04-06T20:03:48.000Z',
      message: 'name: is required',
    });
    expect(validateStixObject({ type: 'tool', id: 12, created: '2016-04-06T20:03:48.000Z' })).toMatchObject({
      ok: false,
      id: null,
      version: '2016-04-06T20:03:48.000Z',
    });
  });

  it('gives a few issues in one message, not a dump', () => {
    const message = expectInvalid(valid('tool', { name: 1, labels: [], confidence: 1000, revoked: 'no', lang: 5 }));
    expect(message).toBe('revoked: must be a boolean; labels: must not be empty; confidence: must be at most 100; and 2 more');
  });
});
