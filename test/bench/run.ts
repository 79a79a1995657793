// npm run bench [-- --objects 1000000 --db postgres]; npm run bench:smoke. See test/bench/RESULTS.md.
import { execSync } from 'node:child_process';
import os from 'node:os';
import { parseOptions } from './options.ts';
import { markdownTable, notMeasured, writeResults } from './report.ts';
import type { Row } from './report.ts';
import { runSuite } from './suite.ts';
import { pgliteTarget, postgresTarget } from './target.ts';
import type { Target } from './target.ts';

function machine(pgVersion: string | undefined) {
  const sh = (cmd: string) => {
    try {
      return execSync(cmd, { encoding: 'utf8' }).trim();
    } catch {
      return undefined;
    }
  };
  return { nproc: os.availableParallelism(), cpu: os.cpus()[0]?.model, memory: sh('free -h'), loadavg: os.loadavg(), node: process.version, postgres: pgVersion };
}

const options = parseOptions(process.argv.slice(2), process.env);
const rows: Row[] = [];
let pgVersion: string | undefined;
const started = new Date().toISOString();
for (const d of options.databases) {
  const target: Target = d.kind === 'postgres' ? await postgresTarget(d.url!) : await pgliteTarget();
  try {
    if (d.kind === 'postgres') pgVersion = (await target.sql<{ v: string }>('SELECT version() AS v'))[0]?.v;
    rows.push(...(await runSuite(target, d.sizes)));
  } finally {
    await target.stop();
  }
}
rows.push(notMeasured('Federation catch-up: 100,000 objects from a peer', '< 20 s', 'not yet measured'));
rows.push(notMeasured('Federation latency: new object at the origin, seen at a peer', '≤ pull interval + 1 s', 'not yet measured'));

const table = markdownTable(rows);
process.stdout.write(`${table}\n`);
writeResults(options.out, { started, finished: new Date().toISOString(), smoke: options.smoke, machine: machine(pgVersion), databases: options.databases, rows });
process.stderr.write(`[bench] results written to ${options.out}\n`);
