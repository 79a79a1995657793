import { Agent } from 'undici';
import type { Deps } from '../deps.ts';
import { alertBody } from './alert-payload.ts';
import { ALERT_ID_HEADER, ALERT_SIGNATURE_HEADER, signAlert } from './alert-signature.ts';
import { guardedLookup, webhookUrlProblem } from './webhook-url.ts';
import { claimDueAlerts, markDelivered, markFailed, markStreamOnly, markWithheld } from '../store/alerts.ts';
import type { AlertRow } from '../store/alerts.ts';
import { backoffSeconds } from './backoff.ts';

/** Alerts claimed per pass, and sent at once. */
const BATCH = 16;

/**
 * How long a replica's claim on an alert lasts: WORK_LEASE_SECONDS, but never less than two
 * webhook timeouts, so a slow delivery still in flight is not sent again by another replica. A
 * replica that died mid-delivery has its alerts sent again (same idempotency key) after it.
 */
function leaseSeconds(deps: Deps): number {
  return Math.max(deps.config.workLeaseSeconds, 2 * Math.ceil(deps.config.alerts.webhookTimeoutMs / 1000) + 5);
}
/** What a receiver answers is read up to this size and dropped: only the status counts. */
const MAX_ANSWER_BYTES = 64 * 1024;

export type WebhookResult = { ok: true; status: number } | { ok: false; status: number | null; error: string };

export type WebhookSender = {
  post(url: string, body: string, headers: Record<string, string>): Promise<WebhookResult>;
  close(): Promise<void>;
};

/**
 * The outbound side of alerts: one keep-alive agent, connect/headers/body timeouts, no
 * redirects (undici's request never follows them: a 3xx is a failure), the receiver's answer
 * read up to a limit, and the connected address checked against the webhook policy.
 */
export function createWebhookSender(deps: Pick<Deps, 'config'>): WebhookSender {
  const { alerts } = deps.config;
  const agent = new Agent({
    connect: { timeout: alerts.webhookTimeoutMs, lookup: guardedLookup(alerts) as never },
    headersTimeout: alerts.webhookTimeoutMs,
    bodyTimeout: alerts.webhookTimeoutMs,
    keepAliveTimeout: 30_000,
    connections: 16,
  });
  return {
    async post(url, body, headers) {
      // The URL was checked when the subscription was written; the policy may have tightened since.
      const problem = webhookUrlProblem(url, alerts);
      if (problem) return { ok: false, status: null, error: `webhook_url ${problem}` };
      try {
        // One deadline for the whole exchange: undici's timeouts are per phase and per chunk, so
        // a receiver trickling its answer would hold this pass (and every alert after it) forever.
        const res = await agent.request({
          origin: new URL(url).origin,
          path: `${new URL(url).pathname}${new URL(url).search}`,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'vigil-alerts', ...headers },
          body,
          signal: AbortSignal.timeout(alerts.webhookTimeoutMs),
        });
        await res.body.dump({ limit: MAX_ANSWER_BYTES }).catch(() => {});
        if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true, status: res.statusCode };
        return { ok: false, status: res.statusCode, error: `the receiver answered ${res.statusCode}` };
      } catch (err) {
        const code = (err as { code?: string }).code;
        return { ok: false, status: null, error: `${code ? `${code}: ` : ''}${(err as Error).message}` };
      }
    },
    async close() {
      await agent.close().catch(() => agent.destroy());
    },
  };
}

async function deliverOne(deps: Deps, sender: WebhookSender, owner: string, row: AlertRow): Promise<void> {
  const db = deps.database.db;
  // The webhook was removed since the match: nothing to send, and no failure to retry.
  if (!row.webhook_url) return markStreamOnly(db, row.id, owner);
  const body = await alertBody(db, row, deps.keyring.nodeId, deps.config.publicUrl);
  if (body === undefined) return markWithheld(db, row.id, owner);
  const signature = await signAlert(deps.keyring, body, row.id, row.subscription_id);
  const result = await sender.post(row.webhook_url, body, {
    [ALERT_SIGNATURE_HEADER]: signature,
    [ALERT_ID_HEADER]: row.id,
    'vigil-event-id': row.seq,
  });
  if (result.ok) {
    deps.metrics.alertAttempts.inc({ outcome: 'delivered' });
    deps.metrics.alertDeliveryLatency.observe(Math.max(0, (Date.now() - Date.parse(row.stored_at)) / 1000));
    return markDelivered(db, row.id, owner, result.status);
  }
  const { maxAttempts, retryBaseSeconds, retryMaxSeconds } = deps.config.alerts;
  const dead = row.attempts + 1 >= maxAttempts;
  deps.metrics.alertAttempts.inc({ outcome: dead ? 'dead' : 'retry' });
  if (dead) deps.metrics.alertsDead.inc();
  deps.log.warn(
    { alert: row.id, subscription: row.subscription_id, attempt: row.attempts + 1, dead, error: result.error },
    'webhook delivery failed',
  );
  await markFailed(db, row.id, owner, {
    error: result.error,
    status: result.status,
    delaySeconds: backoffSeconds(row.attempts, retryBaseSeconds, retryMaxSeconds),
    dead,
  });
}

/** One pass: claims due webhook alerts and sends them; answers how many it tried. */
export async function deliverDue(deps: Deps, sender: WebhookSender, owner: string): Promise<number> {
  const rows = await claimDueAlerts(deps.database.db, owner, leaseSeconds(deps), BATCH);
  await Promise.all(
    rows.map((row) =>
      deliverOne(deps, sender, owner, row).catch((err: unknown) => deps.log.error({ err, alert: row.id }, 'alert delivery crashed')),
    ),
  );
  return rows.length;
}
