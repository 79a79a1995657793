import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { Row } from '../bench/report.ts';

// The benchmark harness at tiny sizes, so it never rots: it must run every scenario and give a
// number for each figure. Timings are not asserted (CI machines are shared and noisy).
const dir = mkdtempSync(path.join(tmpdir(), 'vigil-bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run bench:smoke', () => {
  it('runs every scenario and produces a figure for each', async () => {
    const out = path.join(dir, 'smoke.json');
    const { stdout } = await promisify(execFile)(process.execPath, ['test/bench/run.ts', '--smoke', '--out', out], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: process.env,
      timeout: 90_000,
    });
    const result = JSON.parse(readFileSync(out, 'utf8')) as { rows: Row[] };
    const measured = result.rows.filter((r) => r.database !== '-');
    const scenarios = measured.map((r) => r.scenario.split(':')[0]);
    for (const s of [
      'Ingest',
      'Large bundle',
      'SIEM polls, open loop',
      'Growth',
      'TLP',
      'Full read',
      'Memory',
      'Alerts',
      'Federation catch-up',
      'Federation latency',
      'Feed',
      'Sightings',
      'Trends',
      // A read replica needs PostgreSQL's own programs: the PostgreSQL pass starts a pair.
      ...(process.env.TEST_DATABASE_URL ? ['SIEM polls, primary alone (replica pair)', 'SIEM polls, reads on one hot standby'] : []),
    ]) {
      expect(scenarios).toContain(s);
    }
    for (const r of measured) {
      expect(r.database).toBe(process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite');
      expect(Number.isFinite(r.figure), r.scenario).toBe(true);
      // A SIEM or sightings open-loop row's figure is the highest rate held: 0 when a loaded machine holds none.
      if (/^(SIEM polls|Sightings: POST \/sightings, open loop)/.test(r.scenario)) expect(r.figure!, r.scenario).toBeGreaterThanOrEqual(0);
      else expect(r.figure!, r.scenario).toBeGreaterThan(0);
      expect(typeof r.pass, r.scenario).toBe('boolean');
      for (const [k, v] of Object.entries(r.extra)) expect(Number.isFinite(v), `${r.scenario}: ${k}`).toBe(true);
    }
    // Where the issue asks for the raw figure (ingest, full read, SIEM polls, sightings, trends), it is measured in the same run.
    for (const r of measured.filter((x) => /^(Ingest|Full read|SIEM polls|Sightings|Trends)/.test(x.scenario))) {
      expect(Number.isFinite(r.raw) && Number.isFinite(r.ratio), r.scenario).toBe(true);
    }
    // On PostgreSQL the SIEM rows carry the HTTP floor of the same polls (test/bench/floor-server.ts).
    const siem = measured.filter((r) => r.scenario.startsWith('SIEM polls, open loop'));
    for (const r of siem) expect('HTTP floor: highest rate held' in r.extra, r.scenario).toBe(!!process.env.TEST_DATABASE_URL);
    // And the ingest row the ingest floor of the same envelopes.
    const ingest = measured.filter((r) => r.scenario.startsWith('Ingest: envelopes'));
    expect(ingest).toHaveLength(1);
    for (const r of ingest) expect('ingest floor: ratio to raw' in r.extra, r.scenario).toBe(!!process.env.TEST_DATABASE_URL);
    expect(result.rows.filter((r) => r.figure === null)).toEqual([]);
    expect(stdout).toContain('| Scenario |');
  }, 120_000);
});
