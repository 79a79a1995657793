import { statSync } from 'node:fs';
import path from 'node:path';
import { BaseSequencer } from 'vitest/node';
import type { TestSpecification } from 'vitest/node';
import { SECONDS } from './passes.ts';

// Heaviest first, across both databases' projects: on two cores, what decides the suite's time
// is the last long file, so long files start at once and short ones fill the gaps (the
// longest-processing-time rule). vitest's own order needs the results of an earlier run on the
// same machine, which a fresh clone does not have; it then orders by file size, which put a
// 90-second file last.

const ROOT = path.resolve(import.meta.dirname, '..');

/** A file's expected seconds on a project: measured (test/passes.ts), else about a second per 2 KB. */
function weight(spec: TestSpecification): number {
  const file = path.relative(ROOT, spec.moduleId).split(path.sep).join('/');
  const known = SECONDS[file];
  if (known) return spec.project.name === 'postgres' ? (known.postgres ?? known.pglite) : known.pglite;
  try {
    return statSync(spec.moduleId).size / 2048;
  } catch {
    return 0;
  }
}

export class HeaviestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const weights = new Map(files.map((f) => [f, weight(f)]));
    return [...files].sort((a, b) => weights.get(b)! - weights.get(a)!);
  }
}
