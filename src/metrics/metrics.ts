import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { LEVEL_NAMES } from '../policy/levels.ts';
import type { Database } from '../store/database.ts';
import { listSourceStatus } from '../store/sources.ts';
import { alertCountsByState, outboxBacklog } from '../store/alerts.ts';
import { ingestBacklog } from '../store/statuses.ts';

// Prometheus metrics of one node (prom-client). Counters and histograms are this replica's;
// the gauges read from the database at scrape time describe the shared state (backlogs, peers),
// so every replica reports the same for them.

export type Metrics = {
  registry: Registry;
  httpRequests: Histogram<'method' | 'route' | 'status'>;
  objectsServed: Counter<'collection' | 'level'>;
  objectsIngested: Counter<'collection' | 'level'>;
  alertDeliveryLatency: Histogram;
  alertAttempts: Counter<'outcome'>;
  alertsDead: Counter;
  errors: Counter<'kind'>;
};

export const levelName = (level: number): string => LEVEL_NAMES[level] ?? String(level);

/** Counts newly stored versions by TLP level, once their transaction committed. */
export function countIngested(metrics: Pick<Metrics, 'objectsIngested'>, collectionId: string, levels: readonly number[]): void {
  const byLevel = new Map<number, number>();
  for (const l of levels) byLevel.set(l, (byLevel.get(l) ?? 0) + 1);
  for (const [level, n] of byLevel) metrics.objectsIngested.inc({ collection: collectionId, level: levelName(level) }, n);
}

/**
 * The database's pool is read from `database.poolStats`, when the handle has one. `bodyBytesHeld`:
 * the octets of request bodies this replica holds (REQUEST_BYTES_IN_FLIGHT's budget).
 */
export function createMetrics(database: Database, bodyBytesHeld?: () => number): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vigil_process_' });
  const registers = [registry];
  const db = database.db;

  const metrics: Metrics = {
    registry,
    httpRequests: new Histogram({
      name: 'vigil_http_request_duration_seconds',
      help: 'HTTP requests by route pattern and status, from the first byte in to the last header out',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    objectsServed: new Counter({
      name: 'vigil_objects_served_total',
      help: 'Object versions served in TAXII pages, by collection and TLP level',
      labelNames: ['collection', 'level'],
      registers,
    }),
    objectsIngested: new Counter({
      name: 'vigil_objects_ingested_total',
      help: 'Object versions stored (new ones, not copies of versions already held), by collection and TLP level',
      labelNames: ['collection', 'level'],
      registers,
    }),
    alertDeliveryLatency: new Histogram({
      name: 'vigil_alert_delivery_latency_seconds',
      help: 'From storing a matched object to its webhook answered 2xx',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
      registers,
    }),
    alertAttempts: new Counter({
      name: 'vigil_alert_webhook_attempts_total',
      help: 'Webhook attempts by outcome: delivered, retry (failed, will be tried again), dead (failed for the last time)',
      labelNames: ['outcome'],
      registers,
    }),
    alertsDead: new Counter({ name: 'vigil_alerts_dead_total', help: 'Alerts that became dead letters', registers }),
    errors: new Counter({
      name: 'vigil_errors_total',
      help: 'Failures by kind: http (5xx answers), pull, alert',
      labelNames: ['kind'],
      registers,
    }),
  };

  // Read at scrape time: one small query each, over indexed or small tables.
  // The status backlog: queued requests (large POSTs) and their objects, until finished.
  const queued = () => ingestBacklog(db);
  new Gauge({
    name: 'vigil_ingest_backlog_requests',
    help: 'Queued ingest requests (large POSTs) not finished yet',
    registers,
    async collect() {
      this.set((await queued()).requests);
    },
  });
  new Gauge({
    name: 'vigil_ingest_backlog_objects',
    help: 'Objects of the queued ingest requests',
    registers,
    async collect() {
      this.set((await queued()).objects);
    },
  });
  new Gauge({
    name: 'vigil_alert_outbox_batches',
    help: 'Stored batches not yet matched against alert subscriptions',
    registers,
    async collect() {
      this.set(await outboxBacklog(db));
    },
  });
  new Gauge({
    name: 'vigil_alerts',
    help: 'Alerts kept, by state (pending: webhook not answered yet; dead: given up)',
    labelNames: ['state'],
    registers,
    async collect() {
      const counts = await alertCountsByState(db);
      this.reset();
      for (const row of counts) this.set({ state: row.state }, row.n);
    },
  });

  // Per source (a peer's or a TAXII server's collection pulled here, `peer` its node id or URL): what an operator alerts on when a neighbour falls silent.
  const peerLabels = ['source', 'peer', 'collection'] as const;
  let peers: Awaited<ReturnType<typeof listSourceStatus>> | undefined;
  let peersAt = 0;
  const peerStatus = async () => {
    // The three peer gauges are collected one after the other in one scrape: one query serves them.
    if (!peers || Date.now() - peersAt > 1000) {
      peers = await listSourceStatus(db);
      peersAt = Date.now();
    }
    return peers;
  };
  const perPeer = (name: string, help: string, value: (s: NonNullable<typeof peers>[number]) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: peerLabels,
      registers,
      async collect() {
        this.reset();
        for (const s of await peerStatus()) {
          const v = value(s);
          if (v !== null) this.set({ source: s.id, peer: s.peer_node_id ?? s.url ?? '', collection: s.collection_id }, v);
        }
      },
    });
  perPeer('vigil_peer_pull_lag_seconds', 'Seconds since the last successful pull of a source', (s) => s.lag_seconds);
  perPeer('vigil_peer_pull_failures', 'Consecutive failed pulls of a source', (s) => s.consecutive_failures);
  perPeer('vigil_peer_pull_last_success_timestamp_seconds', 'When a source last pulled successfully (Unix time)', (s) =>
    s.last_success ? Date.parse(s.last_success) / 1000 : null,
  );

  if (bodyBytesHeld) {
    new Gauge({
      name: 'vigil_request_body_bytes_held',
      help: 'Octets of POSTed bodies this replica holds until PostgreSQL has recorded them; past REQUEST_BYTES_IN_FLIGHT a POST is a 503',
      registers,
      collect() {
        this.set(bodyBytesHeld());
      },
    });
  }
  const pool = database.poolStats;
  if (pool) {
    new Gauge({
      name: 'vigil_db_pool_connections',
      help: 'Database connections of this replica by state: total, idle, waiting (requests queued for a connection)',
      labelNames: ['state'],
      registers,
      collect() {
        const p = pool();
        this.set({ state: 'total' }, p.total);
        this.set({ state: 'idle' }, p.idle);
        this.set({ state: 'waiting' }, p.waiting);
      },
    });
  }
  if (database.replicas.length > 0) {
    // One round of lag checks per scrape serves both gauges.
    let checked: Promise<{ name: string; lag: number | null }[]> | undefined;
    let checkedAt = 0;
    const check = () => {
      if (!checked || Date.now() - checkedAt > 1000) {
        checkedAt = Date.now();
        checked = Promise.all(database.replicas.map(async (r) => ({ name: r.name, lag: await r.lagSeconds().catch(() => null) })));
      }
      return checked;
    };
    new Gauge({
      name: 'vigil_db_replica_up',
      help: 'Whether a read replica (DATABASE_READ_URL) answers: 1, or 0',
      labelNames: ['replica'],
      registers,
      async collect() {
        for (const r of await check()) this.set({ replica: r.name }, r.lag === null ? 0 : 1);
      },
    });
    new Gauge({
      name: 'vigil_db_replica_lag_seconds',
      help: 'How far a read replica is behind the primary: 0 when it has replayed all it received, else the age of its last replayed transaction',
      labelNames: ['replica'],
      registers,
      async collect() {
        this.reset();
        for (const r of await check()) if (r.lag !== null) this.set({ replica: r.name }, r.lag);
      },
    });
  }
  return metrics;
}
