import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.ts';

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'));
  const readme = read('README.md');

  it('runs PostgreSQL and a node built from this repository', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['postgres', 'vigil']);
    expect(compose.services.vigil.build).toBe('.');
    expect(compose.services.vigil.depends_on.postgres.condition).toBe('service_healthy');
  });

  it('starts the node with the README command, and the Dockerfile does too', () => {
    expect(readme).toContain('npm install && npm start');
    expect(compose.services.vigil.command).toEqual(['npm', 'start']);
    expect(read('Dockerfile')).toContain('CMD ["npm", "start"]');
    expect(readme).toContain('docker compose up --build');
  });

  it('gives the node a configuration that passes its own validation, pointing at the postgres service', () => {
    const env = compose.services.vigil.environment as Record<string, string>;
    const config = loadConfig(env);
    const pgEnv = compose.services.postgres.environment;
    expect(config.databaseUrl).toBe(`postgres://${pgEnv.POSTGRES_USER}:${pgEnv.POSTGRES_PASSWORD}@postgres:5432/${pgEnv.POSTGRES_DB}`);
    expect(config.host).toBe('0.0.0.0');
  });
});
