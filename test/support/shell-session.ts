import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// One bash session that runs snippets in turn, as someone pasting the docs' commands into a
// terminal would: variables and functions carry over. Each snippet's stdout, stderr and exit
// status come back; a command failing anywhere in it (pipelines and $(…) included) is reported
// on stderr by an ERR trap, so a snippet whose stderr is empty ran cleanly.

export type SnippetResult = { code: number; stdout: string; stderr: string };

export type ShellSession = {
  run(snippet: string, timeoutMs?: number): Promise<SnippetResult>;
  close(): Promise<void>;
};

export function shellSession(opts: { cwd: string; env: Record<string, string> }): ShellSession {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-shell-'));
  const mark = `__snippet_done_${randomBytes(8).toString('hex')}__`;
  const bash = spawn('bash', ['--noprofile', '--norc'], { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => bash.once('exit', () => resolve()));
  let out = '';
  let err = '';
  let wake = () => {};
  bash.stdout.on('data', (c: Buffer) => {
    out += c.toString('utf8');
    wake();
  });
  bash.stderr.on('data', (c: Buffer) => {
    err += c.toString('utf8');
    wake();
  });
  bash.stdin.write(`set -E -o pipefail\ntrap 'printf "failed (exit %s): %s\\n" "$?" "$BASH_COMMAND" >&2' ERR\n`);
  let count = 0;

  return {
    async run(snippet, timeoutMs = 60_000) {
      const file = path.join(dir, `snippet-${++count}.sh`);
      writeFileSync(file, `${snippet}\n`);
      out = '';
      err = '';
      // Commands get no stdin from here: only what the snippet pipes into them.
      bash.stdin.write(`source '${file}' </dev/null; printf '\\n${mark} %s\\n' "$?"; printf '\\n${mark}\\n' >&2\n`);
      const deadline = Date.now() + timeoutMs;
      const done = () => out.includes(`${mark} `) && err.includes(mark);
      while (!done()) {
        if (bash.exitCode !== null) throw new Error(`bash exited (${bash.exitCode}) while running:\n${snippet}\n${out}\n${err}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`snippet did not finish within ${timeoutMs} ms:\n${snippet}\nstdout: ${out}\nstderr: ${err}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 1000));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      const [stdout, code] = [
        out.slice(0, out.lastIndexOf(`\n${mark} `)),
        Number(out.slice(out.lastIndexOf(`${mark} `) + mark.length + 1).trim()),
      ];
      return { code, stdout, stderr: err.slice(0, err.lastIndexOf(`\n${mark}`)) };
    },
    async close() {
      bash.stdin.end();
      const timer = setTimeout(() => bash.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
