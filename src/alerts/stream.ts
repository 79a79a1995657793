import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { SSEStreamingApi } from 'hono/streaming';
import { z } from 'zod';
import type { Deps } from '../deps.ts';
import { VigilError } from '../errors.ts';
import { queryParams, uuidParam } from '../http/json.ts';
import * as alerts from '../services/alerts.ts';
import { authenticate } from '../services/auth.ts';
import type { Principal } from '../services/auth.ts';
import { alertsAfter, clientAlertsAfter, lastAlertSeq } from '../store/alerts.ts';
import type { AlertRow } from '../store/alerts.ts';
import { parseAuthorization } from '../taxii/credentials.ts';
import { alertBody } from '../services/alert-payload.ts';

// GET /alerts/stream: alerts as Server-Sent Events (HTML Living Standard §9.2), for live consoles.
// The event id is the alert's seq: alerts commit in seq order, so resuming after an id misses none.

const PAGE = 100;
const HEARTBEAT_MS = 15_000;
const RETRY_MS = 2_000;
const MAX_SEQ = 2n ** 63n - 1n; // seq is a bigserial
const DIGITS = /^\d{1,19}$/;

const eventId = z
  .string()
  .trim()
  .regex(DIGITS, 'must be a non-negative integer: the id of the last event received')
  .refine((v) => !DIGITS.test(v) || BigInt(v) <= MAX_SEQ, 'is past the largest event id')
  .transform((v) => BigInt(v).toString());

export const streamQuery = z.strictObject({
  /** One of the caller's subscriptions; omitted: all of them (the admin: everyone's). */
  subscription: z.string().optional(),
  /** For clients that cannot set the Last-Event-ID header; the header wins when both are sent. */
  last_event_id: eventId.optional(),
});

/** Which alerts a stream carries: one subscription's, or a client's (every client's: undefined). */
type Scope = { subscription: string } | { client: string | undefined };

/** The ownership rules of the alert API: a client streams its own subscriptions, the admin anyone's, a peer none. */
async function resolveScope(deps: Deps, who: Principal, subscription: string | undefined): Promise<Scope> {
  if (subscription) {
    const sub = await alerts.getAlertSubscription(deps, who, uuidParam(subscription, 'alert subscription'));
    return { subscription: sub.id };
  }
  await alerts.listAlertSubscriptions(deps, who); // for its permission check: peers are refused
  return { client: who.kind === 'client' ? who.id : undefined };
}

/** Where the stream starts: after Last-Event-ID, else after the newest alert (a first connect gets only new alerts). */
async function startAfter(deps: Deps, c: Context, fromQuery: string | undefined): Promise<string> {
  const header = c.req.header('last-event-id');
  if (header !== undefined) {
    const parsed = eventId.safeParse(header);
    if (!parsed.success) throw new VigilError('bad-request', `Last-Event-ID: ${parsed.error.issues[0]!.message}`);
    return parsed.data;
  }
  return fromQuery ?? (await lastAlertSeq(deps.database.db));
}

/**
 * Opens the stream for the authenticated caller. Alerts of inactive subscriptions are still
 * streamed: pausing stops the matching, it does not hide what was already matched. Each alert is
 * read under the TLP rules for its subscriber now; one it may no longer read is skipped.
 */
export async function alertStream(deps: Deps, c: Context, who: Principal): Promise<Response> {
  const q = queryParams(c, streamQuery);
  const scope = await resolveScope(deps, who, q.subscription);
  const after = await startAfter(deps, c, q.last_event_id);
  const authorization = c.req.header('authorization');
  // A revoked token or a deleted subscription ends the stream at the next heartbeat.
  const stillAllowed = async () => {
    const creds = parseAuthorization(authorization);
    const now = creds && (await authenticate(deps, creds));
    if (!now) return false;
    try {
      await resolveScope(deps, now, 'subscription' in scope ? scope.subscription : undefined);
      return true;
    } catch (err) {
      if (err instanceof VigilError) return false;
      throw err;
    }
  };
  c.header('X-Accel-Buffering', 'no');
  const res = streamSSE(c, (stream) => pump(deps, stream, scope, after, stillAllowed));
  // Nothing is gained by keeping the connection once the stream ends, and an idle kept-alive
  // connection would hold a stopping node's server.close() until the client lets go.
  res.headers.set('Connection', 'close');
  return res;
}

async function pump(deps: Deps, stream: SSEStreamingApi, scope: Scope, after: string, stillAllowed: () => Promise<boolean>): Promise<void> {
  const db = deps.database.db;
  const page = (seq: string): Promise<AlertRow[]> =>
    'subscription' in scope ? alertsAfter(db, [scope.subscription], seq, PAGE) : clientAlertsAfter(db, scope.client, seq, PAGE);
  let position = after;
  let closed = false;
  let look = true;
  let beat = false;
  let wake: (() => void) | undefined;
  const poke = () => {
    look = true;
    wake?.();
  };
  const stop = () => {
    closed = true;
    wake?.();
  };
  const shutdown = () => {
    stop();
    stream.abort(); // a write blocked on a slow client must not hold the server open
  };
  // Woken by this replica's matcher; the poll finds what other replicas matched.
  const unsubscribe = deps.alerts.onAlerts(poke);
  const pollMs = Math.min(1_000, Math.max(250, deps.config.alerts.tickMs || 1_000));
  const poll = setInterval(poke, pollMs);
  const heartbeat = setInterval(() => {
    beat = true;
    wake?.();
  }, HEARTBEAT_MS);
  // Read in pages so a long backlog never sits in memory; a withheld alert still moves the position.
  const sendNew = async () => {
    for (;;) {
      const rows = await page(position);
      for (const row of rows) {
        if (closed) return;
        const body = await alertBody(db, row, deps.keyring.nodeId, deps.config.publicUrl);
        if (body !== undefined) await stream.writeSSE({ id: row.seq, event: 'alert', data: body });
        position = row.seq;
      }
      if (rows.length < PAGE) return;
    }
  };
  stream.onAbort(stop);
  deps.stopping.addEventListener('abort', shutdown);
  if (deps.stopping.aborted) stop();
  try {
    await stream.write(`retry: ${RETRY_MS}\n\n`);
    while (!closed) {
      if (beat) {
        beat = false;
        if (!(await stillAllowed())) break;
        await stream.write(': heartbeat\n\n');
      }
      if (look) {
        look = false;
        await sendNew();
      }
      if (!closed && !look && !beat) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      wake = undefined;
    }
  } catch (err) {
    // The client reconnects after `retry` and resumes from the last id it received.
    deps.log.error({ err }, 'alert stream failed');
  } finally {
    unsubscribe();
    clearInterval(poll);
    clearInterval(heartbeat);
    deps.stopping.removeEventListener('abort', shutdown);
  }
}
