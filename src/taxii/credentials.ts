import type { Credentials } from '../services/auth.ts';

/** Reads `Authorization: Bearer …` or `Basic …`; anything else is no credentials at all. */
export function parseAuthorization(header: string | undefined): Credentials | undefined {
  if (!header) return undefined;
  const [scheme, value, ...rest] = header.trim().split(/\s+/);
  if (!scheme || !value || rest.length > 0 || value.length > 4096) return undefined;
  switch (scheme.toLowerCase()) {
    case 'bearer':
      return { scheme: 'bearer', token: value };
    case 'basic': {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return undefined;
      return { scheme: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    default:
      return undefined;
  }
}

export const WWW_AUTHENTICATE = 'Basic realm="vigil", charset="UTF-8", Bearer realm="vigil"';
