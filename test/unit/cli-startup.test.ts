import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// Scripts run `vigil` every minute (a feed check, a sighting report): its start-up is what they
// pay each time. A command that talks to a node over HTTP loads no database driver, no query
// builder and no JOSE library; `migrate`, `serve` and `alert verify` load theirs when they run.

const REPO = path.resolve(import.meta.dirname, '../..');

/** The packages `vigil <args>` loaded, as Node's module hooks saw them. */
function packagesLoaded(args: string[]): Set<string> {
  const hook = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({ load(url, context, next) { const m = /node_modules\\/((@[^/]+\\/)?[^/]+)/.exec(url); if (m) seen.add(m[1]); return next(url, context); } });
    process.on('exit', () => process.stderr.write('\\nPACKAGES ' + JSON.stringify([...seen]) + '\\n'));`;
  const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(hook)}`, 'bin/vigil.js', ...args], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, VIGIL_URL: 'http://127.0.0.1:9' },
  });
  const line = r.stderr.split('\n').find((l) => l.startsWith('PACKAGES '));
  expect(line, r.stderr).toBeDefined();
  return new Set(JSON.parse(line!.slice('PACKAGES '.length)) as string[]);
}

describe('vigil start-up', () => {
  it.each([[['--help']], [['collection', 'list']], [['validate', 'examples/bundle.json']]])(
    '%j loads no database driver, query builder or JOSE library',
    (args) => {
      const loaded = packagesLoaded(args);
      expect(loaded.has('commander')).toBe(true);
      for (const heavy of ['kysely', 'pg', '@electric-sql/pglite', 'jose', 'hono']) expect(loaded.has(heavy), heavy).toBe(false);
    },
  );
});
