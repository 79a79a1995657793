// Zod issues as one readable sentence per property, "<path>: <what is wrong>",
// for TAXII status failures; not a dump of zod's issue objects.
import type { z } from 'zod';

const NOUNS: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean',
  array: 'a list',
  object: 'an object',
  record: 'an object',
};

function quoted(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(value);
}

/** Per-parse error map: the texts used when a schema does not give its own. */
export function stixErrorMap(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is required' : `must be ${NOUNS[issue.expected] ?? issue.expected}`;
    case 'too_small':
      if (issue.origin === 'array') return Number(issue.minimum) === 1 ? 'must not be empty' : `must have at least ${issue.minimum} items`;
      if (issue.origin === 'string') return `must be at least ${issue.minimum} characters long`;
      return `must be ${issue.inclusive === false ? 'greater than' : 'at least'} ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'array') return `must have at most ${issue.maximum} items`;
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters long`;
      return `must be ${issue.inclusive === false ? 'less than' : 'at most'} ${issue.maximum}`;
    case 'invalid_value':
      if (issue.input === undefined) return 'is required';
      return issue.values.length === 1 ? `must be ${quoted(issue.values[0])}` : `must be one of: ${issue.values.map(quoted).join(', ')}`;
    case 'invalid_key':
      return `key ${quoted(issue.input)} is not allowed: ${issue.issues[0]?.message ?? 'invalid key'}`;
    default:
      return undefined;
  }
}

/** `external_references[0].hashes.SHA-256`; the empty path is the object itself. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`;
    else out += out === '' ? String(step) : `.${String(step)}`;
  }
  return out;
}

export function formatIssue(issue: z.core.$ZodIssue): string {
  const path = formatPath(issue.path);
  return path === '' ? issue.message : `${path}: ${issue.message}`;
}

/** The first `limit` distinct issues, joined with '; '. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], limit = 3): string {
  const messages = [...new Set(issues.map(formatIssue))];
  const shown = messages.slice(0, limit).join('; ');
  return messages.length > limit ? `${shown}; and ${messages.length - limit} more` : shown;
}
