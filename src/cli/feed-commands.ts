import type { Command } from 'commander';
// From core, not services/feed-urls.ts: that one reaches the store, and every vigil command would load the database drivers.
import { FEED_TOKEN_PLACEHOLDER } from '../stix/feed-values.ts';
import type { AdminClient } from './admin-client.ts';
import type { Print } from './answers.ts';
import { textTable } from './text-table.ts';

/** GET /feeds/: the feeds of each collection the caller may read. */
export type CollectionFeeds = { collection_id: string; api_root: string; title: string; urls: Record<string, string> };

const HOW =
  `A device sends a feed client's name and token (HTTP Basic) or its token as a Bearer token; one that cannot send headers ` +
  `adds ?token=${FEED_TOKEN_PLACEHOLDER} to the URL (a feed client's token only, never another).`;

/** Each collection's seven lists, then how a device authenticates; never a token. */
export function feedUrlsText(feeds: readonly CollectionFeeds[]): string {
  if (feeds.length === 0) return '(no collection this caller may read)';
  const blocks = feeds.map((f) => `${f.title} (${f.collection_id})\n${textTable(Object.entries(f.urls).map(([k, u]) => [`  ${k}`, u]))}`);
  return `${blocks.join('\n')}\n${HOW}`;
}

/** The feeds of the collections among `ids` that the caller may read. */
export async function feedsOf(call: AdminClient, ids: readonly string[]): Promise<CollectionFeeds[]> {
  const { feeds } = await call<{ feeds: CollectionFeeds[] }>('GET', 'feeds/');
  return feeds.filter((f) => ids.includes(f.collection_id));
}

/** `vigil feed urls`: where the caller's devices find the lists of the collections it may read. */
export function feedCommands(program: Command, call: AdminClient, print: Print): void {
  const feed = program.command('feed').description('feeds for firewalls, DNS and EDR tools (docs/feeds.md)');
  feed
    .command('urls')
    .description("the feeds' URLs of each collection the caller (--token) may read, without any token in them")
    .option('--collection <id>', 'only this collection')
    .action(async (o: { collection?: string }) => {
      const query = o.collection ? `?collection=${encodeURIComponent(o.collection)}` : '';
      print(await call<{ feeds: CollectionFeeds[] }>('GET', `feeds/${query}`), (v) => feedUrlsText(v.feeds));
    });
}
