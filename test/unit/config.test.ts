import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, SETTINGS } from '../../src/config.ts';

describe('configuration from the environment', () => {
  it('has the defaults the operating guide shows', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8000,
      databaseUrl: undefined,
      dataDir: './data',
      adminToken: undefined,
      publicUrl: undefined,
      logLevel: 'info',
      maxContentLength: 104_857_600,
      pageSizeMax: 1000,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('documents every setting in the operating guide (docs/operating.md)', () => {
    const guide = readFileSync(new URL('../../docs/operating.md', import.meta.url), 'utf8');
    const missing = SETTINGS.filter((name) => !guide.includes(`| \`${name}\` |`));
    expect(missing).toEqual([]);
  });

  it('reads the alert settings, with safe defaults for webhooks', () => {
    expect(loadConfig({}).alerts).toMatchObject({ tickMs: 250, maxAttempts: 12, allowPrivate: false, allowHttp: false, hosts: undefined });
    expect(loadConfig({ ALERT_WEBHOOK_HOSTS: 'Hooks.Example.org, *.hospital.eu' }).alerts.hosts).toEqual([
      'hooks.example.org',
      '*.hospital.eu',
    ]);
  });

  it('reads the rate limits, on by default, and the trusted proxies', () => {
    expect(loadConfig({}).rateLimits).toEqual({ perMinute: 600, burst: 300, anonymousPerMinute: 120 });
    expect(loadConfig({}).trustedProxies).toEqual([]);
    expect(loadConfig({ RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '0' }).rateLimits).toMatchObject({
      perMinute: 0,
      anonymousPerMinute: 0,
    });
    expect(loadConfig({ TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1,fd00::/8' }).trustedProxies).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      'fd00::/8',
    ]);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' })).toMatchObject({ port: 8000, databaseUrl: undefined });
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['ADMIN_TOKEN', 'short'],
    ['PUBLIC_URL', 'not a url'],
    ['LOG_LEVEL', 'verbose'],
    ['MAX_CONTENT_LENGTH', '0'],
    ['PAGE_SIZE_MAX', '-5'],
    ['ALERT_TICK_MS', 'often'],
    ['ALERT_MAX_ATTEMPTS', '0'],
    ['ALERT_WEBHOOK_ALLOW_PRIVATE', 'maybe'],
    ['ALERT_WEBHOOK_HOSTS', 'hooks.example.org, bad host!'],
    ['RATE_LIMIT_PER_MINUTE', '-1'],
    ['RATE_LIMIT_BURST', '0'],
    ['TRUSTED_PROXIES', '10.0.0.0/8, proxy.example.org'],
    ['DATABASE_READ_URL', 'postgres://standby-1/vigil, mysql://standby-2/vigil'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^invalid configuration:\\n  ${name}: `));
  });

  it('reads the read replicas, a comma-separated list, only beside DATABASE_URL', () => {
    expect(loadConfig({}).databaseReadUrls).toEqual([]);
    const primary = { DATABASE_URL: 'postgres://primary/vigil' };
    expect(
      loadConfig({ ...primary, DATABASE_READ_URL: 'postgres://standby-1/vigil, postgresql://standby-2:5433/vigil' }).databaseReadUrls,
    ).toEqual(['postgres://standby-1/vigil', 'postgresql://standby-2:5433/vigil']);
    expect(() => loadConfig({ DATABASE_READ_URL: 'postgres://standby-1/vigil' })).toThrow(
      /^invalid configuration:\n {2}DATABASE_READ_URL: read replicas need DATABASE_URL/,
    );
  });

  it('strips a trailing slash from PUBLIC_URL', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://cti.example.org/' }).publicUrl).toBe('https://cti.example.org');
  });
});
