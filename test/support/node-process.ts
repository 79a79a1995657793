import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ADMIN_TOKEN, TAXII } from './node.ts';
import { seedPGlite } from './pglite-template.ts';

// Real node processes (`node src/main.ts`, with the Node flags of `npm start`, so they run as
// deployed) for end-to-end tests: started with an environment of
// their own, stopped with SIGTERM (SIGKILL when that does not end them in time), and restartable
// on the same port and data. Every child started here is killed when the test process exits,
// whatever happened to the test.

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const START_FLAGS = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }
).scripts.start
  .split(' ')
  .filter((word) => word.startsWith('--'));
const OUTPUT_LIMIT = 64_000;
const live = new Set<ChildProcess>();

process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A port free on loopback now: listened on (port 0), then closed. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `count` distinct free ports. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

export type NodeProcess = {
  name: string;
  port: number;
  url: string;
  /** The child's stdout and stderr so far (the last 64 kB), for failure messages. */
  output(): string;
  running(): boolean;
  /** Starts the process (again) and resolves once /healthz answers 200. */
  start(timeoutMs?: number): Promise<void>;
  /** Sends `signal` (SIGKILL: a crash, no shutdown at all); resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** An HTTP request to the node, as its admin unless `token` says otherwise (null: none). */
  request(pathname: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  /** A JSON admin API call; throws on a status of 300 or more. */
  admin(method: string, pathname: string, body?: unknown): Promise<any>;
};

export type NodeProcessOptions = {
  /** The address it listens on, for /healthz and `url` (default 127.0.0.1). */
  host?: string;
  /** The entry point and working directory (default: this repository's src/main.ts, the test's cwd). */
  main?: string;
  cwd?: string;
  /** true: `env` is the whole environment (besides PATH and HOME), no test defaults added. */
  exactEnv?: boolean;
};

export function nodeProcess(name: string, port: number, env: Record<string, string>, opts: NodeProcessOptions = {}): NodeProcess {
  const url = `http://${opts.host ?? '127.0.0.1'}:${port}`;
  const defaults = opts.exactEnv ? {} : { HOST: '127.0.0.1', PORT: String(port), ADMIN_TOKEN, LOG_LEVEL: 'warn' };
  let child: ChildProcess | undefined;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  let out = '';
  const append = (prefix: string) => (chunk: Buffer) => {
    out += chunk
      .toString('utf8')
      .split('\n')
      .map((l) => (l ? `[${name}${prefix}] ${l}` : l))
      .join('\n');
    if (out.length > OUTPUT_LIMIT) out = out.slice(-OUTPUT_LIMIT);
  };

  const self: NodeProcess = {
    name,
    port,
    url,
    output: () => out,
    running: () => Boolean(child && child.exitCode === null && child.signalCode === null),
    // A fresh PGlite node starts in ~10 s alone; two at once beside CI's other files passed 45 s.
    async start(timeoutMs = 90_000) {
      if (self.running()) throw new Error(`${name} is already running`);
      // A node on PGlite starts from the suite's migrated template unless it runs as a user would.
      if (!opts.exactEnv && env.DATA_DIR && !env.DATABASE_URL) seedPGlite(path.resolve(opts.cwd ?? '.', env.DATA_DIR, 'pgdata'));
      const c = spawn(process.execPath, [...START_FLAGS, opts.main ?? MAIN], {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...defaults, ...env },
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = c;
      live.add(c);
      c.stdout!.on('data', append(''));
      c.stderr!.on('data', append(':err'));
      exited = new Promise((resolve) =>
        c.once('exit', (code, signal) => {
          live.delete(c);
          resolve({ code, signal });
        }),
      );
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (!self.running()) throw new Error(`${name} exited before answering /healthz:\n${out}`);
        try {
          const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
          if (res.status === 200) return;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`${name} did not answer /healthz within ${timeoutMs} ms:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async kill(signal = 'SIGKILL') {
      if (!child || !exited) return { code: null, signal: null };
      if (self.running()) child.kill(signal);
      return exited;
    },
    async stop(graceMs = 10_000) {
      const c = child;
      if (!c || !exited) return { code: null, signal: null };
      if (!self.running()) return exited;
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    request(pathname, init = {}) {
      const { token = ADMIN_TOKEN, headers, ...rest } = init;
      const h = new Headers(headers);
      if (!h.has('accept')) h.set('accept', TAXII);
      if (token !== null && !h.has('authorization')) h.set('authorization', `Bearer ${token}`);
      return fetch(`${url}${pathname}`, { ...rest, headers: h });
    },
    async admin(method, pathname, body) {
      const res = await self.request(pathname, {
        method,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (res.status >= 300) throw new Error(`${name}: ${method} ${pathname}: ${res.status} ${await res.text()}`);
      return res.status === 204 ? undefined : res.json();
    },
  };
  return self;
}
