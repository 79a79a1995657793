import type { ContentfulStatusCode } from 'hono/utils/http-status';

// Every failure the node reports, by stable code; one table maps a code to its HTTP status.
const statusByCode = {
  'bad-request': 400,
  'invalid-json': 400,
  'invalid-parameter': 400,
  'invalid-cursor': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  'not-acceptable': 406,
  conflict: 409,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  unprocessable: 422,
  'too-many-requests': 429,
  internal: 500,
  unavailable: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof statusByCode;

const titles: Record<ErrorCode, string> = {
  'bad-request': 'Bad request',
  'invalid-json': 'The request body is not valid JSON',
  'invalid-parameter': 'Invalid query parameter',
  'invalid-cursor': 'Invalid next token',
  unauthorized: 'Authentication required',
  forbidden: 'Forbidden',
  'not-found': 'Not found',
  'method-not-allowed': 'Method not allowed',
  'not-acceptable': 'Not acceptable',
  conflict: 'Conflict',
  'payload-too-large': 'Request body too large',
  'unsupported-media-type': 'Unsupported media type',
  unprocessable: 'Unprocessable request',
  'too-many-requests': 'Too many requests',
  internal: 'Internal server error',
  unavailable: 'Service unavailable',
};

/** Retry-After of a 503 'unavailable': the database pool opens new connections on the next request. */
export const RETRY_AFTER_SECONDS = 5;

/** An error as a value: thrown by services and handlers, turned into a response in one place. */
export class VigilError extends Error {
  override name = 'VigilError';
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: ErrorCode, description?: string, details?: Record<string, unknown>) {
    super(description ?? titles[code]);
    this.code = code;
    this.details = details;
  }
  get status(): ContentfulStatusCode {
    return statusByCode[this.code];
  }
}

/** The Allow header of a 405 'method-not-allowed': the methods its details list. */
export function allowHeader(err: VigilError): string {
  const allow = err.details?.allow;
  return Array.isArray(allow) ? allow.join(', ') : '';
}

/** The Retry-After header of a 429 'too-many-requests': the seconds its details give. */
export function retryAfterHeader(err: VigilError): string {
  return String(err.details?.retry_after_seconds ?? 1);
}

/** The TAXII 2.1 error resource (§3.6.1): `title` required, `http_status` a string. */
export function errorResource(err: VigilError): Record<string, unknown> {
  return {
    title: titles[err.code],
    description: err.message,
    error_code: err.code,
    http_status: String(err.status),
    ...(err.details ? { details: err.details } : {}),
  };
}
