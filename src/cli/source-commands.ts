import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import type { AdminClient } from './admin-client.ts';
import type { Print, Source } from './answers.ts';

function seconds(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a positive whole number of seconds');
  return Number(value);
}

const status = (s: Source) =>
  `${s.id}  ${s.peer_node_id} ${s.remote_api_root}/${s.remote_collection_id} -> ${s.collection_id}  every ${s.interval_seconds}s\n` +
  `  last success ${s.last_success ?? 'never'}${s.lag_seconds !== null ? ` (${Math.round(s.lag_seconds)}s ago)` : ''}` +
  `  failures ${s.consecutive_failures}  quarantined ${s.quarantined}${s.last_error ? `\n  last error: ${s.last_error}` : ''}`;

type PeerOptions = { peer: string; remoteCollection: string; into: string; remoteApiRoot: string; interval?: number };

/** The options of a peer source, on `source add peer` and on the old `subscription add`. */
function peerOptions(command: Command): Command {
  return command
    .requiredOption('--peer <client-id>', "the peer's client id here")
    .requiredOption('--remote-collection <id>', "the collection's id at the peer")
    .requiredOption('--into <collection-id>', 'the local collection to store into')
    .option('--remote-api-root <name>', 'the API root at the peer', 'default')
    .option('--interval <seconds>', 'how often to pull (default 60)', seconds);
}

/** list, show and remove, against the admin API's `base` (sources, or the old subscriptions). */
function readAndRemove(group: Command, call: AdminClient, print: Print, base: string, listKey: string, noun: string): void {
  group
    .command('list')
    .description(`list the ${noun}s with their status: last success, lag, failures, quarantined versions`)
    .action(async () => {
      const answer = await call<Record<string, Source[]>>('GET', base);
      print(answer, (v) => (v[listKey] ?? []).map(status).join('\n') || '(none)');
    });
  group
    .command('show <id>')
    .description(`one ${noun}'s status`)
    .action(async (id: string) => print(await call<Source>('GET', `${base}/${encodeURIComponent(id)}`), status));
  group
    .command('remove <id>')
    .description(`stop pulling: remove the ${noun} (what it stored stays)`)
    .action(async (id: string) => {
      await call('DELETE', `${base}/${encodeURIComponent(id)}`);
      print({ deleted: id }, () => `removed ${noun} ${id}`);
    });
}

const addPeer = (call: AdminClient, print: Print, base: string, noun: string) => async (o: PeerOptions) => {
  const v = await call<Source>('POST', base, {
    peer_id: o.peer,
    remote_api_root: o.remoteApiRoot,
    remote_collection_id: o.remoteCollection,
    collection_id: o.into,
    interval_seconds: o.interval,
  });
  print(v, (s) => `created ${noun} ${s.id}`);
};

/**
 * `vigil source add peer|list|show|remove`: what this node takes objects in from (so far, peers'
 * collections over signed pulls). `vigil subscription …` is their name before 0.2, kept for one
 * release; it warns on stderr and answers as it did.
 */
export function sourceCommands(program: Command, call: AdminClient, print: Print): void {
  const sources = program.command('source').description("what this node pulls objects from: peers' collections");
  const add = sources.command('add').description('add a source');
  peerOptions(
    add.command('peer').description('pull a collection of a peer (a client of kind peer, pinned) into a local collection'),
  ).action(addPeer(call, print, 'admin/sources', 'source'));
  readAndRemove(sources, call, print, 'admin/sources', 'sources', 'source');

  const old = program
    .command('subscription')
    .description('deprecated: the old name of `vigil source` (removed in 0.3)')
    .hook('preAction', () => {
      process.stderr.write(
        'vigil: "vigil subscription" is deprecated and goes in 0.3; use "vigil source" ("subscription add" is "source add peer")\n',
      );
    });
  peerOptions(old.command('add').description('deprecated: vigil source add peer')).action(
    addPeer(call, print, 'admin/subscriptions', 'subscription'),
  );
  readAndRemove(old, call, print, 'admin/subscriptions', 'subscriptions', 'subscription');
}
