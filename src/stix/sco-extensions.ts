// Predefined Cyber-observable Object extensions (STIX 2.1 §6), keyed by extension name.
import { z } from 'zod';
import { dictionarySchema, hashesSchema, hexSchema, list, nonNegativeIntSchema, stringListSchema } from './common.ts';
import { refListSchema, refSchema } from './identifiers.ts';
import { timestampSchema } from './timestamp.ts';

const ext = z.looseObject;

export const fileExtensions: Record<string, z.ZodType> = {
  'archive-ext': ext({ contains_refs: refListSchema('file', 'directory'), comment: z.string().optional() }),
  'ntfs-ext': ext({
    sid: z.string().optional(),
    alternate_data_streams: list(
      ext({ name: z.string(), hashes: hashesSchema.optional(), size: nonNegativeIntSchema.optional() }),
    ).optional(),
  }),
  'pdf-ext': ext({
    version: z.string().optional(),
    is_optimized: z.boolean().optional(),
    document_info_dict: dictionarySchema.optional(),
    pdfid0: z.string().optional(),
    pdfid1: z.string().optional(),
  }),
  'raster-image-ext': ext({
    image_height: z.int().optional(),
    image_width: z.int().optional(),
    bits_per_pixel: z.int().optional(),
    exif_tags: dictionarySchema.optional(),
  }),
  'windows-pebinary-ext': ext({
    pe_type: z.string(),
    imphash: z.string().optional(),
    machine_hex: hexSchema.optional(),
    number_of_sections: nonNegativeIntSchema.optional(),
    time_date_stamp: timestampSchema.optional(),
    pointer_to_symbol_table_hex: hexSchema.optional(),
    number_of_symbols: nonNegativeIntSchema.optional(),
    size_of_optional_header: nonNegativeIntSchema.optional(),
    characteristics_hex: hexSchema.optional(),
    file_header_hashes: hashesSchema.optional(),
    optional_header: dictionarySchema.optional(),
    sections: list(
      ext({ name: z.string(), size: nonNegativeIntSchema.optional(), entropy: z.number().optional(), hashes: hashesSchema.optional() }),
    ).optional(),
  }),
};

export const networkTrafficExtensions: Record<string, z.ZodType> = {
  'http-request-ext': ext({
    request_method: z.string(),
    request_value: z.string(),
    request_version: z.string().optional(),
    request_header: dictionarySchema.optional(),
    message_body_length: nonNegativeIntSchema.optional(),
    message_body_data_ref: refSchema('artifact').optional(),
  }),
  'icmp-ext': ext({ icmp_type_hex: hexSchema, icmp_code_hex: hexSchema }),
  'socket-ext': ext({
    address_family: z.enum(['AF_UNSPEC', 'AF_INET', 'AF_IPX', 'AF_APPLETALK', 'AF_NETBIOS', 'AF_INET6', 'AF_IRDA', 'AF_BTH']),
    is_blocking: z.boolean().optional(),
    is_listening: z.boolean().optional(),
    options: dictionarySchema.optional(),
    socket_type: z.enum(['SOCK_STREAM', 'SOCK_DGRAM', 'SOCK_RAW', 'SOCK_RDM', 'SOCK_SEQPACKET']).optional(),
    socket_descriptor: nonNegativeIntSchema.optional(),
    socket_handle: z.int().optional(),
  }),
  'tcp-ext': ext({ src_flags_hex: hexSchema.optional(), dst_flags_hex: hexSchema.optional() }),
};

export const processExtensions: Record<string, z.ZodType> = {
  'windows-process-ext': ext({
    aslr_enabled: z.boolean().optional(),
    dep_enabled: z.boolean().optional(),
    priority: z.string().optional(),
    owner_sid: z.string().optional(),
    window_title: z.string().optional(),
    startup_info: dictionarySchema.optional(),
    integrity_level: z.enum(['low', 'medium', 'high', 'system']).optional(),
  }),
  'windows-service-ext': ext({
    service_name: z.string().optional(),
    descriptions: stringListSchema.optional(),
    display_name: z.string().optional(),
    group_name: z.string().optional(),
    start_type: z
      .enum(['SERVICE_AUTO_START', 'SERVICE_BOOT_START', 'SERVICE_DEMAND_START', 'SERVICE_DISABLED', 'SERVICE_SYSTEM_ALERT'])
      .optional(),
    service_dll_refs: refListSchema('file').optional(),
    service_type: z
      .enum(['SERVICE_KERNEL_DRIVER', 'SERVICE_FILE_SYSTEM_DRIVER', 'SERVICE_WIN32_OWN_PROCESS', 'SERVICE_WIN32_SHARE_PROCESS'])
      .optional(),
    service_status: z
      .enum([
        'SERVICE_CONTINUE_PENDING',
        'SERVICE_PAUSE_PENDING',
        'SERVICE_PAUSED',
        'SERVICE_RUNNING',
        'SERVICE_START_PENDING',
        'SERVICE_STOP_PENDING',
        'SERVICE_STOPPED',
      ])
      .optional(),
  }),
};

export const userAccountExtensions: Record<string, z.ZodType> = {
  'unix-account-ext': ext({
    gid: z.int().optional(),
    groups: stringListSchema.optional(),
    home_dir: z.string().optional(),
    shell: z.string().optional(),
  }),
};
