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

/**
 * Writes `dir/npx`, which runs `npx vigil …` as npx runs it in the repository (its bin/vigil.js
 * with the project's Node, node_modules/.bin first on PATH) without npm's start-up: 1.9 s a
 * command against 0.4 s, over the docs' seventy-odd commands. Anything else goes to the real npx.
 */
export function writeNpxShim(dir: string, repo: string): void {
  const npx = (process.env.PATH ?? '')
    .split(':')
    .map((d) => path.join(d, 'npx'))
    .find((f) => existsSync(f));
  if (!npx) throw new Error('the docs use npx: install npm');
  mkdirSync(dir, { recursive: true });
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const bin = path.join(repo, 'node_modules', '.bin');
  writeFileSync(
    path.join(dir, 'npx'),
    `#!/bin/sh\nif [ "$1" = vigil ]; then shift; PATH=${quote(bin)}:$PATH exec node ${quote(path.join(repo, 'bin', 'vigil.js'))} "$@"; fi\nexec ${quote(npx)} "$@"\n`,
  );
  chmodSync(path.join(dir, 'npx'), 0o755);
}
