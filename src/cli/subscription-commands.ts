import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import type { AdminClient } from './admin-client.ts';
import type { Print, Subscription } from './answers.ts';

function seconds(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a positive whole number of seconds');
  return Number(value);
}

const status = (s: Subscription) =>
  `${s.id}  ${s.peer_node_id} ${s.remote_api_root}/${s.remote_collection_id} -> ${s.collection_id}  every ${s.interval_seconds}s\n` +
  `  last success ${s.last_success ?? 'never'}${s.lag_seconds !== null ? ` (${Math.round(s.lag_seconds)}s ago)` : ''}` +
  `  failures ${s.consecutive_failures}  quarantined ${s.quarantined}${s.last_error ? `\n  last error: ${s.last_error}` : ''}`;

/** `vigil subscription add|list|show|remove`: which peer collections this node pulls, and how it goes. */
export function subscriptionCommands(program: Command, call: AdminClient, print: Print): void {
  const subs = program.command('subscription').description("pull peers' collections into this node's");
  subs
    .command('add')
    .description('pull a collection of a peer (a client of kind peer, pinned) into a local collection')
    .requiredOption('--peer <client-id>', "the peer's client id here")
    .requiredOption('--remote-collection <id>', "the collection's id at the peer")
    .requiredOption('--into <collection-id>', 'the local collection to store into')
    .option('--remote-api-root <name>', 'the API root at the peer', 'default')
    .option('--interval <seconds>', 'how often to pull (default 60)', seconds)
    .action(async (o: { peer: string; remoteCollection: string; into: string; remoteApiRoot: string; interval?: number }) => {
      const v = await call<Subscription>('POST', 'admin/subscriptions', {
        peer_id: o.peer,
        remote_api_root: o.remoteApiRoot,
        remote_collection_id: o.remoteCollection,
        collection_id: o.into,
        interval_seconds: o.interval,
      });
      print(v, (s) => `created subscription ${s.id}`);
    });
  subs
    .command('list')
    .action(async () =>
      print(
        await call<{ subscriptions: Subscription[] }>('GET', 'admin/subscriptions'),
        (v) => v.subscriptions.map(status).join('\n') || '(none)',
      ),
    );
  subs
    .command('show <id>')
    .action(async (id: string) => print(await call<Subscription>('GET', `admin/subscriptions/${encodeURIComponent(id)}`), status));
  subs.command('remove <id>').action(async (id: string) => {
    await call('DELETE', `admin/subscriptions/${encodeURIComponent(id)}`);
    print({ deleted: id }, () => `removed subscription ${id}`);
  });
}
