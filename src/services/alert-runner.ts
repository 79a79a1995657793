import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { AlertRunner, Deps, Started } from '../deps.ts';
import { pruneAlerts } from '../store/alerts.ts';
import { matchOutbox } from './alert-matcher.ts';
import { createWebhookSender, deliverDue } from './alert-delivery.ts';
import type { WebhookSender } from './alert-delivery.ts';
import { passLoop } from './pass-loop.ts';

const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * The early-warning background work of one replica: the matcher turns the outbox into alerts
 * (one replica at a time, under an advisory lock), the sender posts due webhooks (replicas
 * share them by lease). Every replica ticks, so the work goes on when one dies.
 */
export function createAlertRunner(): Started<AlertRunner> {
  let deps: Deps | undefined;
  let sender: WebhookSender | undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastPrune = 0;
  const owner = randomUUID();
  const events = new EventEmitter();
  events.setMaxListeners(0);

  const pass = async (d: Deps, s: WebhookSender) => {
    for (;;) {
      const matched = await matchOutbox(d.database, d.log, d.config.alerts.retentionHours);
      if (matched?.alerts) events.emit('alerts');
      const sent = await deliverDue(d, s, owner);
      if (!matched?.rows && sent === 0) break;
    }
    if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
      lastPrune = Date.now();
      await pruneAlerts(d.database.db, d.config.alerts.retentionHours);
    }
  };

  const loop = passLoop(() => {
    const d = deps;
    const s = sender;
    return d && s ? { pass: () => pass(d, s), failed: (err) => d.log.error({ err }, 'alert pass failed') } : undefined;
  });
  const run = loop.run;

  return {
    kick() {
      if (deps && deps.config.alerts.tickMs > 0) void run();
    },
    onAlerts(listener) {
      events.on('alerts', listener);
      return () => events.off('alerts', listener);
    },
    drain: loop.drain,
    start(d) {
      deps = d;
      sender = createWebhookSender(d);
      if (d.config.alerts.tickMs === 0) return;
      timer = setInterval(() => void run(), d.config.alerts.tickMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      deps = undefined;
      await loop.idle();
      await sender?.close();
      sender = undefined;
    },
  };
}
