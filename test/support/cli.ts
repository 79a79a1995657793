import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The vigil command as users run it: a real child process (on the Node running the tests).

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = path.join(ROOT, 'bin', 'vigil.js');

export type Run = { code: number; stdout: string; stderr: string };

/**
 * Runs `vigil …args`. The environment is this process's without ADMIN_TOKEN (so a command
 * only has the token it is given), plus `env`; `stdin` is written to its standard input.
 */
export function runVigil(args: string[], o: { env?: Record<string, string | undefined>; stdin?: string } = {}): Promise<Run> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ADMIN_TOKEN: undefined, ...o.env })) if (v !== undefined) env[k] = v;
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin!.end(o.stdin ?? '');
  });
}
