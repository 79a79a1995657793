import { describe, expect, it } from 'vitest';
import { expectInvalid, expectValid, valid } from './helpers.ts';

describe('STIX Domain Objects (§4): required properties', () => {
  it.each([
    ['attack-pattern', 'name'],
    ['campaign', 'name'],
    ['course-of-action', 'name'],
    ['grouping', 'context'],
    ['grouping', 'object_refs'],
    ['identity', 'name'],
    ['incident', 'name'],
    ['indicator', 'pattern'],
    ['indicator', 'pattern_type'],
    ['indicator', 'valid_from'],
    ['infrastructure', 'name'],
    ['intrusion-set', 'name'],
    ['malware', 'is_family'],
    ['malware-analysis', 'product'],
    ['note', 'content'],
    ['note', 'object_refs'],
    ['observed-data', 'first_observed'],
    ['observed-data', 'last_observed'],
    ['observed-data', 'number_observed'],
    ['opinion', 'opinion'],
    ['opinion', 'object_refs'],
    ['report', 'name'],
    ['report', 'published'],
    ['report', 'object_refs'],
    ['threat-actor', 'name'],
    ['tool', 'name'],
    ['vulnerability', 'name'],
    ['relationship', 'relationship_type'],
    ['relationship', 'source_ref'],
    ['relationship', 'target_ref'],
    ['sighting', 'sighting_of_ref'],
  ])('%s requires %s', (type, property) => {
    expectInvalid(valid(type, { [property]: undefined }), `${property}: is required`);
  });
});

describe('STIX Domain Objects (§4): property types', () => {
  it.each([
    ['attack-pattern', { aliases: [] }, 'aliases: must not be empty'],
    ['attack-pattern', { kill_chain_phases: [{ kill_chain_name: 'lockheed' }] }, 'kill_chain_phases[0].phase_name: is required'],
    ['campaign', { first_seen: '2016-01-01' }, 'first_seen: must be a STIX timestamp'],
    ['grouping', { object_refs: ['not-an-id'] }, 'object_refs[0]: must be a STIX identifier'],
    ['grouping', { object_refs: [] }, 'object_refs: must not be empty'],
    ['identity', { sectors: 'technology' }, 'sectors: must be a list'],
    ['indicator', { valid_until: 'tomorrow' }, 'valid_until: must be a STIX timestamp'],
    ['location', { latitude: 91, longitude: 0 }, 'latitude: must be at most 90'],
    ['location', { longitude: -180.5, latitude: 0 }, 'longitude: must be at least -180'],
    ['location', { precision: -1 }, 'precision: must be at least 0'],
    ['malware', { is_family: 'true' }, 'is_family: must be a boolean'],
    [
      'malware',
      { operating_system_refs: ['file--9c54e5a4-272d-4049-b741-d878bc476325'] },
      "operating_system_refs[0]: must be an identifier of type 'software'",
    ],
    [
      'malware',
      { sample_refs: ['url--c1477287-23ac-5971-a010-5c287877fa60'] },
      "sample_refs[0]: must be an identifier of type 'file' or 'artifact'",
    ],
    ['malware-analysis', { sample_ref: 'url--c1477287-23ac-5971-a010-5c287877fa60' }, 'sample_ref: must be an identifier of type'],
    ['malware-analysis', { submitted: '2018' }, 'submitted: must be a STIX timestamp'],
    ['observed-data', { number_observed: 0 }, 'number_observed: must be at least 1'],
    ['observed-data', { number_observed: 1_000_000_000 }, 'number_observed: must be at most 999999999'],
    ['observed-data', { number_observed: 1.5 }, 'number_observed: must be an integer'],
    ['opinion', { opinion: 'maybe' }, "opinion: must be one of: 'strongly-disagree', 'disagree', 'neutral', 'agree', 'strongly-agree'"],
    ['report', { published: '2016-01-20T17:00:00.000+00:00' }, 'published: must be a STIX timestamp'],
    ['threat-actor', { personal_motivations: [1] }, 'personal_motivations[0]: must be a string'],
    ['tool', { tool_version: 4.1 }, 'tool_version: must be a string'],
  ])('%s with %j fails', (type, changes, message) => {
    expectInvalid(valid(type, changes), message);
  });
});

describe('STIX Domain Objects (§4): rules across properties', () => {
  it('last_seen is later than or equal to first_seen (campaign, infrastructure, intrusion-set, malware, threat-actor)', () => {
    for (const type of ['campaign', 'infrastructure', 'intrusion-set', 'malware', 'threat-actor']) {
      expectValid(valid(type, { first_seen: '2016-01-01T00:00:00Z', last_seen: '2016-01-01T00:00:00.000Z' }));
      expectInvalid(
        valid(type, { first_seen: '2016-01-01T00:00:00.001Z', last_seen: '2016-01-01T00:00:00Z' }),
        'last_seen: must be later than or equal to first_seen',
      );
    }
  });

  it('indicator: valid_until is later than valid_from', () => {
    expectInvalid(valid('indicator', { valid_until: '2016-01-01T00:00:00.000Z' }), 'valid_until: must be later than valid_from');
    expectInvalid(valid('indicator', { valid_until: '2015-01-01T00:00:00Z' }), 'valid_until: must be later than valid_from');
  });

  it('indicator: a stix pattern must parse, and the failure says where', () => {
    expectValid(
      valid('indicator', {
        pattern: "[ipv4-addr:value = '198.51.100.1/32'] FOLLOWEDBY [domain-name:value = 'example.com'] WITHIN 600 SECONDS",
      }),
    );
    const message = expectInvalid(valid('indicator', { pattern: "[file:name = 'x' AND]" }));
    expect(message).toMatch(/^pattern: syntax error at line 1, column \d+: \S/);
    expectInvalid(valid('indicator', { pattern: "[file:name = 'x'" }), 'pattern: syntax error at line 1');
    expectInvalid(valid('indicator', { pattern: "[file:name = 'x']\nAND [file:size = ]" }), 'pattern: syntax error at line 2');
  });

  it('indicator: patterns in other languages are not parsed', () => {
    expectValid(valid('indicator', { pattern_type: 'yara', pattern: 'rule x { condition: true }' }));
    expectValid(valid('indicator', { pattern_type: 'sigma', pattern: '[not stix' }));
  });

  it('location: a region, a country, or latitude and longitude together; precision needs both', () => {
    expectValid(valid('location', { latitude: undefined, longitude: undefined, precision: undefined, country: 'fr' }));
    expectInvalid(
      valid('location', { latitude: undefined, longitude: undefined, precision: undefined, city: 'Paris' }),
      'at least one of region, country, latitude must be present',
    );
    expectInvalid(valid('location', { longitude: undefined, precision: undefined }), 'longitude: is required when latitude is present');
    expectInvalid(
      valid('location', { latitude: undefined, precision: undefined, country: 'fr' }),
      'latitude: is required when longitude is present',
    );
    expectInvalid(
      valid('location', { latitude: undefined, longitude: undefined, region: 'europe' }),
      'latitude: is required when precision is present',
    );
  });

  it('malware: a family has a name', () => {
    expectValid(valid('malware', { name: undefined, is_family: false }));
    expectInvalid(valid('malware', { name: undefined }), 'name: is required when is_family is true');
  });

  it('malware-analysis: result or analysis_sco_refs', () => {
    expectValid(valid('malware-analysis', { result: undefined, analysis_sco_refs: ['file--9c54e5a4-272d-4049-b741-d878bc476325'] }));
    expectInvalid(valid('malware-analysis', { result: undefined }), 'at least one of result, analysis_sco_refs must be present');
  });

  it('observed-data: last_observed >= first_observed, and exactly one of object_refs and objects', () => {
    expectInvalid(
      valid('observed-data', { last_observed: '2015-12-21T18:59:59.999Z' }),
      'last_observed: must be later than or equal to first_observed',
    );
    expectValid(valid('observed-data', { object_refs: undefined, objects: { 0: { type: 'ipv4-addr', value: '198.51.100.3' } } }));
    expectInvalid(valid('observed-data', { object_refs: undefined }), 'at least one of object_refs, objects must be present');
    expectInvalid(
      valid('observed-data', { objects: { 0: { type: 'file', name: 'a' } } }),
      'objects: must not be present together with object_refs',
    );
  });
});

describe('STIX Relationship Objects (§5)', () => {
  it('relationship: relationship_type is limited to a-z, 0-9 and hyphen', () => {
    expectValid(valid('relationship', { relationship_type: 'x-acme-controls' }));
    expectInvalid(valid('relationship', { relationship_type: 'Indicates' }), 'relationship_type: must be limited to a-z, 0-9 and hyphen');
  });

  it('relationship: source_ref and target_ref are identifiers', () => {
    expectValid(valid('relationship', { target_ref: 'x-mitre-tactic--2558fd61-8c75-4730-94c4-11926db2a263' }));
    expectInvalid(valid('relationship', { source_ref: 'indicator' }), 'source_ref: must be a STIX identifier');
    expectInvalid(valid('relationship', { target_ref: ['malware--09b85e14-8076-4d23-bd37-26794c9ae662'] }), 'target_ref: must be a string');
  });

  it('relationship: stop_time is later than start_time', () => {
    expectInvalid(valid('relationship', { stop_time: '2016-04-06T20:06:37.000Z' }), 'stop_time: must be later than start_time');
  });

  it('sighting: count from 0 to 999999999', () => {
    expectValid(valid('sighting', { count: 999_999_999 }));
    expectInvalid(valid('sighting', { count: -1 }), 'count: must be at least 0');
    expectInvalid(valid('sighting', { count: 1_000_000_000 }), 'count: must be at most 999999999');
  });

  it('sighting: last_seen is later than or equal to first_seen', () => {
    expectInvalid(valid('sighting', { last_seen: '2015-12-21T18:00:00Z' }), 'last_seen: must be later than or equal to first_seen');
  });

  it('sighting: where_sighted_refs are identities or locations, observed_data_refs observed-data', () => {
    expectInvalid(
      valid('sighting', { where_sighted_refs: ['malware--09b85e14-8076-4d23-bd37-26794c9ae662'] }),
      "where_sighted_refs[0]: must be an identifier of type 'identity' or 'location'",
    );
    expectInvalid(
      valid('sighting', { observed_data_refs: ['identity--e357d6a0-bea4-47c9-84f7-1aa79108e709'] }),
      "observed_data_refs[0]: must be an identifier of type 'observed-data'",
    );
    expectInvalid(valid('sighting', { summary: 'no' }), 'summary: must be a boolean');
  });
});
