import type { Command } from 'commander';
import { CliError } from './admin-client.ts';
import { readStixInput } from './stix-input.ts';
import type { StixInput } from './stix-input.ts';
import type { TaxiiClient, TaxiiStatus } from './taxii-client.ts';
import { invalidLine } from './validate.ts';
import type { Invalid } from './validate.ts';
import { wholeNumber } from './whole-number.ts';

export type SubmitRequest = { indices: number[]; body: string };
export type SubmitSummary = {
  file: string;
  api_root: string;
  collection: string;
  /** The status id of each request, in order. */
  requests: string[];
  total: number;
  accepted: number;
  already_present: number;
  rejected: number;
  pending: number;
  rejections: Invalid[];
  /** Stored, but served to nobody (the node's TLP policy says why). */
  withheld: { id: string; message: string }[];
};

const HEAD = '{"objects":[';
const TAIL = ']}';

/**
 * Packs the objects, in order, into as few envelopes as fit `maxBytes` octets each (TAXII 2.1
 * §4.2: max_content_length is in octets). An object that cannot fit even alone is left out.
 */
export function splitIntoRequests(objects: unknown[], maxBytes: number): { requests: SubmitRequest[]; tooLarge: Invalid[] } {
  const overhead = Buffer.byteLength(HEAD) + Buffer.byteLength(TAIL);
  const requests: SubmitRequest[] = [];
  const tooLarge: Invalid[] = [];
  let parts: string[] = [];
  let indices: number[] = [];
  let size = overhead;
  const flush = () => {
    if (parts.length) requests.push({ indices, body: `${HEAD}${parts.join(',')}${TAIL}` });
    parts = [];
    indices = [];
    size = overhead;
  };
  objects.forEach((object, index) => {
    const text = JSON.stringify(object);
    const bytes = Buffer.byteLength(text);
    if (overhead + bytes > maxBytes) {
      const id =
        typeof object === 'object' && object !== null && typeof (object as { id?: unknown }).id === 'string'
          ? (object as { id: string }).id
          : null;
      tooLarge.push({
        index,
        id,
        message: `object: ${bytes} octets, more than the API root's max_content_length of ${maxBytes} allows in a request`,
      });
      return;
    }
    if (size + bytes + (parts.length ? 1 : 0) > maxBytes) flush();
    size += bytes + (parts.length ? 1 : 0);
    parts.push(text);
    indices.push(index);
  });
  flush();
  return { requests, tooLarge };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls a status until `complete`, or until the deadline (then the last status, still pending). */
async function settled(
  client: TaxiiClient,
  root: string,
  first: TaxiiStatus,
  deadline: number,
  progress: (settled: number) => void,
): Promise<TaxiiStatus> {
  let status = first;
  for (let wait = 100; status.status !== 'complete' && Date.now() < deadline; wait = Math.min(wait * 2, 1000)) {
    progress(status.total_count - status.pending_count);
    await sleep(Math.min(wait, Math.max(0, deadline - Date.now())));
    status = await client.getStatus(root, status.id);
  }
  return status;
}

const REQUEST_PLACE = /^objects\[(\d+)\]: ([\s\S]*)$/;

/** Adds one request's outcome to the summary; the node's `objects[n]` is made the bundle's place. */
function tally(summary: SubmitSummary, request: SubmitRequest, status: TaxiiStatus): void {
  summary.requests.push(status.id);
  for (const s of status.successes ?? []) {
    if (s.message?.startsWith('already present')) summary.already_present++;
    else summary.accepted++;
    if (s.message?.includes('withheld')) summary.withheld.push({ id: s.id, message: s.message });
  }
  for (const f of status.failures ?? []) {
    const place = REQUEST_PLACE.exec(f.message ?? '');
    const index = place ? request.indices[Number(place[1])] : undefined;
    summary.rejections.push({ index: index ?? -1, id: f.id || null, message: place ? place[2]! : (f.message ?? 'rejected') });
  }
  summary.pending += status.pendings?.length ?? 0;
}

function progressBar(total: number, enabled: boolean) {
  const width = 30;
  return {
    show(done: number, request: number, requests: number) {
      if (!enabled) return;
      const filled = total ? Math.round((done / total) * width) : width;
      process.stderr.write(
        `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} objects, request ${request}/${requests}`,
      );
    },
    end() {
      if (enabled) process.stderr.write('\r\x1b[K');
    },
  };
}

export function describeSummary(s: SubmitSummary): string {
  const lines = [
    `${s.file} -> collection ${s.collection} (API root ${s.api_root}): ${s.total} objects in ${s.requests.length} request${s.requests.length === 1 ? '' : 's'}`,
    `accepted ${s.accepted}, already present ${s.already_present}, rejected ${s.rejected}${s.pending ? `, still pending ${s.pending}` : ''}`,
  ];
  if (s.rejections.length) lines.push('rejected:', ...s.rejections.map((r) => `  ${invalidLine(r)}`));
  if (s.withheld.length) lines.push('stored but withheld from every recipient:', ...s.withheld.map((w) => `  ${w.id}: ${w.message}`));
  return lines.join('\n');
}

export type SubmitOptions = { collection: string; apiRoot: string; timeout: number; progress: boolean };

export async function submit(client: TaxiiClient, input: StixInput, o: SubmitOptions): Promise<SubmitSummary> {
  const maxBytes = await client.maxContentLength(o.apiRoot);
  const { requests, tooLarge } = splitIntoRequests(input.objects, maxBytes);
  const summary: SubmitSummary = {
    file: input.name,
    api_root: o.apiRoot,
    collection: o.collection,
    requests: [],
    total: input.objects.length,
    accepted: 0,
    already_present: 0,
    rejected: 0,
    pending: 0,
    rejections: [...tooLarge],
    withheld: [],
  };
  const bar = progressBar(input.objects.length - tooLarge.length, o.progress);
  let done = 0;
  try {
    for (const [i, request] of requests.entries()) {
      bar.show(done, i + 1, requests.length);
      const first = await client.addObjects(o.apiRoot, o.collection, request.body);
      const progress = (n: number) => bar.show(done + n, i + 1, requests.length);
      tally(summary, request, await settled(client, o.apiRoot, first, Date.now() + o.timeout * 1000, progress));
      done += request.indices.length;
    }
    bar.show(done, requests.length, requests.length);
  } catch (err) {
    if (!(err instanceof CliError) || summary.requests.length === 0) throw err;
    const note = `after ${summary.requests.length} of ${requests.length} requests were stored; submitting again is safe (what is held is "already present")`;
    throw new CliError(`${err.message} (${note})`, err.exitCode);
  } finally {
    bar.end();
  }
  summary.rejections.sort((a, b) => a.index - b.index);
  summary.rejected = summary.rejections.length;
  return summary;
}

const seconds = wholeNumber(1, Number.MAX_SAFE_INTEGER, 'must be a positive whole number of seconds');

/**
 * `vigil submit <bundle|->`: POSTs a bundle in requests that fit the API root, waits for each
 * status, and sums up. Exit 1 when the node rejected any object (or some are still pending).
 */
export function submitCommand(program: Command, connect: () => TaxiiClient, json: () => boolean): void {
  program
    .command('submit <bundle>')
    .description(
      'send a STIX bundle or TAXII envelope (a file, or - for stdin) to a collection, and report what the node did with each object (with a client token or the admin token)',
    )
    .requiredOption('--collection <id>', 'the collection to add the objects to')
    .option('--api-root <name>', 'the API root of the collection', 'default')
    .option('--timeout <seconds>', "how long to wait for each request's status to be complete", seconds, 300)
    .action(async (file: string, o: { collection: string; apiRoot: string; timeout: number }) => {
      const input = readStixInput(file);
      const summary = await submit(connect(), input, { ...o, progress: Boolean(process.stderr.isTTY) && !json() });
      process.stdout.write(json() ? `${JSON.stringify(summary, null, 2)}\n` : `${describeSummary(summary)}\n`);
      if (summary.rejected > 0) throw new CliError(`${summary.rejected} of ${summary.total} objects were rejected`, 1);
      if (summary.pending > 0) {
        throw new CliError(
          `${summary.pending} objects were still pending after ${o.timeout} s; see their status: ${summary.requests.join(', ')}`,
          1,
        );
      }
    });
}
