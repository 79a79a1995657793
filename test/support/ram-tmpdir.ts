import { accessSync, constants, readdirSync, rmSync, statfsSync, statSync } from 'node:fs';
import { freemem } from 'node:os';
import path from 'node:path';

// The suite writes its temporary files (PGlite data directories, copies of the migrated
// template, the nodes' keys, shell sessions) to a memory-backed file system where the machine
// has one with room: on the disk, each copy of the template (1,100 files, 40 MB) cost about a
// second of kernel CPU on CI's ext4, against 0.05 s on tmpfs. Nothing tested depends on the
// disk: a killed node's writes survive in the page cache either way, and the disk-full test
// mounts a file system of its own.

const RAM_DIR = '/dev/shm';
const TMPFS_MAGIC = 0x01021994;
/** What the suite needs at most at once, with a margin (a few nodes' data, the benchmark's smoke run). */
const ROOM = 2 * 1024 ** 3;
/** Longer than any run: what a run left behind (killed, or a test that failed before its cleanup) and nobody uses. */
const LEFT_BEHIND_MS = 6 * 60 * 60 * 1000;

/** `/dev/shm` when it is a writable tmpfs with room and the machine has the memory; else undefined (keep TMPDIR). */
export function ramTmpdir(): string | undefined {
  try {
    const fs = statfsSync(RAM_DIR);
    if (fs.type !== TMPFS_MAGIC || fs.bavail * fs.bsize < ROOM || freemem() < 2 * ROOM) return undefined;
    accessSync(RAM_DIR, constants.W_OK);
    return RAM_DIR;
  } catch {
    return undefined;
  }
}

/** Removes the entries of `dir` that `matches` picks and that nothing has touched for `ageMs`. */
export function removeOlderThan(dir: string, matches: (entry: string) => boolean, ageMs: number): void {
  const now = Date.now();
  for (const entry of readdirSync(dir)) {
    if (!matches(entry)) continue;
    const full = path.join(dir, entry);
    try {
      if (now - statSync(full).mtimeMs > ageMs) rmSync(full, { recursive: true, force: true });
    } catch {
      // removed meanwhile, or not ours to remove
    }
  }
}

/**
 * Removes the suite's directories (vigil-…) that earlier runs left in `dir` hours ago: in memory,
 * unlike on a disk, they would hold RAM until the machine restarts. The PGlite templates have
 * their own rule (pglite-template.ts).
 */
export function removeLeftBehind(dir: string, keepPrefix: string): void {
  removeOlderThan(dir, (entry) => entry.startsWith('vigil-') && !entry.startsWith(keepPrefix), LEFT_BEHIND_MS);
}
