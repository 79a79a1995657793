import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generatedSchemas } from '../../scripts/schemas.ts';

const root = fileURLToPath(new URL('../../schemas/', import.meta.url));

function filesOnDisk(): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.json'))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .sort();
}

describe('schemas/ holds the JSON Schemas generated from the zod definitions', () => {
  const generated = generatedSchemas();

  it('has exactly the generated files (run `npm run schemas` after changing a definition)', () => {
    expect(filesOnDisk()).toEqual([...generated.keys()].sort());
  });

  it('has each file exactly as generated', () => {
    for (const [file, text] of generated) expect(readFileSync(path.join(root, file), 'utf8'), file).toBe(text);
  });

  it('covers every TAXII 2.1 resource and the STIX objects', () => {
    for (const name of ['discovery', 'api-root', 'collections', 'collection', 'manifest', 'envelope', 'versions', 'status', 'error']) {
      expect(generated.has(`taxii/${name}.json`), name).toBe(true);
    }
    for (const type of [
      'indicator',
      'malware',
      'relationship',
      'sighting',
      'ipv4-addr',
      'file',
      'marking-definition',
      'extension-definition',
    ]) {
      expect(generated.has(`stix/${type}.json`), type).toBe(true);
    }
  });
});
