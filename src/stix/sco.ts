// STIX Cyber-observable Objects (STIX 2.1 §6). Address values are not format-checked:
// defanged objects (`defanged: true`) legitimately carry values like "198.51.100[.]3".
import { z } from 'zod';
import {
  binarySchema,
  dictionarySchema,
  hashesSchema,
  hexSchema,
  list,
  nonNegativeIntSchema,
  scoShape,
  stringListSchema,
} from './common.ts';
import { refListSchema, refSchema } from './identifiers.ts';
import { atLeastOneOf, inOrder, notBoth, notOnlyCommon, requires, stixObject } from './rules.ts';
import type { Rule } from './rules.ts';
import { fileExtensions, networkTrafficExtensions, processExtensions, userAccountExtensions } from './sco-extensions.ts';
import { timestampSchema } from './timestamp.ts';

const SCO_COMMON = ['type', 'id', 'spec_version', 'object_marking_refs', 'granular_markings', 'defanged'] as const;
const optionalString = z.string().optional();
const optionalTimestamp = timestampSchema.optional();

export const artifactSchema = stixObject(
  {
    ...scoShape('artifact'),
    mime_type: optionalString,
    payload_bin: binarySchema.optional(),
    url: optionalString,
    hashes: hashesSchema.optional(),
    encryption_algorithm: z.enum(['AES-256-GCM', 'ChaCha20-Poly1305', 'mime-type-indicated']).optional(),
    decryption_key: optionalString,
  },
  atLeastOneOf('payload_bin', 'url'),
  notBoth('payload_bin', 'url'),
  requires('url', 'hashes'),
);

export const autonomousSystemSchema = stixObject({
  ...scoShape('autonomous-system'),
  number: nonNegativeIntSchema,
  name: optionalString,
  rir: optionalString,
});

export const directorySchema = stixObject({
  ...scoShape('directory'),
  path: z.string(),
  path_enc: optionalString,
  ctime: optionalTimestamp,
  mtime: optionalTimestamp,
  atime: optionalTimestamp,
  contains_refs: refListSchema('file', 'directory').optional(),
});

export const domainNameSchema = stixObject({
  ...scoShape('domain-name'),
  value: z.string(),
  resolves_to_refs: refListSchema('ipv4-addr', 'ipv6-addr', 'domain-name').optional(),
});

export const emailAddrSchema = stixObject({
  ...scoShape('email-addr'),
  value: z.string(),
  display_name: optionalString,
  belongs_to_ref: refSchema('user-account').optional(),
});

const mimePartSchema = z
  .looseObject({
    body: optionalString,
    body_raw_ref: refSchema('artifact', 'file').optional(),
    content_type: optionalString,
    content_disposition: optionalString,
  })
  .refine((part) => part.body !== undefined || part.body_raw_ref !== undefined, 'must have one of body or body_raw_ref');

// §6.6: a multipart message has body_multipart and no body, and the other way round.
const multipartConsistent: Rule = (object, ctx) => {
  if (object['is_multipart'] === true && object['body'] !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['body'], message: 'must not be present when is_multipart is true' });
  }
  if (object['is_multipart'] === false && object['body_multipart'] !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['body_multipart'], message: 'must not be present when is_multipart is false' });
  }
};

export const emailMessageSchema = stixObject(
  {
    ...scoShape('email-message'),
    is_multipart: z.boolean(),
    date: optionalTimestamp,
    content_type: optionalString,
    from_ref: refSchema('email-addr').optional(),
    sender_ref: refSchema('email-addr').optional(),
    to_refs: refListSchema('email-addr').optional(),
    cc_refs: refListSchema('email-addr').optional(),
    bcc_refs: refListSchema('email-addr').optional(),
    message_id: optionalString,
    subject: optionalString,
    received_lines: stringListSchema.optional(),
    additional_header_fields: dictionarySchema.optional(),
    body: optionalString,
    body_multipart: list(mimePartSchema).optional(),
    raw_email_ref: refSchema('artifact').optional(),
  },
  multipartConsistent,
);

export const fileSchema = stixObject(
  {
    ...scoShape('file', fileExtensions),
    hashes: hashesSchema.optional(),
    size: nonNegativeIntSchema.optional(),
    name: optionalString,
    name_enc: optionalString,
    magic_number_hex: hexSchema.optional(),
    mime_type: optionalString,
    ctime: optionalTimestamp,
    mtime: optionalTimestamp,
    atime: optionalTimestamp,
    parent_directory_ref: refSchema('directory').optional(),
    contains_refs: refListSchema().optional(),
    content_ref: refSchema('artifact').optional(),
  },
  atLeastOneOf('hashes', 'name'),
);

function addressSchema<T extends string>(type: T) {
  return stixObject({
    ...scoShape(type),
    value: z.string(),
    resolves_to_refs: refListSchema('mac-addr').optional(),
    belongs_to_refs: refListSchema('autonomous-system').optional(),
  });
}

export const ipv4AddrSchema = addressSchema('ipv4-addr');
export const ipv6AddrSchema = addressSchema('ipv6-addr');
export const macAddrSchema = stixObject({ ...scoShape('mac-addr'), value: z.string() });
export const mutexSchema = stixObject({ ...scoShape('mutex'), name: z.string() });

// §6.12: an active flow has no end yet.
const activeHasNoEnd: Rule = (object, ctx) => {
  if (object['is_active'] === true && object['end'] !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['end'], message: 'must not be present when is_active is true' });
  }
};

const port = z.int().min(0).max(65535).optional();
const networkEndpoint = refSchema('ipv4-addr', 'ipv6-addr', 'mac-addr', 'domain-name').optional();

export const networkTrafficSchema = stixObject(
  {
    ...scoShape('network-traffic', networkTrafficExtensions),
    start: optionalTimestamp,
    end: optionalTimestamp,
    is_active: z.boolean().optional(),
    src_ref: networkEndpoint,
    dst_ref: networkEndpoint,
    src_port: port,
    dst_port: port,
    protocols: stringListSchema,
    src_byte_count: nonNegativeIntSchema.optional(),
    dst_byte_count: nonNegativeIntSchema.optional(),
    src_packets: nonNegativeIntSchema.optional(),
    dst_packets: nonNegativeIntSchema.optional(),
    ipfix: dictionarySchema.optional(),
    src_payload_ref: refSchema('artifact').optional(),
    dst_payload_ref: refSchema('artifact').optional(),
    encapsulates_refs: refListSchema('network-traffic').optional(),
    encapsulated_by_ref: refSchema('network-traffic').optional(),
  },
  atLeastOneOf('src_ref', 'dst_ref'),
  inOrder('start', 'end'),
  activeHasNoEnd,
);

export const processSchema = stixObject(
  {
    ...scoShape('process', processExtensions),
    is_hidden: z.boolean().optional(),
    pid: z.int().optional(),
    created_time: optionalTimestamp,
    cwd: optionalString,
    command_line: optionalString,
    environment_variables: dictionarySchema.optional(),
    opened_connection_refs: refListSchema('network-traffic').optional(),
    creator_user_ref: refSchema('user-account').optional(),
    image_ref: refSchema('file').optional(),
    parent_ref: refSchema('process').optional(),
    child_refs: refListSchema('process').optional(),
  },
  notOnlyCommon(SCO_COMMON),
);

export const softwareSchema = stixObject({
  ...scoShape('software'),
  name: z.string(),
  cpe: optionalString,
  swid: optionalString,
  languages: stringListSchema.optional(),
  vendor: optionalString,
  version: optionalString,
});

export const urlSchema = stixObject({ ...scoShape('url'), value: z.string() });

const optionalBoolean = z.boolean().optional();

export const userAccountSchema = stixObject({
  ...scoShape('user-account', userAccountExtensions),
  user_id: optionalString,
  credential: optionalString,
  account_login: optionalString,
  account_type: optionalString,
  display_name: optionalString,
  is_service_account: optionalBoolean,
  is_privileged: optionalBoolean,
  can_escalate_privs: optionalBoolean,
  is_disabled: optionalBoolean,
  account_created: optionalTimestamp,
  account_expires: optionalTimestamp,
  credential_last_changed: optionalTimestamp,
  account_first_login: optionalTimestamp,
  account_last_login: optionalTimestamp,
});

const registryValueSchema = z.looseObject({
  name: optionalString,
  data: optionalString,
  data_type: z
    .enum([
      'REG_NONE',
      'REG_SZ',
      'REG_EXPAND_SZ',
      'REG_BINARY',
      'REG_DWORD',
      'REG_DWORD_BIG_ENDIAN',
      'REG_DWORD_LITTLE_ENDIAN',
      'REG_LINK',
      'REG_MULTI_SZ',
      'REG_RESOURCE_LIST',
      'REG_FULL_RESOURCE_DESCRIPTION',
      'REG_RESOURCE_REQUIREMENTS_LIST',
      'REG_QWORD',
      'REG_INVALID_TYPE',
    ])
    .optional(),
});

export const windowsRegistryKeySchema = stixObject({
  ...scoShape('windows-registry-key'),
  key: optionalString,
  values: list(registryValueSchema).optional(),
  modified_time: optionalTimestamp,
  creator_user_ref: refSchema('user-account').optional(),
  number_of_subkeys: nonNegativeIntSchema.optional(),
});

export const x509CertificateSchema = stixObject(
  {
    ...scoShape('x509-certificate'),
    is_self_signed: optionalBoolean,
    hashes: hashesSchema.optional(),
    version: optionalString,
    serial_number: optionalString,
    signature_algorithm: optionalString,
    issuer: optionalString,
    validity_not_before: optionalTimestamp,
    validity_not_after: optionalTimestamp,
    subject: optionalString,
    subject_public_key_algorithm: optionalString,
    subject_public_key_modulus: optionalString,
    subject_public_key_exponent: z.int().optional(),
    x509_v3_extensions: dictionarySchema.optional(),
  },
  notOnlyCommon(SCO_COMMON),
);

export const scoSchemas: Readonly<Record<string, z.ZodType>> = {
  artifact: artifactSchema,
  'autonomous-system': autonomousSystemSchema,
  directory: directorySchema,
  'domain-name': domainNameSchema,
  'email-addr': emailAddrSchema,
  'email-message': emailMessageSchema,
  file: fileSchema,
  'ipv4-addr': ipv4AddrSchema,
  'ipv6-addr': ipv6AddrSchema,
  'mac-addr': macAddrSchema,
  mutex: mutexSchema,
  'network-traffic': networkTrafficSchema,
  process: processSchema,
  software: softwareSchema,
  url: urlSchema,
  'user-account': userAccountSchema,
  'windows-registry-key': windowsRegistryKeySchema,
  'x509-certificate': x509CertificateSchema,
};
