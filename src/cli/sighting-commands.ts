import { Option } from 'commander';
import type { Command } from 'commander';
import { CliError } from './admin-client.ts';
import type { AdminClient } from './admin-client.ts';
import type { Print } from './answers.ts';
import { readJsonInput } from './stix-input.ts';
import { wholeNumber } from './whole-number.ts';

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

const count = wholeNumber(1, 1_000_000, 'must be a whole number from 1 to 1000000');

/** What POST /sightings answers a batch. */
type BatchAnswer = {
  success_count: number;
  failure_count: number;
  results: ({ index: number; outcome: 'success'; reported: SightingReport[] } | { index: number; outcome: 'failure'; message: string })[];
};

/**
 * The reports of a file (a JSON array, as POST /sightings takes it), sent `batch` a request; each
 * report's outcome, indexed in the file. The node checks each report; this only checks the shape.
 */
async function reportFile(call: AdminClient, file: string, batch: number): Promise<BatchAnswer> {
  const { name, json } = readJsonInput(file);
  if (!Array.isArray(json) || json.length === 0)
    throw new CliError(`${name}: expected a JSON array of reports ([{"value": "198.51.100.7", "count": 3}, …])`, 2);
  const answer: BatchAnswer = { success_count: 0, failure_count: 0, results: [] };
  for (let at = 0; at < json.length; at += batch) {
    const part = await call<BatchAnswer>('POST', 'sightings', json.slice(at, at + batch));
    answer.success_count += part.success_count;
    answer.failure_count += part.failure_count;
    answer.results.push(...part.results.map((r) => ({ ...r, index: r.index + at })));
  }
  return answer;
}

type ReportOptions = {
  file?: string;
  batch: number;
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
    .addOption(
      new Option('--file <path>', 'a JSON array of reports as POST /sightings takes them (- for stdin), sent 1,000 a request').conflicts([
        'value',
        'indicator',
        'count',
        'firstSeen',
        'lastSeen',
        'shareable',
        'collection',
      ]),
    )
    .option(
      '--batch <n>',
      "with --file: reports a request, 1 to 1000, at most the node's SIGHTINGS_PER_MINUTE",
      wholeNumber(1, 1000, 'must be a whole number from 1 to 1000'),
      1000,
    )
    .action(async (o: ReportOptions) => {
      if (o.file !== undefined) {
        const answer = await reportFile(call, o.file, o.batch);
        print(answer, (a) =>
          [
            `recorded ${a.success_count} of ${a.success_count + a.failure_count} reports (${a.results.reduce((n, r) => n + (r.outcome === 'success' ? r.reported.length : 0), 0)} sightings)`,
            ...a.results.flatMap((r) => (r.outcome === 'failure' ? [`  report ${r.index}: ${r.message}`] : [])),
          ].join('\n'),
        );
        if (answer.failure_count > 0)
          throw new CliError(`${answer.failure_count} of ${answer.results.length} reports were not recorded`, 1);
        return;
      }
      if ((o.value === undefined) === (o.indicator === undefined)) throw new CliError('give --value, --indicator or --file', 2);
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
