import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { toMicroseconds } from '../taxii/timestamp.ts';
import { CliError } from './admin-client.ts';
import type { TaxiiClient } from './taxii-client.ts';
import { wholeNumber } from './whole-number.ts';

// `vigil poll`: a reference SIEM connector. The cursor is the last X-TAXII-Date-Added-Last seen
// (TAXII 2.1 §5.3), saved only once the objects are out, so a run that fails part-way is
// repeated from the old cursor: objects may come twice after a failure, never go missing.

export type PollOptions = {
  apiRoot: string;
  cursorFile?: string;
  addedAfter?: string;
  type?: string[];
  limit?: number;
  format: 'ndjson' | 'bundle';
  out?: string;
};
export type PollSummary = { collection: string; objects: number; pages: number; cursor: string | null; out: string | null };

type Sink = { write(text: string): Promise<void>; commit(): void; abort(): void };

/** Into a temporary file beside `file`, renamed over it at the end: the file is whole or not there. */
function fileSink(file: string): Sink {
  const tmp = `${file}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  const fail = (err: unknown): never => {
    throw new CliError(`cannot write ${file}: ${(err as Error).message}`, 2);
  };
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (err) {
    return fail(err);
  }
  return {
    async write(text) {
      try {
        writeSync(fd, text);
      } catch (err) {
        fail(err);
      }
    },
    commit() {
      try {
        fsyncSync(fd);
        closeSync(fd);
        renameSync(tmp, file);
      } catch (err) {
        fail(err);
      }
    },
    abort() {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
      rmSync(tmp, { force: true });
    },
  };
}

function stdoutSink(): Sink {
  // A closed pipe (`vigil poll … | head`) is reported through the write callback instead.
  process.stdout.on('error', () => {});
  return {
    write: (text) =>
      new Promise((resolve, reject) =>
        process.stdout.write(text, (err) => (err ? reject(new CliError(`cannot write to stdout: ${err.message}`, 2)) : resolve())),
      ),
    commit() {},
    abort() {},
  };
}

/** STIX objects as NDJSON (one per line), or as one STIX 2.1 bundle, written page by page. */
function formatter(format: PollOptions['format'], sink: Sink) {
  let count = 0;
  const bundleId = `bundle--${randomUUID()}`;
  return {
    async objects(objects: unknown[]) {
      if (format === 'ndjson') return sink.write(objects.map((o) => `${JSON.stringify(o)}\n`).join(''));
      const head = count === 0 ? `{"type":"bundle","id":"${bundleId}","objects":[` : ',';
      count += objects.length;
      return sink.write(head + objects.map((o) => JSON.stringify(o)).join(','));
    },
    async end() {
      if (format === 'bundle') await sink.write(count === 0 ? `{"type":"bundle","id":"${bundleId}"}\n` : ']}\n');
    },
  };
}

export function readCursor(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // the first run
    throw new CliError(`cannot read the cursor file ${file}: ${(err as Error).message}`, 2);
  }
  const cursor = toMicroseconds(text.trim());
  if (!cursor) throw new CliError(`the cursor file ${file} does not hold a timestamp like 2026-01-01T00:00:00.000000Z`, 2);
  return cursor;
}

/** Replaces the cursor file whole (write, fsync, rename): a crash leaves the old cursor or the new. */
export function writeCursor(file: string, cursor: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, `${cursor}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new CliError(`cannot write the cursor file ${file}: ${(err as Error).message}`, 2);
  }
}

export async function poll(client: TaxiiClient, collection: string, o: PollOptions): Promise<PollSummary> {
  const start = o.addedAfter ?? (o.cursorFile ? readCursor(o.cursorFile) : undefined);
  const query = new URLSearchParams();
  if (start) query.set('added_after', start);
  if (o.type?.length) query.set('match[type]', o.type.join(','));
  if (o.limit) query.set('limit', String(o.limit));

  const sink = o.out ? fileSink(o.out) : stdoutSink();
  const output = formatter(o.format, sink);
  let cursor = start;
  let next: string | undefined;
  let objects = 0;
  let pages = 0;
  try {
    for (;;) {
      const q = new URLSearchParams(query);
      if (next) q.set('next', next);
      const page = await client.getObjects(o.apiRoot, collection, q);
      pages++;
      const items = page.envelope.objects ?? [];
      if (items.length > 0) {
        const last = page.dateAddedLast === undefined ? undefined : toMicroseconds(page.dateAddedLast);
        if (!last)
          throw new CliError(
            `the node sent objects without a valid X-TAXII-Date-Added-Last header (${page.dateAddedLast ?? 'none'}): no cursor to keep`,
            1,
          );
        await output.objects(items);
        objects += items.length;
        cursor = last;
      }
      if (!page.envelope.more) break;
      if (items.length === 0) throw new CliError('the node said there is more but sent no objects', 1);
      // Without `next` (another server), the added_after way of paging (TAXII 2.1 §3.4.2).
      next = page.envelope.next;
      if (!next) query.set('added_after', cursor!);
    }
    await output.end();
    sink.commit();
  } catch (err) {
    sink.abort();
    throw err;
  }
  if (o.cursorFile && cursor) writeCursor(o.cursorFile, cursor);
  return { collection, objects, pages, cursor: cursor ?? null, out: o.out ?? null };
}

function timestamp(value: string): string {
  const t = toMicroseconds(value);
  if (!t) throw new InvalidArgumentError('must be a timestamp like 2026-01-01T00:00:00.000000Z');
  return t;
}

const pageSize = wholeNumber(1, Number.MAX_SAFE_INTEGER, 'must be a positive whole number');

const types = (value: string, previous: string[] = []) => [...previous, ...value.split(',').filter(Boolean)];

/** `vigil poll <collection>`: everything new in a collection since the last run, to stdout or a file. */
export function pollCommand(program: Command, connect: () => TaxiiClient, json: () => boolean): void {
  program
    .command('poll <collection>')
    .description('fetch the objects added to a collection since the last run (a SIEM connector); follows the pages until done')
    .option('--api-root <name>', 'the API root of the collection', 'default')
    .option('--cursor-file <path>', 'where to keep the position between runs (X-TAXII-Date-Added-Last); written after the output')
    .option('--added-after <timestamp>', 'start after this date_added instead of the cursor file', timestamp)
    .option('--type <types>', 'only these STIX types (comma-separated, or repeat the option)', types)
    .option('--limit <n>', 'objects per request (the node may send fewer)', pageSize)
    .addOption(
      new Option('--format <format>', 'NDJSON (one object a line) or one STIX bundle').choices(['ndjson', 'bundle']).default('ndjson'),
    )
    .option('--out <file>', 'write the objects to this file (replaced whole) instead of stdout')
    .action(async (collection: string, o: PollOptions) => {
      const summary = await poll(connect(), collection, o);
      const text = json()
        ? JSON.stringify(summary)
        : `polled ${summary.objects} objects in ${summary.pages} request${summary.pages === 1 ? '' : 's'}` +
          (summary.cursor
            ? o.cursorFile
              ? `; ${o.cursorFile}: the next run continues after ${summary.cursor}`
              : `; the last was added ${summary.cursor}`
            : '');
      // The objects may be on stdout: then the summary goes to stderr.
      (o.out ? process.stdout : process.stderr).write(`${text}\n`);
    });
}
