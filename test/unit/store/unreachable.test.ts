import { describe, expect, it } from 'vitest';
import { isDatabaseUnreachable } from '../../../src/store/unreachable.ts';

// What node-postgres and the PGlite proxy throw, by shape: an outage is a 503, a failed statement stays a 500.

const pgError = (message: string, code: string, severity = 'ERROR') => Object.assign(new Error(message), { code, severity });

describe('a database the node cannot reach', () => {
  it.each([
    ['terminated by an administrator', pgError('terminating connection due to administrator command', '57P01', 'FATAL')],
    ['the server starting up', pgError('the database system is starting up', '57P03', 'FATAL')],
    ['a connection exception', pgError('connection failure', '08006')],
    ['no such database (FATAL at connection)', pgError('database "vigil" does not exist', '3D000', 'FATAL')],
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['the socket closed', new Error('Connection terminated unexpectedly')],
    ['the pool waiting too long', new Error('timeout exceeded when trying to connect')],
    ['a session that did not open within the connect timeout', new Error('timeout expired')],
    ['the pool ended', new Error('Cannot use a pool after calling end on the pool')],
    ['PGlite closed', pgError('PGlite is closed', '08003')],
    ['wrapped', new Error('reading the page failed', { cause: new Error('Connection terminated unexpectedly') })],
    ['every address refused', new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' })])],
  ])('%s', (_name, err) => expect(isDatabaseUnreachable(err)).toBe(true));
});

describe('a statement that failed', () => {
  it.each([
    ['a unique violation', pgError('duplicate key value violates unique constraint', '23505')],
    ['a missing table', pgError('relation "x" does not exist', '42P01')],
    ['a cancelled statement', pgError('canceling statement due to statement timeout', '57014')],
    ['a serialization failure', pgError('could not serialize access', '40001')],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['not an Error', 'Connection terminated unexpectedly'],
  ])('%s', (_name, err) => expect(isDatabaseUnreachable(err)).toBe(false));
});
