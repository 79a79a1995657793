// Every STIX 2.1 object schema by type, for dispatch and for JSON Schema generation.
import type { z } from 'zod';
import { metaObjectSchemas } from './meta-objects.ts';
import { scoSchemas } from './sco.ts';
import { sdoSchemas } from './sdo.ts';
import { sroSchemas } from './sro.ts';

export { customObjectSchema } from './custom-objects.ts';
export { legacyMarkingDefinitionSchema, legacyObjectSchema } from './legacy-objects.ts';

export const stixObjectSchemas: Record<string, z.ZodType> = {
  ...sdoSchemas,
  ...sroSchemas,
  ...scoSchemas,
  ...metaObjectSchemas,
};
