import { readdirSync, readFileSync } from 'node:fs';

// CPU seconds, where the ratio alone cannot say why: on a machine whose cores the node, PostgreSQL
// and the load generator share, a rate is bounded by what each unit of work costs them all. Read
// from /proc (user + system time, all threads), so it holds only where PostgreSQL runs on this host.

const TICKS = 100; // USER_HZ on Linux

function processSeconds(pid: number | string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

/** The CPU seconds used so far by the node (a child process; null in-process) and by PostgreSQL. */
export type CpuProbe = { read(): { node: number | null; postgres: number | null } };

/**
 * PostgreSQL's share: its backends connected to `database` (their command line names it), so other
 * databases on the same server do not count. Each backend's last reading is kept, and backends are
 * read every 200 ms, so one that exits (a pool closing an idle session) keeps nearly all its time.
 */
export function cpuProbe(nodePid: number | null, database: string | null): CpuProbe & { stop(): void } {
  const backends = new Map<string, number>();
  const sample = () => {
    if (database === null) return;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let cmdline: string;
      try {
        cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      if (!cmdline.startsWith('postgres: ') || !cmdline.split(' ').includes(database)) continue;
      const seconds = processSeconds(entry);
      // A pid reused by a later backend starts again from its own (smaller) time.
      const key = backends.has(entry) && seconds < backends.get(entry)! ? `${entry}:${backends.size}` : entry;
      if (key !== entry) backends.set(key, backends.get(entry)!);
      backends.set(entry, seconds);
    }
  };
  const timer = database === null ? undefined : setInterval(sample, 200);
  timer?.unref();
  const postgres = (): number | null => {
    if (database === null) return null;
    sample();
    if (backends.size === 0) return null;
    let seconds = 0;
    for (const s of backends.values()) seconds += s;
    return seconds;
  };
  return {
    read: () => ({ node: nodePid === null ? null : processSeconds(nodePid), postgres: postgres() }),
    stop: () => clearInterval(timer),
  };
}

/** Microseconds of CPU a unit (an object, a request) cost between two readings. */
export function cpuPerUnit(
  before: ReturnType<CpuProbe['read']>,
  after: ReturnType<CpuProbe['read']>,
  units: number,
): { node?: number; postgres?: number } {
  const per = (a: number | null, b: number | null) => (a === null || b === null || units === 0 ? undefined : ((b - a) * 1e6) / units);
  const out: { node?: number; postgres?: number } = {};
  const node = per(before.node, after.node);
  const postgres = per(before.postgres, after.postgres);
  if (node !== undefined) out.node = node;
  if (postgres !== undefined) out.postgres = postgres;
  return out;
}

/** A row's CPU figures: the node's path (node and PostgreSQL) beside raw PostgreSQL's, per unit. */
export function cpuExtra(node: { node?: number; postgres?: number }, raw: { postgres?: number }, unit: string): Record<string, number> {
  const extra: Record<string, number> = {};
  if (node.node !== undefined) extra[`node CPU µs/${unit}`] = node.node;
  if (node.postgres !== undefined) extra[`its PostgreSQL CPU µs/${unit}`] = node.postgres;
  if (raw.postgres !== undefined) extra[`raw PostgreSQL CPU µs/${unit}`] = raw.postgres;
  return extra;
}
