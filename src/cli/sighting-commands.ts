import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { CliError } from './admin-client.ts';
import type { AdminClient } from './admin-client.ts';
import type { Print } from './answers.ts';

/** A report as POST /sightings and GET /sightings answer it. */
export type SightingReport = {
  id: string;
  indicator_id: string;
  collection_id: string;
  count: number;
  first_seen: string;
  last_seen: string;
  shareable: boolean;
  organisation: string | null;
  received: string;
  published: boolean;
};

function count(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1_000_000)
    throw new InvalidArgumentError('must be a whole number from 1 to 1000000');
  return Number(value);
}

type ReportOptions = {
  value?: string;
  indicator?: string;
  count?: number;
  firstSeen?: string;
  lastSeen?: string;
  shareable?: boolean;
  collection?: string;
};

/** `vigil sighting report|list`: a client's reports of what hit it (docs/sightings.md), through POST and GET /sightings. */
export function sightingCommands(program: Command, call: AdminClient, print: Print): void {
  const sighting = program.command('sighting').description('report what hit your organisation; it leaves the node only as aggregates');
  sighting
    .command('report')
    .description('report a sighting of an indicator, named by its id or by a value of its pattern (the caller is --token)')
    .addOption(new Option('--value <value>', 'an IP address, domain name, URL or SHA-256/MD5 hash seen').conflicts('indicator'))
    .option('--indicator <id>', 'the indicator seen (indicator--…)')
    .option('--count <n>', 'how many times (default 1)', count)
    .option('--first-seen <time>', 'STIX timestamp of the first sighting (default: --last-seen, else now)')
    .option('--last-seen <time>', 'STIX timestamp of the last sighting (default: --first-seen, else now)')
    .option('--shareable', 'may be published even where fewer organisations than the minimum reported')
    .option('--collection <id>', 'only indicators of this collection')
    .action(async (o: ReportOptions) => {
      if ((o.value === undefined) === (o.indicator === undefined)) throw new CliError('give --value or --indicator', 2);
      const body = {
        value: o.value,
        indicator: o.indicator,
        count: o.count,
        first_seen: o.firstSeen,
        last_seen: o.lastSeen,
        shareable: o.shareable,
        collection: o.collection,
      };
      const v = await call<{ reported: SightingReport[]; message: string }>('POST', 'sightings', body);
      print(v, (x) =>
        [x.message, ...x.reported.map((r) => `  ${r.indicator_id}  count ${r.count}  ${r.first_seen} .. ${r.last_seen}`)].join('\n'),
      );
    });
  sighting
    .command('list')
    .description("your organisation's latest reports (every report, with the admin token)")
    .option('--limit <n>', 'at most this many (default 100)')
    .action(async (o: { limit?: string }) => {
      const query = o.limit ? `?limit=${encodeURIComponent(o.limit)}` : '';
      print(
        await call<{ sightings: SightingReport[] }>('GET', `sightings${query}`),
        (v) =>
          v.sightings
            .map(
              (r) =>
                `${r.received}  ${r.indicator_id}  count ${r.count}  ${r.organisation ?? '(own)'}  ${r.published ? 'published' : 'waiting'}`,
            )
            .join('\n') || '(none)',
      );
    });
}
