import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

// The `docker` command of an emulated compose deployment (compose-emulation.ts), for the compose
// walkthrough's shell (docs/operating.md): `docker compose exec [-T] <service> <command…>` runs the command as in
// that service's container, and `docker compose up --wait` runs every health check until it
// passes (the services are running already). Anything else is refused, so a walkthrough that
// relies on it fails rather than passes.

export type EmulatedContainer = {
  /** WORKDIR of the image: a copy of what the Dockerfile copies. */
  appDir: string;
  /** The container's environment, paths mapped, with the container network preload. */
  env: Record<string, string>;
  /** Mount points and container directories (/data, /tmp) → their directories here. */
  mounts: Record<string, string>;
  healthcheck?: { test: string[]; intervalMs: number; retries: number };
};

export type ComposeEmulationFile = { services: Record<string, EmulatedContainer> };

/** A container path (whole, or inside a shell command) made a path here: /data/x → <dir>/x. */
export function hostPaths(text: string, mounts: Record<string, string>): string {
  const targets = Object.keys(mounts).sort((a, b) => b.length - a.length);
  if (targets.length === 0) return text;
  const escaped = targets.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  return text.replace(new RegExp(`(^|[\\s'"=<>])(${escaped})(?=/|$|[\\s'"])`, 'g'), (_m, pre: string, t: string) => `${pre}${mounts[t]}`);
}

function run(c: EmulatedContainer, argv: string[], stdio: 'inherit' | 'ignore'): Promise<number> {
  const [cmd, ...args] = argv.map((a) => hostPaths(a, c.mounts));
  return new Promise((resolve) => {
    const child = spawn(cmd!, args, { cwd: c.appDir, env: c.env, stdio });
    child.once('error', (err) => {
      process.stderr.write(`docker (emulated): ${cmd}: ${err.message}\n`);
      resolve(127);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function healthy(name: string, c: EmulatedContainer): Promise<boolean> {
  const hc = c.healthcheck;
  if (!hc || hc.test[0] === 'NONE') return true;
  const argv = hc.test[0] === 'CMD-SHELL' ? ['sh', '-c', hc.test[1]!] : hc.test[0] === 'CMD' ? hc.test.slice(1) : undefined;
  if (!argv) throw new Error(`${name}: health check ${JSON.stringify(hc.test)} not understood`);
  for (let i = 0; i < hc.retries; i++) {
    if ((await run(c, argv, 'ignore')) === 0) return true;
    await new Promise((r) => setTimeout(r, hc.intervalMs));
  }
  return false;
}

async function compose(args: string[], file: ComposeEmulationFile): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'up') {
    const unknown = rest.filter((a) => !['--build', '-d', '--detach', '--wait'].includes(a));
    if (unknown.length > 0) return refuse(`docker compose up ${unknown.join(' ')}: not emulated`);
    if (!rest.includes('--wait')) {
      return refuse('docker compose up without --wait: the next commands may run before the nodes answer');
    }
    for (const [name, c] of Object.entries(file.services)) {
      if (!(await healthy(name, c))) return refuse(`${name} is not healthy: its health check never passed`);
    }
    return 0;
  }
  if (sub === 'exec') {
    const argv = rest[0] === '-T' ? rest.slice(1) : rest;
    const [service, ...command] = argv;
    const c = service ? file.services[service] : undefined;
    if (!c) return refuse(`docker compose exec: no such service: ${service}`);
    if (command.length === 0) return refuse('docker compose exec: no command');
    return run(c, command, 'inherit');
  }
  return refuse(`docker compose ${sub}: not emulated`);
}

function refuse(message: string): number {
  process.stderr.write(`docker (emulated): ${message}\n`);
  return 2;
}

if (import.meta.main) {
  const file = JSON.parse(readFileSync(process.env.VIGIL_COMPOSE_EMULATION!, 'utf8')) as ComposeEmulationFile;
  const [cmd, ...args] = process.argv.slice(2);
  process.exitCode = cmd === 'compose' ? await compose(args, file) : refuse(`docker ${cmd}: not emulated`);
}
