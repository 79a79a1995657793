import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import type { AdminClient } from './admin-client.ts';
import { formatLag, sourceFrom, sourceKindLabel, sourceRemoteCollection } from '../services/source-display.ts';
import type { Print, Source } from './answers.ts';
import { textTable } from './text-table.ts';
import { wholeNumber } from './whole-number.ts';

const seconds = wholeNumber(1, Number.MAX_SAFE_INTEGER, 'must be a positive whole number of seconds');

const authText = (a: NonNullable<Source['auth']>) =>
  a.kind === 'basic' ? `basic (${a.username})` : a.kind === 'header' ? `header ${a.name}` : a.kind;

/** A timestamp to the second, for a table's width; `vigil source show` gives it whole. */
const toSecond = (t: string | null | undefined) => (t ? `${t.slice(0, 19)}Z` : 'never');
const clip = (text: string | null, max = 80) => (!text ? '' : text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** `vigil source list`: one line per source, whatever its kind; the whole last error in `source show`. */
function sourceTable(list: Source[]): string {
  if (list.length === 0) return '(none)';
  const header = [
    'ID',
    'KIND',
    'FROM',
    'INTO',
    'LAST SUCCESS',
    'LAST ATTEMPT',
    'LAG',
    'LAST PULL',
    'STORED',
    'FAILURES',
    'QUARANTINED',
    'NEXT ATTEMPT',
    'LAST ERROR',
  ];
  return textTable([
    header,
    ...list.map((s) => [
      s.id,
      sourceKindLabel(s.kind),
      sourceFrom(s),
      s.collection_id,
      toSecond(s.last_success),
      toSecond(s.last_attempt),
      formatLag(s.lag_seconds),
      String(s.last_pulled_count),
      String(s.stored_count),
      String(s.consecutive_failures),
      String(s.quarantined),
      toSecond(s.next_attempt),
      clip(s.last_error),
    ]),
  ]);
}

/** Which of a MISP's events a source asks for. */
const mispEvents = (s: Source) =>
  `${s.tags?.length ? `tagged ${s.tags.join(' or ')}` : 'all'}${s.published_only ? ', published only' : ''}`;

/** `vigil source show`: every field the admin API answers but the cursor, one a line. */
function sourceFields(s: Source): string {
  const rows: [string, string][] = [
    ['kind', sourceKindLabel(s.kind)],
    ['from', sourceFrom(s)],
    ['remote collection', sourceRemoteCollection(s)],
    ['into collection', s.collection_id],
    ['every', `${s.interval_seconds} s`],
    ...(s.auth ? ([['auth', authText(s.auth)]] as [string, string][]) : []),
    ...(s.default_tlp ? ([['unmarked objects', s.default_tlp]] as [string, string][]) : []),
    ...(s.kind === 'misp' ? ([['events', mispEvents(s)]] as [string, string][]) : []),
    ['last success', s.last_success ?? 'never'],
    ['last attempt', s.last_attempt ?? 'never'],
    ['lag', formatLag(s.lag_seconds)],
    ['last pull stored', String(s.last_pulled_count)],
    ['stored in all', String(s.stored_count)],
    ['failures in a row', String(s.consecutive_failures)],
    ['last error', s.last_error ?? ''],
    ['quarantined', String(s.quarantined)],
    ['next attempt', s.next_attempt],
  ];
  return `${s.id}\n${textTable(rows.map(([k, v]) => [`  ${k}`, v]))}`;
}

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
    .description(`list the ${noun}s with their status: last pull, lag, versions stored, failures, quarantined versions`)
    .action(async () => {
      const answer = await call<Record<string, Source[]>>('GET', base);
      print(answer, (v) => sourceTable(v[listKey] ?? []));
    });
  group
    .command('show <id>')
    .description(`one ${noun}'s status`)
    .action(async (id: string) => print(await call<Source>('GET', `${base}/${encodeURIComponent(id)}`), sourceFields));
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

type ServerOptions = { url?: string; serverUrl?: string; into: string; defaultTlp?: string; interval?: number; since?: string };

type TaxiiOptions = ServerOptions & {
  collection: string;
  basic?: string;
  bearer?: string;
  header?: string;
  basicFile?: string;
  bearerFile?: string;
  headerFile?: string;
};

/** A secret from a file, or from standard input with "-": arguments show in `ps`, files and pipes do not. */
function secretFile(path: string): string {
  const text = readFileSync(path === '-' ? 0 : path, 'utf8');
  return text.replace(/\r?\n$/, '');
}

function splitAt(value: string, sep: string, what: string): [string, string] {
  const i = value.indexOf(sep);
  if (i < 1) throw new InvalidArgumentError(`${what}`);
  return [value.slice(0, i).trim(), value.slice(i + 1).trim()];
}

/** The auth member of a TAXII source, from whichever one of the options was given. */
function taxiiAuth(o: TaxiiOptions) {
  const basic = o.basic ?? (o.basicFile !== undefined ? secretFile(o.basicFile) : undefined);
  const bearer = o.bearer ?? (o.bearerFile !== undefined ? secretFile(o.bearerFile) : undefined);
  const header = o.header ?? (o.headerFile !== undefined ? secretFile(o.headerFile) : undefined);
  if (basic !== undefined) {
    const [username, password] = splitAt(basic, ':', '--basic must be user:password');
    return { kind: 'basic', username, password };
  }
  if (bearer !== undefined) return { kind: 'bearer', token: bearer.trim() };
  if (header !== undefined) {
    const [name, value] = splitAt(header, ':', "--header must be 'Name: value'");
    return { kind: 'header', name, value };
  }
  return undefined;
}

const TLP = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'];

/** `vigil source add taxii`: one of the auth options at most, each as an argument or from a file. */
function taxiiCommand(add: Command, call: AdminClient, print: Print): void {
  const auth = ['basic', 'bearer', 'header', 'basicFile', 'bearerFile', 'headerFile'];
  const only = (name: string) => auth.filter((n) => n !== name);
  add
    .command('taxii')
    .description('pull a collection of a TAXII 2.1 server (any, not only Vigil) into a local collection')
    .option('--url <api-root>', "the server's API root URL, e.g. https://feed.example.org/taxii2/api1/")
    .addOption(new Option('--server-url <api-root>').hideHelp())
    .requiredOption('--collection <id>', "the collection's id at the server")
    .requiredOption('--into <collection-id>', 'the local collection to store into')
    .addOption(new Option('--basic <user:password>', 'HTTP Basic credentials').conflicts(only('basic')))
    .addOption(new Option('--bearer <token>', 'a bearer token').conflicts(only('bearer')))
    .addOption(new Option('--header <"Name: value">', 'a header of the server\'s own, e.g. "X-Api-Key: …"').conflicts(only('header')))
    .addOption(new Option('--basic-file <path>', 'user:password from a file ("-": standard input)').conflicts(only('basicFile')))
    .addOption(new Option('--bearer-file <path>', 'the token from a file ("-": standard input)').conflicts(only('bearerFile')))
    .addOption(new Option('--header-file <path>', '"Name: value" from a file ("-": standard input)').conflicts(only('headerFile')))
    .addOption(new Option('--default-tlp <level>', "the TLP level of unmarked objects (default: the collection's)").choices(TLP))
    .option('--interval <seconds>', 'how often to pull (default 300)', seconds)
    .option('--since <timestamp>', 'where the first pull starts (default: the beginning)')
    .action((o: TaxiiOptions, command: Command) =>
      addServerSource(call, print, command, o, '--url <api-root>', {
        kind: 'taxii',
        remote_collection_id: o.collection,
        auth: taxiiAuth(o),
      }),
    );
}

/** Adds a source of a server's kind: its URL (see serverUrlArgs) and what every such kind takes, beside `body`. */
async function addServerSource(
  call: AdminClient,
  print: Print,
  command: Command,
  o: ServerOptions,
  urlOption: string,
  body: Record<string, unknown>,
): Promise<void> {
  const url = o.serverUrl ?? o.url;
  if (url === undefined) command.error(`error: required option '${urlOption}' not specified`);
  const v = await call<Source>('POST', 'admin/sources', {
    ...body,
    url,
    collection_id: o.into,
    default_tlp: o.defaultTlp,
    interval_seconds: o.interval,
    since: o.since,
  });
  print(v, (s) => `created source ${s.id}`);
}

type MispOptions = ServerOptions & { key?: string; keyFile?: string; tags?: string; publishedOnly?: boolean };

/** `vigil source add misp`: the authkey as an argument or, kept out of `ps`, from a file or standard input. */
function mispCommand(add: Command, call: AdminClient, print: Print): void {
  add
    .command('misp')
    .description("pull a MISP's events, as STIX 2.1 from its restSearch, into a local collection")
    .option('--url <misp>', "the MISP's base URL, e.g. https://misp.example.org/")
    .addOption(new Option('--server-url <misp>').hideHelp())
    .requiredOption('--into <collection-id>', 'the local collection to store into')
    .addOption(new Option('--key <authkey>', "a MISP user's authkey (shows in ps: prefer --key-file)").conflicts('keyFile'))
    .addOption(new Option('--key-file <path>', 'the authkey from a file ("-": standard input)').conflicts('key'))
    .option('--tags <tag,tag>', 'only events with any of these tags')
    .option('--published-only', 'only published events')
    .addOption(new Option('--default-tlp <level>', 'the TLP level of unmarked objects (default AMBER)').choices(TLP))
    .option('--interval <seconds>', 'how often to pull (default 300)', seconds)
    .option('--since <timestamp>', 'where the first pull starts: seconds since the epoch or a UTC timestamp (default: the beginning)')
    .action((o: MispOptions, command: Command) => {
      const key = o.key ?? (o.keyFile !== undefined ? secretFile(o.keyFile).trim() : undefined);
      if (key === undefined) command.error("error: one of '--key <authkey>' or '--key-file <path>' is required");
      const tags = o.tags
        ?.split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '');
      return addServerSource(call, print, command, o, '--url <misp>', {
        kind: 'misp',
        key,
        tags: tags?.length ? tags : undefined,
        published_only: o.publishedOnly,
      });
    });
}

/** The kinds of `source add` whose --url is the server's. */
const SERVER_KINDS = new Set(['taxii', 'misp']);

/**
 * The global --url names the node, and commander takes a global option wherever it stands: after
 * `source add taxii` or `source add misp`, --url is the server's (as the command's help says),
 * passed as --server-url.
 */
export function serverUrlArgs(argv: readonly string[]): string[] {
  const at = argv.findIndex((a, i) => SERVER_KINDS.has(a) && argv[i - 1] === 'add' && argv[i - 2] === 'source');
  if (at < 0) return [...argv];
  return argv.map((a, i) => (i <= at ? a : a === '--url' ? '--server-url' : a.startsWith('--url=') ? `--server-url=${a.slice(6)}` : a));
}

/**
 * `vigil source add peer|taxii|misp|list|show|remove`: what this node takes objects in from (peers'
 * collections over signed pulls, TAXII servers' collections, MISPs' events). `vigil subscription …` is their name before 0.2, kept for one
 * release; it warns on stderr and answers as it did.
 */
export function sourceCommands(program: Command, call: AdminClient, print: Print): void {
  const sources = program
    .command('source')
    .description("what this node pulls objects from: peers' and TAXII servers' collections, MISPs' events");
  const add = sources.command('add').description('add a source');
  peerOptions(
    add.command('peer').description('pull a collection of a peer (a client of kind peer, pinned) into a local collection'),
  ).action(addPeer(call, print, 'admin/sources', 'source'));
  taxiiCommand(add, call, print);
  mispCommand(add, call, print);
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
