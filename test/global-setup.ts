import { createPGliteTemplate, TEMPLATE_ENV } from './support/pglite-template.ts';

// One migrated PGlite data directory for the whole run, copied by tests that need a fresh one
// (test/support/pglite-template.ts says why). The workers inherit the environment variable.
// Each project (PGlite, PostgreSQL) runs this setup; the first makes the template, the other
// finds it made.
let made: Promise<{ remove(): void }> | undefined;

export default async function setup(): Promise<() => void> {
  if (made) {
    await made;
    return () => {};
  }
  made = createPGliteTemplate().then((template) => {
    process.env[TEMPLATE_ENV] = template.dir;
    return template;
  });
  const template = await made;
  return () => template.remove();
}
