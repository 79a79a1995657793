import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import type { Config } from './config.ts';

export type Log = Logger;

/**
 * Errors are logged by name, message, code and stack only. Database errors carry their query's
 * parameters (PGlite attaches them), which may be a whole submitted bundle or a token's hash:
 * neither belongs in a log line.
 */
function errorOnly(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const code = (err as { code?: unknown }).code;
  return { type: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}), stack: err.stack };
}

/** JSON lines on stdout; the redaction list is a second guard: no code path logs a secret. */
export function createLog(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Log {
  const options = {
    level: config.logLevel,
    base: { service: 'vigil' },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: errorOnly },
    redact: { paths: ['token', 'password', 'authorization', '*.authorization', 'headers.authorization', 'adminToken'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
