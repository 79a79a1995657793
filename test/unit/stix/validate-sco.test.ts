import { describe, it } from 'vitest';
import { expectInvalid, expectValid, valid } from './helpers.ts';

describe('STIX Cyber-observable Objects (§6): required properties', () => {
  it.each([
    ['autonomous-system', 'number'],
    ['directory', 'path'],
    ['domain-name', 'value'],
    ['email-addr', 'value'],
    ['email-message', 'is_multipart'],
    ['ipv4-addr', 'value'],
    ['ipv6-addr', 'value'],
    ['mac-addr', 'value'],
    ['mutex', 'name'],
    ['network-traffic', 'protocols'],
    ['software', 'name'],
    ['url', 'value'],
  ])('%s requires %s', (type, property) => {
    expectInvalid(valid(type, { [property]: undefined }), `${property}: is required`);
  });
});

describe('STIX Cyber-observable Objects (§6): property types', () => {
  it.each([
    ['artifact', { payload_bin: 'not base64!' }, 'payload_bin: must be base64'],
    ['artifact', { encryption_algorithm: 'rot13' }, 'encryption_algorithm: must be one of'],
    ['autonomous-system', { number: 'AS15139' }, 'number: must be a number'],
    [
      'directory',
      { contains_refs: ['url--c1477287-23ac-5971-a010-5c287877fa60'] },
      "contains_refs[0]: must be an identifier of type 'file' or 'directory'",
    ],
    [
      'domain-name',
      { resolves_to_refs: ['url--c1477287-23ac-5971-a010-5c287877fa60'] },
      'resolves_to_refs[0]: must be an identifier of type',
    ],
    [
      'email-addr',
      { belongs_to_ref: 'identity--e357d6a0-bea4-47c9-84f7-1aa79108e709' },
      "belongs_to_ref: must be an identifier of type 'user-account'",
    ],
    ['email-message', { date: 'Sun, 19 Jun 2016 14:20:40 +0000' }, 'date: must be a STIX timestamp'],
    ['email-message', { to_refs: [] }, 'to_refs: must not be empty'],
    ['email-message', { body_multipart: [{ content_type: 'text/plain' }] }, 'body_multipart[0]: must have one of body or body_raw_ref'],
    ['file', { size: -1 }, 'size: must be at least 0'],
    ['file', { hashes: { 'SHA-256': 'abc' } }, 'hashes.SHA-256: must be a SHA-256 digest (64 hex digits)'],
    ['file', { magic_number_hex: 'ffd8f' }, 'magic_number_hex: must be a hex string'],
    [
      'file',
      { parent_directory_ref: 'file--e277603e-1060-5ad4-9937-c26c97f1ca68' },
      "parent_directory_ref: must be an identifier of type 'directory'",
    ],
    [
      'ipv4-addr',
      { belongs_to_refs: ['domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5'] },
      "belongs_to_refs[0]: must be an identifier of type 'autonomous-system'",
    ],
    ['network-traffic', { dst_port: 65536 }, 'dst_port: must be at most 65535'],
    ['network-traffic', { protocols: [] }, 'protocols: must not be empty'],
    ['network-traffic', { src_byte_count: -5 }, 'src_byte_count: must be at least 0'],
    ['process', { pid: '1221' }, 'pid: must be a number'],
    ['process', { parent_ref: 'file--e04f22d1-be2c-59de-add8-10f61d15fe20' }, "parent_ref: must be an identifier of type 'process'"],
    ['user-account', { is_privileged: 'false' }, 'is_privileged: must be a boolean'],
    ['user-account', { account_expires: 'never' }, 'account_expires: must be a STIX timestamp'],
    ['windows-registry-key', { values: [{ name: 'Foo', data_type: 'REG_TEXT' }] }, 'values[0].data_type: must be one of'],
    ['x509-certificate', { validity_not_after: '2016-08-21' }, 'validity_not_after: must be a STIX timestamp'],
    ['x509-certificate', { subject_public_key_exponent: 'big' }, 'subject_public_key_exponent: must be a number'],
    ['url', { defanged: 'yes' }, 'defanged: must be a boolean'],
  ])('%s with %j fails', (type, changes, message) => {
    expectInvalid(valid(type, changes), message);
  });
});

describe('STIX Cyber-observable Objects (§6): rules across properties', () => {
  it('artifact: payload_bin or url, not both; url needs hashes', () => {
    expectInvalid(valid('artifact', { payload_bin: undefined }), 'at least one of payload_bin, url must be present');
    expectInvalid(
      valid('artifact', { url: 'https://example.com/x.bin', hashes: { MD5: 'd41d8cd98f00b204e9800998ecf8427e' } }),
      'url: must not be present together with payload_bin',
    );
    expectInvalid(
      valid('artifact', { payload_bin: undefined, url: 'https://example.com/x.bin' }),
      'hashes: is required when url is present',
    );
  });

  it('email-message: body only when not multipart, body_multipart only when multipart', () => {
    expectValid(valid('email-message', { is_multipart: false, body_multipart: undefined, body: 'Hello' }));
    expectInvalid(valid('email-message', { body: 'Hello' }), 'body: must not be present when is_multipart is true');
    expectInvalid(valid('email-message', { is_multipart: false }), 'body_multipart: must not be present when is_multipart is false');
  });

  it('file: hashes or name', () => {
    expectValid(valid('file', { hashes: undefined }));
    expectInvalid(valid('file', { hashes: undefined, name: undefined }), 'at least one of hashes, name must be present');
  });

  it('network-traffic: src_ref or dst_ref; end not before start; no end while active', () => {
    expectInvalid(valid('network-traffic', { src_ref: undefined, dst_ref: undefined }), 'at least one of src_ref, dst_ref must be present');
    expectInvalid(valid('network-traffic', { end: '2015-12-31T23:59:59Z' }), 'end: must be later than or equal to start');
    expectInvalid(valid('network-traffic', { is_active: true }), 'end: must not be present when is_active is true');
    expectValid(valid('network-traffic', { is_active: true, end: undefined }));
  });

  it('process and x509-certificate: at least one property of their own', () => {
    const process = { type: 'process', spec_version: '2.1', id: 'process--f52a906a-0dfc-40bd-92f1-e7778ead38a9' };
    expectInvalid(process, 'must have at least one property besides the common properties');
    expectValid({ ...process, extensions: { 'windows-process-ext': { aslr_enabled: true } } });
    expectInvalid(
      { type: 'x509-certificate', id: 'x509-certificate--463d7b2a-8516-5a50-a3d7-6f801465d5de', defanged: false },
      'must have at least one property',
    );
  });

  it('addresses are not format-checked, since defanged values are legitimate', () => {
    expectValid(valid('ipv4-addr', { value: '198.51.100[.]3', defanged: true }));
  });
});

describe('predefined extensions (§6.7 file, §6.12 network-traffic, §6.13 process, §6.16 user-account)', () => {
  it.each([
    ['file', { 'archive-ext': { comment: 'no contents' } }, 'extensions.archive-ext.contains_refs: is required'],
    ['file', { 'windows-pebinary-ext': { imphash: 'x' } }, 'extensions.windows-pebinary-ext.pe_type: is required'],
    ['file', { 'ntfs-ext': { alternate_data_streams: [{ size: 1 }] } }, 'extensions.ntfs-ext.alternate_data_streams[0].name: is required'],
    ['network-traffic', { 'http-request-ext': { request_method: 'get' } }, 'extensions.http-request-ext.request_value: is required'],
    [
      'network-traffic',
      { 'icmp-ext': { icmp_type_hex: '08', icmp_code_hex: 'z' } },
      'extensions.icmp-ext.icmp_code_hex: must be a hex string',
    ],
    ['network-traffic', { 'socket-ext': { address_family: 'AF_MARS' } }, 'extensions.socket-ext.address_family: must be one of'],
    ['process', { 'windows-service-ext': { start_type: 'SOMETIMES' } }, 'extensions.windows-service-ext.start_type: must be one of'],
    [
      'process',
      { 'windows-process-ext': { integrity_level: 'extreme' } },
      'extensions.windows-process-ext.integrity_level: must be one of',
    ],
    ['user-account', { 'unix-account-ext': { gid: 'wheel' } }, 'extensions.unix-account-ext.gid: must be a number'],
  ])('%s with %j fails', (type, extensions, message) => {
    expectInvalid(valid(type, { extensions }), message);
  });

  it('accepts extension-definition extensions on observables', () => {
    expectValid(
      valid('file', {
        extensions: { 'extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e': { extension_type: 'property-extension', x: 1 } },
      }),
    );
  });
});
