import { readFileSync } from 'node:fs';
import { Option } from 'commander';
import type { Command } from 'commander';
import { CliError } from './admin-client.ts';
import type { AdminClient } from './admin-client.ts';
import type { AlertDelivery, AlertSubscription, Print } from './answers.ts';
import { wholeNumber } from './whole-number.ts';

const confidence = wholeNumber(0, 100, 'must be a whole number from 0 to 100');
const organisations = wholeNumber(1, 1_000_000, 'must be a whole number from 1 to 1000000');
const limit = wholeNumber(1, 1000, 'must be a whole number from 1 to 1000');

type FilterOptions = {
  type?: string[];
  label?: string[];
  minConfidence?: number;
  observable?: string[];
  cpe?: string[];
  pap?: 'clear' | 'green';
  minSightingOrgs?: number;
  rising?: boolean;
  sightingWindow?: 'hour' | 'day';
};

function filterOptions(cmd: Command): Command {
  return cmd
    .option('--type <stix-type...>', 'STIX types to alert on (indicator, vulnerability, ...)')
    .option('--label <label...>', 'labels, any of which must be on the object')
    .option('--min-confidence <0-100>', 'lowest confidence that alerts', confidence)
    .option('--observable <type...>', "observable types in an indicator's pattern (ipv4-addr, domain-name, url, file, ...)")
    .option('--cpe <prefix...>', 'CPE 2.3 prefixes of the software you run: vulnerabilities related to it alert')
    .addOption(new Option('--pap <level>', 'only PAP:CLEAR or PAP:GREEN content (for automatic blocking)').choices(['clear', 'green']))
    .option(
      '--min-sighting-orgs <n>',
      'alert when an indicator is sighted by this many organisations across the federation in a window',
      organisations,
    )
    .option('--rising', 'alert when an indicator is sighted more in a window than in the one before')
    .addOption(
      new Option('--sighting-window <size>', 'the window of --min-sighting-orgs and --rising (default hour)').choices(['hour', 'day']),
    );
}

type UpdateOptions = FilterOptions & {
  name?: string;
  collection?: string[];
  /** false with --no-webhook */
  webhook?: string | false;
  payload?: string;
  pause?: boolean;
  resume?: boolean;
};

/** The filter from the options; undefined when none was given (update leaves the filter as it is). */
function filterBody(o: FilterOptions): Record<string, unknown> | undefined {
  const f = {
    types: o.type,
    labels: o.label,
    min_confidence: o.minConfidence,
    observable_types: o.observable,
    cpe_prefixes: o.cpe,
    pap: o.pap,
    min_sighting_orgs: o.minSightingOrgs,
    rising: o.rising,
    sighting_window: o.sightingWindow,
  };
  const given = Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined));
  return Object.keys(given).length ? given : undefined;
}

const describe = (s: AlertSubscription) =>
  `${s.id}  ${s.name}${s.active ? '' : ' (paused)'}\n  collections ${s.collections.join(', ')}\n  filter ${JSON.stringify(s.filter)}\n  ` +
  `delivery ${s.webhook_url ? `webhook ${s.webhook_url} (${s.payload})` : 'stream only'}`;

const delivery = (d: AlertDelivery) =>
  `${d.id}  #${d.event_id ?? d.seq}  ${d.state}  ${d.object_count} objects  created ${d.created}  attempts ${d.attempts}` +
  `${d.delivered_at ? `  delivered ${d.delivered_at}` : ''}${d.next_attempt ? `  next ${d.next_attempt}` : ''}${d.last_error ? `\n  last error: ${d.last_error}` : ''}`;

const sub = (id: string) => `alerts/subscriptions/${encodeURIComponent(id)}`;

/**
 * `vigil alert …`: a client's early-warning subscriptions, with its own token (`--token`), or
 * any client's with the admin token; and `verify`, for a receiver checking an alert it got.
 */
export function alertCommands(program: Command, call: AdminClient, print: Print, nodeUrl: () => string): void {
  const alerts = program.command('alert').description('early-warning subscriptions: webhook and stream alerts (use a client token)');
  filterOptions(
    alerts
      .command('subscribe')
      .description('alert on new objects in collections this client reads')
      .requiredOption('--name <name>')
      .requiredOption('--collection <id...>', 'collections to watch')
      .option('--webhook <url>', 'POST each alert here, signed (without: the stream only)')
      .addOption(
        new Option('--payload <kind>', 'send the objects, or their ids and a TAXII URL').choices(['objects', 'ids']).default('objects'),
      )
      .option('--client <id>', 'with the admin token: the client to subscribe')
      .option('--paused', 'create it inactive'),
  ).action(
    async (
      o: FilterOptions & { name: string; collection: string[]; webhook?: string; payload: string; client?: string; paused?: boolean },
    ) => {
      const body = {
        name: o.name,
        collections: o.collection,
        filter: filterBody(o) ?? {},
        webhook_url: o.webhook,
        payload: o.payload,
        active: !o.paused,
        client_id: o.client,
      };
      print(await call<AlertSubscription>('POST', 'alerts/subscriptions', body), (v) => `created alert subscription ${v.id}`);
    },
  );
  alerts
    .command('list')
    .action(async () =>
      print(
        await call<{ subscriptions: AlertSubscription[] }>('GET', 'alerts/subscriptions'),
        (v) => v.subscriptions.map(describe).join('\n') || '(none)',
      ),
    );
  alerts.command('show <id>').action(async (id: string) => print(await call<AlertSubscription>('GET', sub(id)), describe));
  filterOptions(
    alerts
      .command('update <id>')
      .description('change a subscription; filter options replace the whole filter')
      .option('--name <name>')
      .option('--collection <id...>')
      .option('--webhook <url>')
      .option('--no-webhook', 'stream only from now on')
      .addOption(new Option('--payload <kind>').choices(['objects', 'ids']))
      .option('--pause', 'stop alerting')
      .option('--resume', 'alert again'),
  ).action(async (id: string, o: UpdateOptions) => {
    if (o.pause && o.resume) throw new CliError('--pause and --resume contradict each other', 2);
    const body = {
      name: o.name,
      collections: o.collection,
      filter: filterBody(o),
      webhook_url: o.webhook === false ? null : o.webhook,
      payload: o.payload,
      active: o.pause ? false : o.resume ? true : undefined,
    };
    print(await call<AlertSubscription>('PATCH', sub(id), body), (v) => `updated alert subscription ${v.id}`);
  });
  alerts.command('delete <id>').action(async (id: string) => {
    await call('DELETE', sub(id));
    print({ deleted: id }, () => `deleted alert subscription ${id}`);
  });
  alerts
    .command('deliveries <id>')
    .description('recent alerts of a subscription: delivered, pending retries, dead letters')
    .addOption(new Option('--state <state>').choices(['pending', 'delivered', 'dead', 'stream', 'withheld']))
    .option('--limit <n>', 'how many, newest first (default 100)', limit)
    .action(async (id: string, o: { state?: string; limit?: number }) => {
      const q = new URLSearchParams();
      if (o.state) q.set('state', o.state);
      if (o.limit) q.set('limit', String(o.limit));
      print(
        await call<{ deliveries: AlertDelivery[] }>('GET', `${sub(id)}/deliveries${q.size ? `?${q}` : ''}`),
        (v) => v.deliveries.map(delivery).join('\n') || '(none)',
      );
    });
  alerts
    .command('retry <id> <alert-id>')
    .description('send a dead alert again')
    .action(async (id: string, alertId: string) => {
      print(await call('POST', `${sub(id)}/deliveries/${encodeURIComponent(alertId)}/retry`), () => `requeued alert ${alertId}`);
    });
  alerts
    .command('verify <body-file>')
    .description("check a received alert's Vigil-Signature against the node's /.well-known/jwks.json")
    .requiredOption('--signature <jws>', 'the Vigil-Signature header of the alert')
    .option('--jwks <file>', "the node's JWKS, saved (default: fetched from --url)")
    .action(async (file: string, o: { signature: string; jwks?: string }) => {
      let body: Buffer;
      let jwks: unknown;
      try {
        body = readFileSync(file === '-' ? 0 : file);
        jwks = o.jwks ? JSON.parse(readFileSync(o.jwks, 'utf8')) : await fetchJwks(nodeUrl());
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new CliError(`cannot read ${o.jwks ?? file}: ${(err as Error).message}`, 2);
      }
      // Loaded here: jose is some fifty modules that no other command needs at start-up.
      const { AlertSignatureError, verifyAlert } = await import('../services/alert-signature.ts');
      try {
        const claims = await verifyAlert(o.signature, body, jwks);
        print({ valid: true, ...claims }, (v) => `valid: alert ${v.jti} of subscription ${v.sub}, signed by node ${v.iss}`);
      } catch (err) {
        if (err instanceof AlertSignatureError) throw new CliError(`invalid: ${err.message}`, 1);
        throw err;
      }
    });
}

async function fetchJwks(base: string): Promise<unknown> {
  try {
    const res = await fetch(`${base}/.well-known/jwks.json`, { redirect: 'error', signal: AbortSignal.timeout(30_000) });
    if (!res.ok) throw new Error(`answered ${res.status}`);
    return await res.json();
  } catch (err) {
    throw new CliError(`cannot fetch the node's keys from ${base}/.well-known/jwks.json: ${(err as Error).message}`, 3);
  }
}
