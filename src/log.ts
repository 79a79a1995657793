import { pino } from 'pino';
import type { Logger } from 'pino';
import type { Config } from './config.ts';

export type Log = Logger;

/** JSON lines on stdout; the redaction list is a second guard: no code path logs a secret. */
export function createLog(config: Pick<Config, 'logLevel'>): Log {
  return pino({
    level: config.logLevel,
    base: { service: 'vigil' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['token', 'password', 'authorization', '*.authorization', 'headers.authorization', 'adminToken'], censor: '[redacted]' },
  });
}
