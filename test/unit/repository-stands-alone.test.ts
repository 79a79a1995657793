// The repository stands alone (STYLE habit 17): a clone with nothing beside it installs and
// passes its tests, so no file may build a path that climbs out of it, nor name the reference
// folder kept beside it on developer machines. Paths are checked as written, line by line.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCANNED_FOLDERS = ['test', 'scripts', 'src', '.ci', 'bin'];
const SCANNED_ROOT_FILES = ['package.json', 'tsconfig.json', 'vitest.config.ts'];
/** Code and scripts (extensionless files are scripts: .ci/run); data files hold no paths to follow. */
const CODE = /(?:\.(?:[cm]?[jt]sx?|sh)|^[^.]+)$/;
const SKIPPED = new Set(['node_modules', 'artifacts']);
/** This file, whose examples of escaping paths are written out below. */
const SELF = fileURLToPath(import.meta.url);

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIPPED.has(name)) return [];
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return filesUnder(full);
    return CODE.test(name) && full !== SELF ? [full] : [];
  });
}

const scanned = [
  ...SCANNED_FOLDERS.map((f) => path.join(ROOT, f))
    .filter((f) => statSync(f, { throwIfNoEntry: false })?.isDirectory())
    .flatMap(filesUnder),
  ...SCANNED_ROOT_FILES.map((f) => path.join(ROOT, f)).filter((f) => statSync(f, { throwIfNoEntry: false })?.isFile()),
];

/** `join(dir, '..', '..', 'x')` written as one literal, `'../../x'`: adjacent literal arguments after a `..` one. */
function mergeSegments(line: string): string {
  const adjacent = /(['"`])(\.\.[^'"`\n]*?)\1\s*,\s*(['"`])([^'"`\n]*)\3/;
  for (let merged = line.replace(adjacent, '$1$2/$4$1'); merged !== line; merged = line.replace(adjacent, '$1$2/$4$1')) line = merged;
  return line;
}

// A relative path: `..` segments at the start of a literal (after a quote, a space, `(`, `,` or `=`)
// or after a shell `$(dirname "$0")/`, then the rest of the path up to a quote, space or bracket.
const RELATIVE = /(?<=['"`\s(,=]|\)\/|^)((?:\.\.\/)*\.\.)(?=\/|['"`\s)]|$)(\/[^\s'"`)\]}$]*)?/g;
// The folder beside the repository, by its path (these two patterns do not match their own source).
const OUTSIDE_NAMES = /\.\.\/shared\b|\bshared\/stix\b/;

type Escape = { where: string; text: string; resolved: string };

function escapesOf(file: string): Escape[] {
  const found: Escape[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const where = `${path.relative(ROOT, file)}:${i + 1}`;
      const line = mergeSegments(raw);
      if (OUTSIDE_NAMES.test(line)) found.push({ where, text: raw.trim(), resolved: 'names the folder beside the repository' });
      for (const m of line.matchAll(RELATIVE)) {
        const text = `${m[1]}${m[2] ?? ''}`;
        const resolved = path.resolve(path.dirname(file), text);
        const inside = path.relative(ROOT, resolved);
        if (inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) found.push({ where, text, resolved });
      }
    });
  return found;
}

describe('the repository stands alone', () => {
  it('scans the code of test/, scripts/, src/, .ci/ and bin/', () => {
    const rel = scanned.map((f) => path.relative(ROOT, f));
    expect(rel).toContain(path.join('test', 'unit', 'stix', 'examples.test.ts'));
    expect(rel).toContain(path.join('.ci', 'run'));
    expect(rel).toContain(path.join('bin', 'vigil.js'));
    expect(rel.length).toBeGreaterThan(100);
  });

  it('finds a climb out of the repository, and none inside it', () => {
    const probe = (text: string) => {
      const m = [...mergeSegments(text).matchAll(RELATIVE)].map((x) => `${x[1]}${x[2] ?? ''}`);
      return m.map((t) => path.relative(ROOT, path.resolve(ROOT, 'test', 'unit', 'stix', t)).split(path.sep)[0]);
    };
    expect(probe("new URL('../../../../x/y.json', import.meta.url)")).toEqual(['..']);
    expect(probe("path.join(import.meta.dirname, '..', '..', '..', '..', 'x')")).toEqual(['..']);
    expect(probe("path.resolve(import.meta.dirname, '../../..')")).toEqual(['']);
    expect(probe("import { x } from '../../../src/stix/validate.ts';")).toEqual(['src']);
    expect(probe('const spread = [...items]; // and so on...')).toEqual([]);
    expect(OUTSIDE_NAMES.test(["'", '..', '/shared/x', "'"].join(''))).toBe(true);
  });

  it('has no file that builds a path leaving the repository or names the folder beside it', () => {
    const escapes = scanned.flatMap(escapesOf).map((e) => `${e.where}: ${e.text} -> ${e.resolved}`);
    expect(escapes).toEqual([]);
  });
});
