import type { ConsoleSession } from './sessions.ts';

/** Set by the console's middleware: the session of the request (undefined before sign-in) and its cookie id. */
export type ConsoleEnv = { Variables: { session: ConsoleSession | undefined; sessionId: string | undefined } };
