import { createPGliteTemplate, TEMPLATE_ENV, TEMPLATE_PREFIX } from './support/pglite-template.ts';
import { ramTmpdir, removeLeftBehind } from './support/ram-tmpdir.ts';

// One migrated PGlite data directory for the whole run, copied by tests that need a fresh one
// (test/support/pglite-template.ts says why, and why it is kept for the next run). The workers
// inherit the environment variable. Each project (PGlite, PostgreSQL) runs this setup; the first
// finds or makes the template, the other finds it made.
let made: Promise<{ dir: string }> | undefined;

export default async function setup(): Promise<void> {
  // Temporary files in memory where there is room (support/ram-tmpdir.ts says why), unless TMPDIR
  // names a place already; set before the template is made, so that it is made there too.
  const ram = process.env.TMPDIR ? undefined : ramTmpdir();
  if (ram) {
    process.env.TMPDIR = ram;
    removeLeftBehind(ram, TEMPLATE_PREFIX);
  }
  made ??= createPGliteTemplate();
  process.env[TEMPLATE_ENV] = (await made).dir;
}
