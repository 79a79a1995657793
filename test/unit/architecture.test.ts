import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The map of src/README.md, enforced: dependency-cruiser checks every import of src/ against
// .dependency-cruiser.cjs (no cycles; core ← store ← services ← HTTP; nobody imports the CLI).

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

type Violation = { from: string; to: string; rule: { name: string }; cycle?: { name: string }[] };

function violations(): Violation[] {
  const out = execFileSync(`${ROOT}node_modules/.bin/depcruise`, ['src', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return (JSON.parse(out) as { summary: { violations: Violation[] } }).summary.violations;
}

/** What writes SQL, by hand (Kysely's sql template) or through the query builder. */
const SQL = /sql`|\.(selectFrom|insertInto|updateTable|deleteFrom|executeQuery)\(|import \{[^}]*\bsql\b[^}]*\} from 'kysely'/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? sourceFiles(path) : e.name.endsWith('.ts') ? [path] : [];
  });
}

describe('the layout of src/', () => {
  it('writes SQL in src/store/ only', () => {
    const outside = sourceFiles(join(ROOT, 'src'))
      .map((f) => relative(ROOT, f))
      .filter((f) => !f.startsWith('src/store/') && SQL.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(outside).toEqual([]);
  });

  it('has no import the rules forbid, and no cycle', () => {
    const found = violations().map((v) => `${v.rule.name}: ${v.from} → ${v.cycle ? v.cycle.map((c) => c.name).join(' → ') : v.to}`);
    expect(found).toEqual([]);
  });
});
