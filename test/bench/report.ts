import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** One scenario's outcome on one database: the node's figure, the raw one beside it, the target. */
export type Row = {
  scenario: string;
  database: 'postgres' | 'pglite' | '-';
  size: string;
  figure: number | null;
  unit: string;
  raw: number | null;
  ratio: number | null;
  target: string;
  pass: boolean | null;
  /** Further figures of the same measurement (p50, requests/s, ...). */
  extra: Record<string, number>;
  note?: string;
};

export function notMeasured(scenario: string, target: string, note: string): Row {
  return { scenario, database: '-', size: '-', figure: null, unit: '', raw: null, ratio: null, target, pass: null, extra: {}, note };
}

const fmt = (n: number | null, digits = 2): string => {
  if (n === null || Number.isNaN(n)) return '–';
  if (Math.abs(n) >= 100 || Number.isInteger(n)) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(digits);
};

function extraText(extra: Record<string, number>): string {
  return Object.entries(extra)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(', ');
}

export function markdownTable(rows: Row[]): string {
  const lines = [
    '| Scenario | DB | Size | Node | Raw PostgreSQL, same run | Ratio | Target | Pass | Details |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const node = r.figure === null ? 'not yet measured' : `${fmt(r.figure)} ${r.unit}`;
    const raw = r.raw === null ? '–' : `${fmt(r.raw)} ${r.unit}`;
    const pass = r.pass === null ? '–' : r.pass ? 'yes' : '**no**';
    const details = [extraText(r.extra), r.note ?? ''].filter(Boolean).join('; ');
    lines.push(`| ${r.scenario} | ${r.database} | ${r.size} | ${node} | ${raw} | ${fmt(r.ratio)} | ${r.target} | ${pass} | ${details} |`);
  }
  return lines.join('\n');
}

export function writeResults(file: string, result: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
}
