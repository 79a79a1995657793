import { readFileSync } from 'node:fs';

/** Samples a process's resident set size; the peak since the last reset, in bytes. */
export type RssProbe = { reset(): void; peak(): number; stop(): void; source: string };

function readRss(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Another process, read from /proc every 20 ms (so a blocked event loop in it does not hide a
 * peak); this process, from process.memoryUsage(), when `pid` is ours.
 */
export function rssProbe(pid: number): RssProbe {
  const own = pid === process.pid;
  const sample = () => (own ? process.memoryUsage.rss() : (readRss(pid) ?? 0));
  let peak = sample();
  const timer = setInterval(() => (peak = Math.max(peak, sample())), 20);
  timer.unref();
  return {
    source: own ? 'in-process (process.memoryUsage, includes the harness)' : 'node child process (/proc VmRSS, sampled every 20 ms)',
    reset: () => void (peak = sample()),
    peak: () => Math.max(peak, sample()),
    stop: () => clearInterval(timer),
  };
}
