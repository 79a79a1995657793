import { AsyncLocalStorage } from 'node:async_hooks';
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

/** The request being handled, if any: every log line written while handling it carries its id. */
const requestContext = new AsyncLocalStorage<{ requestId: string }>();

export function withRequestId<T>(requestId: string, work: () => T): T {
  return requestContext.run({ requestId }, work);
}

/** JSON lines on stdout; the redaction list is a second guard: no code path logs a secret. */
export function createLog(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Log {
  const options = {
    level: config.logLevel,
    base: { service: 'vigil' },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: errorOnly },
    mixin: () => {
      const request = requestContext.getStore();
      return request ? { request_id: request.requestId } : {};
    },
    redact: {
      paths: ['token', 'password', 'authorization', '*.authorization', 'headers.authorization', 'adminToken', 'metricsToken'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
