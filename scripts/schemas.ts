import { z } from 'zod';
import * as admin from '../src/admin/schemas.ts';
import { customObjectSchema, stixObjectSchemas } from '../src/stix/object-schemas.ts';
import { taxiiResources } from '../src/taxii/resources.ts';

/** Every JSON Schema the repository keeps in schemas/, by path, as the text written there. */
export function generatedSchemas(): Map<string, string> {
  const out = new Map<string, string>();
  const put = (file: string, schema: z.ZodType, title: string) => {
    const json = z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any', io: 'input' });
    out.set(file, `${JSON.stringify({ title, ...json }, null, 2)}\n`);
  };
  for (const [name, schema] of Object.entries(taxiiResources)) put(`taxii/${name}.json`, schema, `TAXII 2.1 ${name} resource`);
  for (const [type, schema] of Object.entries(stixObjectSchemas).sort(([a], [b]) => a.localeCompare(b))) {
    put(`stix/${type}.json`, schema, `STIX 2.1 ${type}`);
  }
  put('stix/custom-object.json', customObjectSchema, 'STIX 2.1 custom object');
  const adminBodies = {
    'create-api-root': admin.createApiRootBody,
    'update-api-root': admin.updateApiRootBody,
    'create-collection': admin.createCollectionBody,
    'update-collection': admin.updateCollectionBody,
    'create-client': admin.createClientBody,
    'update-client': admin.updateClientBody,
    'put-grant': admin.putGrantBody,
    'create-source': admin.createSourceBody,
  };
  for (const [name, schema] of Object.entries(adminBodies)) put(`admin/${name}.json`, schema, `Vigil admin API: ${name} body`);
  return out;
}
