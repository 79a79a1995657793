import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Writes `dir/curl`, which runs the real curl with these `--connect-to` rules first, so commands
 * written for the addresses the docs name reach the test's nodes. Put `dir` first on PATH.
 */
export function writeCurlShim(dir: string, connectTo: readonly string[]): void {
  const curl = (process.env.PATH ?? '')
    .split(':')
    .map((d) => path.join(d, 'curl'))
    .find((f) => existsSync(f));
  if (!curl) throw new Error('the docs use curl: install it');
  mkdirSync(dir, { recursive: true });
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const rules = connectTo.map((rule) => `--connect-to ${quote(rule)}`).join(' ');
  writeFileSync(path.join(dir, 'curl'), `#!/bin/sh\nexec ${quote(curl)} ${rules} "$@"\n`);
  chmodSync(path.join(dir, 'curl'), 0o755);
}
