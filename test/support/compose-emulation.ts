import { randomBytes, randomInt } from 'node:crypto';
import { writeCurlShim } from './curl-shim.ts';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.ts';
import type { Config } from '../../src/config.ts';
import { hostPaths } from './compose-docker.ts';
import type { ComposeEmulationFile } from './compose-docker.ts';
import { nodeProcess } from './node-process.ts';
import type { NodeProcess } from './node-process.ts';

// docker-compose.yml run without Docker: each service built from this repository becomes a real
// node process with the environment the compose file (over the Dockerfile's ENV) gives it. Only
// what Docker itself provides is stood in for, and nothing else is changed:
//   a container's network    → a loopback address of its own (127.R.S.n), preloaded into its
//                              processes: service names resolve, 0.0.0.0 and 127.0.0.1 are it
//   published ports          → curl --connect-to 127.0.0.1:<published> → <its address>:<target>
//   volumes, /tmp            → temporary directories (paths in its environment mapped)
//   the image                → a copy of what the Dockerfile COPYs, and links to the packages
//                              `npm ci --omit=dev` installs (this repository's copies)
//                              (plus NODE_COMPILE_CACHE in its processes: speed only)
//   the postgres service     → TEST_DATABASE_URL's server, its init script run there with the
//                              databases renamed for this run; DATABASE_URL's user, password,
//                              port and database follow. Without TEST_DATABASE_URL: DATABASE_URL
//                              is removed and each node has its embedded PGlite.

const REPO = path.resolve(new URL('../..', import.meta.url).pathname);
const PRELOAD = path.join(REPO, 'test/support/container-net.ts');
const DOCKER_SHIM = path.join(REPO, 'test/support/compose-docker.ts');

export type EmulatedService = {
  name: string;
  /** Its container's address, and the configuration its node runs with. */
  address: string;
  config: Config;
  node: NodeProcess;
  /** A path in its container, as a path here (/data/admin-token → …). */
  hostPath(containerPath: string): string;
};

export type ComposeEmulation = {
  services: Record<string, EmulatedService>;
  /** The walkthrough shell's environment: PATH with the emulated `docker` and `curl` first. */
  shellEnv: Record<string, string>;
  /** PostgreSQL when TEST_DATABASE_URL was given, else PGlite. */
  database: 'postgres' | 'pglite';
  stop(): Promise<void>;
};

type Service = {
  build?: string;
  image?: string;
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[]; interval?: string; retries?: number };
};

const durationMs = (d: string | undefined, fallback: number) => {
  const m = d ? /^(\d+)(ms|s|m)$/.exec(d) : null;
  if (d && !m) throw new Error(`duration ${d} not understood`);
  return m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'] : fallback;
};

const sh = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** The image as the Dockerfile makes it: WORKDIR, ENV, VOLUME and the COPY'd files (copied). */
function buildImage(dockerfile: string, appRoot: string) {
  let workdir = '/';
  const env: Record<string, string> = {};
  const volumes: string[] = [];
  for (const line of dockerfile.split('\n').map((l) => l.trim())) {
    const [instr, ...words] = line.split(/\s+/);
    if (instr === 'WORKDIR') workdir = words[0]!;
    if (instr === 'VOLUME') volumes.push(...words);
    if (instr === 'ENV') for (const w of words) env[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1);
    if (instr === 'COPY') {
      if (words.some((w) => w.startsWith('--'))) throw new Error(`COPY flags not emulated: ${line}`);
      const dest = words.pop()!;
      for (const src of words) {
        const to = dest.endsWith('/') || words.length > 1 ? path.join(appRoot, dest, path.basename(src)) : path.join(appRoot, dest);
        cpSync(path.join(REPO, src), to, { recursive: true });
      }
    }
  }
  if (workdir !== '/app') throw new Error(`WORKDIR ${workdir}: the emulation copies into /app`);
  // `RUN npm ci --omit=dev`: the packages the lock file does not mark dev, linked from here.
  if (!/^RUN npm ci --omit=dev\b/m.test(dockerfile)) throw new Error('the emulation installs as `npm ci --omit=dev` does');
  const lock = JSON.parse(readFileSync(path.join(appRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  for (const [key, entry] of Object.entries(lock.packages)) {
    const name = key.startsWith('node_modules/') ? key.slice('node_modules/'.length) : undefined;
    if (!name || name.includes('node_modules/') || entry.dev) continue;
    mkdirSync(path.dirname(path.join(appRoot, key)), { recursive: true });
    symlinkSync(path.join(REPO, key), path.join(appRoot, key));
  }
  return { env, volumes };
}

/** The init script's databases, made on the test server under names of this run. */
async function initDatabases(initSql: string, owner: string, serverUrl: string) {
  const suffix = randomBytes(4).toString('hex');
  const names = [...initSql.matchAll(/CREATE DATABASE\s+(\w+)/gi)].map((m) => m[1]!);
  const renamed = new Map(names.map((n) => [n, `${n}_${suffix}`]));
  const user = decodeURIComponent(new URL(serverUrl).username) || 'postgres';
  const statements = initSql
    .replace(/--.*$/gm, '')
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => s.replace(/\b\w+\b/g, (w) => renamed.get(w) ?? w).replace(new RegExp(`\\bOWNER\\s+${owner}\\b`, 'i'), `OWNER "${user}"`));
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    for (const s of statements) await admin.query(s);
  } finally {
    await admin.end();
  }
  return {
    renamed,
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      try {
        for (const n of renamed.values()) await c.query(`DROP DATABASE IF EXISTS ${n} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export async function emulateCompose(opts: { testDatabaseUrl?: string } = {}): Promise<ComposeEmulation> {
  const compose = parse(readFileSync(path.join(REPO, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
  };
  const entries = Object.entries(compose.services);
  const built = entries.filter(([, s]) => s.build !== undefined);
  const pgServices = entries.filter(([, s]) => s.image?.startsWith('postgres:'));
  for (const [name, s] of entries)
    if (!s.build && !s.image?.startsWith('postgres:')) throw new Error(`service ${name} (${s.image}) not emulated`);
  if (pgServices.length > 1) throw new Error('one postgres service is emulated, not several');

  const root = mkdtempSync(path.join(tmpdir(), 'vigil-compose-'));
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(root, { recursive: true, force: true })];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c();
  };
  try {
    if (built.some(([, s]) => s.build !== '.')) throw new Error('every node is built from this repository (build: .)');
    const image = buildImage(readFileSync(path.join(REPO, 'Dockerfile'), 'utf8'), path.join(root, 'app'));
    const pkg = JSON.parse(readFileSync(path.join(root, 'app', 'package.json'), 'utf8')) as { scripts: Record<string, string> };

    const base = `127.${randomInt(10, 250)}.${randomInt(0, 256)}.`;
    const addresses = Object.fromEntries(built.map(([name], i) => [name, `${base}${i + 1}`]));
    const hosts: Record<string, string> = { ...addresses };

    let database: Awaited<ReturnType<typeof initDatabases>> | undefined;
    const [pgName, pgService] = pgServices[0] ?? [];
    const pgEnv = (pgService?.environment ?? {}) as Record<string, string>;
    const initMount = (pgService?.volumes ?? [])
      .map((v) => v.split(':'))
      .find(([, target]) => target?.startsWith('/docker-entrypoint-initdb.d/'));
    const initSql = initMount ? readFileSync(path.resolve(REPO, initMount[0]!), 'utf8') : '';
    const initDatabaseNames = new Set([...initSql.matchAll(/CREATE DATABASE\s+(\w+)/gi)].map((m) => m[1]!));
    if (opts.testDatabaseUrl && pgName) {
      database = await initDatabases(initSql, pgEnv.POSTGRES_USER ?? 'postgres', opts.testDatabaseUrl);
      cleanups.push(() => database!.drop());
      hosts[pgName] = new URL(opts.testDatabaseUrl).hostname;
    }

    /**
     * DATABASE_URL checked against the postgres service (host, port, user, password, a database
     * its init script makes), then made this run's: on the test server, or removed for PGlite.
     */
    const databaseUrl = (service: string, value: string | undefined): string | undefined => {
      if (!value) return value;
      const url = new URL(value);
      const problem =
        url.hostname !== pgName
          ? `host ${url.hostname} is not a postgres service`
          : (url.port || '5432') !== '5432'
            ? `port ${url.port}: PostgreSQL listens on 5432`
            : decodeURIComponent(url.username) !== (pgEnv.POSTGRES_USER ?? 'postgres')
              ? `user ${url.username} is not POSTGRES_USER`
              : decodeURIComponent(url.password) !== (pgEnv.POSTGRES_PASSWORD ?? '')
                ? 'its password is not POSTGRES_PASSWORD'
                : !initDatabaseNames.has(url.pathname.slice(1))
                  ? `database ${url.pathname.slice(1)} is not made by ${pgName}'s init script`
                  : undefined;
      if (problem) throw new Error(`${service}: DATABASE_URL ${value}: ${problem}`);
      if (!database || !opts.testDatabaseUrl) return undefined; // PGlite
      const server = new URL(opts.testDatabaseUrl);
      url.username = server.username;
      url.password = server.password;
      url.port = server.port;
      url.pathname = `/${database.renamed.get(url.pathname.slice(1))}`;
      return url.toString();
    };

    const compileCache = path.join(root, 'compile-cache');
    const file: ComposeEmulationFile = { services: {} };
    const services: Record<string, EmulatedService> = {};
    const connectTo: string[] = [];
    for (const [name, s] of built) {
      const dir = path.join(root, name);
      const mounts: Record<string, string> = { '/tmp': path.join(dir, 'tmp') };
      for (const target of image.volumes) mounts[target] = path.join(dir, 'anonymous', target);
      for (const v of s.volumes ?? []) {
        const [source, target] = v.split(':');
        mounts[target!] = /^[./]/.test(source!) ? path.resolve(REPO, source!) : path.join(dir, 'volumes', source!);
      }
      for (const d of Object.values(mounts)) mkdirSync(d, { recursive: true });

      const raw = { ...image.env, ...Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)])) };
      const env: Record<string, string> = Object.fromEntries(
        Object.entries(raw).map(([k, v]) => [k, v.startsWith('/') ? hostPaths(v, mounts) : v]),
      );
      const dbUrl = databaseUrl(name, env.DATABASE_URL);
      if (dbUrl) env.DATABASE_URL = dbUrl;
      else delete env.DATABASE_URL;
      const config = loadConfig(env);
      const containerEnv = {
        ...env,
        PATH: `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
        HOME: path.join(dir, 'tmp'),
        NODE_OPTIONS: `--import=${PRELOAD}${env.NODE_OPTIONS ? ` ${env.NODE_OPTIONS}` : ''}`,
        VIGIL_TEST_CONTAINER_NET: JSON.stringify({ address: addresses[name], hosts }),
        NODE_COMPILE_CACHE: compileCache, // speed only: the CLI starts in half the time
      };

      const command = s.command ?? ['npm', 'start'];
      const script = command.join(' ') === 'npm start' ? pkg.scripts.start : command.join(' ');
      // Node flags (`npm start`'s) are applied by nodeProcess itself.
      const main = /^node(?: --\S+)* (\S+\.ts)$/.exec(script ?? '')?.[1];
      if (!main) throw new Error(`${name}: command ${command.join(' ')} (${script}) not emulated`);

      for (const p of s.ports ?? []) {
        const parts = p.split(':');
        const [ip, published, target] = parts.length === 3 ? parts : ['0.0.0.0', ...parts];
        for (const from of ip === '0.0.0.0' || ip === '127.0.0.1' ? ['127.0.0.1', 'localhost'] : [ip]) {
          connectTo.push(`${from}:${published}:${addresses[name]}:${target}`);
        }
      }
      const hc = s.healthcheck;
      file.services[name] = {
        appDir: path.join(root, 'app'),
        env: containerEnv,
        mounts,
        ...(hc ? { healthcheck: { test: hc.test, intervalMs: durationMs(hc.interval, 30_000), retries: hc.retries ?? 3 } } : {}),
      };
      const node = nodeProcess(name, config.port, containerEnv, {
        host: addresses[name],
        main: path.join(root, 'app', main),
        cwd: path.join(root, 'app'),
        exactEnv: true,
      });
      cleanups.push(async () => void (await node.stop(5_000)));
      services[name] = { name, address: addresses[name]!, config, node, hostPath: (p) => hostPaths(p, mounts) };
    }

    const fileName = path.join(root, 'compose-emulation.json');
    writeFileSync(fileName, JSON.stringify(file, null, 2));
    const bin = path.join(root, 'bin');
    writeCurlShim(bin, connectTo);
    writeFileSync(path.join(bin, 'docker'), `#!/bin/sh\nexec ${sh(process.execPath)} ${sh(DOCKER_SHIM)} "$@"\n`);
    chmodSync(path.join(bin, 'docker'), 0o755);

    await Promise.all(Object.values(services).map((s) => s.node.start(120_000))); // PGlite starts slowly on a loaded machine
    return {
      services,
      database: database ? 'postgres' : 'pglite',
      shellEnv: {
        PATH: `${bin}:${process.env.PATH ?? ''}`,
        HOME: root,
        VIGIL_COMPOSE_EMULATION: fileName,
        NODE_COMPILE_CACHE: compileCache,
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
