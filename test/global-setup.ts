import { createPGliteTemplate, TEMPLATE_ENV } from './support/pglite-template.ts';

// One migrated PGlite data directory for the whole run, copied by tests that need a fresh one
// (test/support/pglite-template.ts says why, and why it is kept for the next run). The workers
// inherit the environment variable. Each project (PGlite, PostgreSQL) runs this setup; the first
// finds or makes the template, the other finds it made.
let made: Promise<{ dir: string }> | undefined;

export default async function setup(): Promise<void> {
  made ??= createPGliteTemplate();
  process.env[TEMPLATE_ENV] = (await made).dir;
}
