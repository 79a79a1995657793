import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedSchemas } from './schemas.ts';

// npm run schemas: rewrites schemas/ from the zod definitions (a test fails when it is stale).
const root = fileURLToPath(new URL('../schemas/', import.meta.url));
for (const dir of ['taxii', 'stix', 'admin']) rmSync(path.join(root, dir), { recursive: true, force: true });
const schemas = generatedSchemas();
for (const [file, text] of schemas) {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), text);
}
console.log(`wrote ${schemas.size} schemas into ${root} (${readdirSync(root).join(', ')})`);
