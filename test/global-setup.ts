import { createPGliteTemplate, TEMPLATE_ENV } from './support/pglite-template.ts';

// One migrated PGlite data directory for the whole run, copied by tests that need a fresh one
// (test/support/pglite-template.ts says why). The workers inherit the environment variable.
export default async function setup(): Promise<() => void> {
  const template = await createPGliteTemplate();
  process.env[TEMPLATE_ENV] = template.dir;
  return () => template.remove();
}
