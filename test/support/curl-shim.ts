import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The first `name` on PATH: the real program a shim hands over to. */
function onPath(name: string, missing: string): string {
  const found = (process.env.PATH ?? '')
    .split(':')
    .map((d) => path.join(d, name))
    .find((f) => existsSync(f));
  if (!found) throw new Error(missing);
  return found;
}

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

function writeScript(dir: string, name: string, body: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`);
  chmodSync(path.join(dir, name), 0o755);
}

/**
 * Writes `dir/curl`, which runs the real curl with these `--connect-to` rules first, so commands
 * written for the addresses the docs name reach the test's nodes. Put `dir` first on PATH.
 */
export function writeCurlShim(dir: string, connectTo: readonly string[]): void {
  const curl = onPath('curl', 'the docs use curl: install it');
  const rules = connectTo.map((rule) => `--connect-to ${quote(rule)}`).join(' ');
  writeScript(dir, 'curl', `exec ${quote(curl)} ${rules} "$@"`);
}

/**
 * Writes `dir/npx`, which runs `npx vigil …` as npx runs it in the repository (its bin/vigil.js
 * with the project's Node, node_modules/.bin first on PATH) without npm's start-up: 1.9 s a
 * command against 0.4 s, over the docs' seventy-odd commands. Anything else goes to the real npx.
 */
export function writeNpxShim(dir: string, repo: string): void {
  const npx = onPath('npx', 'the docs use npx: install npm');
  const bin = path.join(repo, 'node_modules', '.bin');
  const vigil = path.join(repo, 'bin', 'vigil.js');
  writeScript(
    dir,
    'npx',
    `if [ "$1" = vigil ]; then shift; PATH=${quote(bin)}:$PATH exec node ${quote(vigil)} "$@"; fi\nexec ${quote(npx)} "$@"`,
  );
}
