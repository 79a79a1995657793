import { execFile } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

// A PostgreSQL primary and a hot standby streaming from it, started for a test on this machine
// with the server's own programs (Debian keeps them out of PATH, in /usr/lib/postgresql/N/bin).
// The machine's cluster allows no replication connections; this pair, in a temporary directory
// on ports of its own, does. PostgreSQL refuses to run as root: as root, the programs run as the
// postgres user.

const run = promisify(execFile);

export type ReplicaPair = {
  primaryUrl: string;
  standbyUrl: string;
  /** Stops the standby applying what it receives (a standby that lags), and lets it go on. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Resolves once the standby has replayed everything the primary has written so far. */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
};

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(a) - Number(b)) : [];
  const dir = versions.length ? path.join(root, versions.at(-1)!, 'bin') : '';
  if (!dir || !existsSync(path.join(dir, 'initdb'))) {
    throw new Error(`no PostgreSQL server programs under ${root}/<version>/bin: install Debian's postgresql package`);
  }
  return dir;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function query(url: string, text: string): Promise<Record<string, unknown>[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
}

export async function startReplicaPair(): Promise<ReplicaPair> {
  const bin = binDir();
  const asRoot = process.getuid?.() === 0;
  const program = (name: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(bin, name), ...args]) : run(path.join(bin, name), args);
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-replicas-'));
  if (asRoot) chownSync(dir, Number((await run('id', ['-u', 'postgres'])).stdout), Number((await run('id', ['-g', 'postgres'])).stdout));
  const primary = path.join(dir, 'primary');
  const standby = path.join(dir, 'standby');
  const [primaryPort, standbyPort] = [await freePort(), await freePort()];
  const settings = (port: number) =>
    [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      'wal_level = replica',
      'max_wal_senders = 4',
      'hot_standby = on',
      'fsync = off',
      'full_page_writes = off',
      'shared_buffers = 32MB',
      'max_connections = 60',
      '',
    ].join('\n');
  let started: string[] = [];
  const stop = async () => {
    for (const d of started.reverse()) await program('pg_ctl', ['-D', d, '-m', 'immediate', '-w', 'stop']).catch(() => {});
    started = [];
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await program('initdb', ['-D', primary, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    appendFileSync(primary.concat('/postgresql.conf'), settings(primaryPort));
    // initdb's own pg_hba.conf with --auth=trust already lets replication connect from 127.0.0.1.
    await program('pg_ctl', ['-D', primary, '-l', path.join(dir, 'primary.log'), '-w', 'start']);
    started.push(primary);
    await program('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', standby, '-R', '-X', 'stream']);
    appendFileSync(standby.concat('/postgresql.conf'), settings(standbyPort));
    await program('pg_ctl', ['-D', standby, '-l', path.join(dir, 'standby.log'), '-w', 'start']);
    started.push(standby);
  } catch (err) {
    await stop();
    throw err;
  }
  const primaryUrl = `postgres://postgres@127.0.0.1:${primaryPort}/postgres`;
  const standbyUrl = `postgres://postgres@127.0.0.1:${standbyPort}/postgres`;
  return {
    primaryUrl,
    standbyUrl,
    pauseReplay: async () => void (await query(standbyUrl, 'SELECT pg_wal_replay_pause()')),
    resumeReplay: async () => void (await query(standbyUrl, 'SELECT pg_wal_replay_resume()')),
    async caughtUp() {
      const [{ lsn }] = (await query(primaryUrl, 'SELECT pg_current_wal_lsn()::text AS lsn')) as [{ lsn: string }];
      for (let i = 0; i < 200; i++) {
        const [{ done }] = (await query(standbyUrl, `SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn AS done`)) as [{ done: boolean }];
        if (done) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`the standby did not replay up to ${lsn} within 10 s`);
    },
    stop,
  };
}
