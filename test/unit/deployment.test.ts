import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.ts';

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true });
  const readme = read('README.md');
  const operating = read('docs/operating.md');

  const nodes = ['vigil-a', 'vigil-b', 'vigil-c'];

  it('runs PostgreSQL and three nodes built from this repository', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['postgres', ...nodes]);
    for (const n of nodes) {
      expect(compose.services[n].build, n).toBe('.');
      expect(compose.services[n].depends_on.postgres.condition, n).toBe('service_healthy');
    }
  });

  it('starts every node with the README command, and the Dockerfile does too; the operating guide builds them', () => {
    expect(readme).toContain('npm install && npm start');
    for (const n of nodes) expect(compose.services[n].command, n).toEqual(['npm', 'start']);
    expect(read('Dockerfile')).toContain('CMD ["npm", "start"]');
    expect(operating).toContain('docker compose up --build');
  });

  it('calls PostgreSQL healthy only once it listens on TCP (its init script has run), and each node once it answers', () => {
    // While the init script runs, the server listens on its Unix socket only.
    expect(compose.services.postgres.healthcheck.test.join(' ')).toMatch(/pg_isready -h 127\.0\.0\.1 /);
    for (const n of nodes) expect(compose.services[n].healthcheck.test.join(' '), n).toContain('http://127.0.0.1:8000/healthz');
    expect(operating).toContain('docker compose up --build --wait');
  });

  it('gives each node a valid configuration of its own: database (made by the init script), node id, public URL', () => {
    const init = read('deploy/postgres-init.sql');
    const pgEnv = compose.services.postgres.environment;
    const seen = new Set<string>();
    for (const n of nodes) {
      const config = loadConfig(compose.services[n].environment as Record<string, string>);
      const db = config.databaseUrl!.split('/').pop()!;
      expect(config.databaseUrl, n).toBe(`postgres://${pgEnv.POSTGRES_USER}:${pgEnv.POSTGRES_PASSWORD}@postgres:5432/${db}`);
      expect(init, n).toContain(`CREATE DATABASE ${db} `);
      expect(config.publicUrl, n).toBe(`http://${n}:8000`);
      expect(config.host).toBe('0.0.0.0');
      seen.add(`${db}|${config.nodeId}`);
    }
    expect(seen.size).toBe(3);
  });
});
