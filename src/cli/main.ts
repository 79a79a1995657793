import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { ConfigError } from '../config.ts';
import { adminClient, CliError } from './admin-client.ts';
import type { AdminClient } from './admin-client.ts';
import type { ApiRoot, Client, Collection, CreatedClient, Grant, Print } from './answers.ts';
import { keysCommands, peerCommand, trustListCommands } from './federation-commands.ts';
import { serverUrlArgs, sourceCommands } from './source-commands.ts';
import { alertCommands } from './alert-commands.ts';
import { feedCommands, feedUrlsText, feedsOf } from './feed-commands.ts';
import { sightingCommands } from './sighting-commands.ts';
import { submitCommand } from './submit.ts';
import { pollCommand } from './poll.ts';
import { validateCommand } from './validate.ts';
import { clientToken, taxiiClient } from './taxii-client.ts';
import { clientPolicyBody, clientPolicyOptions, collectionPolicyBody, collectionPolicyOptions, policyCommands } from './policy-options.ts';
import type { ClientPolicyOptions, CollectionPolicyOptions } from './policy-options.ts';

// The vigil command: serve and migrate locally; everything else through the admin API.

const cliEnv = z.object({
  VIGIL_URL: z.url().optional(),
  ADMIN_TOKEN: z.string().min(16).optional(),
  DATA_DIR: z.string().min(1).default('./data'),
});

type Globals = { url?: string; token?: string; json?: boolean };

function environment() {
  const env = cliEnv.safeParse(process.env);
  if (!env.success)
    throw new CliError(`invalid environment: ${env.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, 2);
  return env.data;
}

function nodeUrl(globals: Globals): string {
  return (globals.url ?? environment().VIGIL_URL ?? 'http://127.0.0.1:8000').replace(/\/+$/, '');
}

function connect(globals: Globals): AdminClient {
  const url = nodeUrl(globals);
  const token = clientToken(globals.token, environment());
  return adminClient(url, token);
}

function print<T>(globals: Globals, value: T, human: (v: T) => string): void {
  process.stdout.write(globals.json ? `${JSON.stringify(value, null, 2)}\n` : `${human(value)}\n`);
}

type ApiRootOptions = { title: string; description?: string; maxContentLength?: number };
type CollectionOptions = CollectionPolicyOptions & { title: string; description?: string; alias?: string };
type ClientOptions = ClientPolicyOptions & { name?: string };

const table = (rows: Record<string, unknown>[], cols: string[]) =>
  rows.length === 0 ? '(none)' : rows.map((r) => cols.map((c) => `${c}=${r[c] ?? ''}`).join('  ')).join('\n');

/** A usage error (exit 2) here, rather than NaN sent to the node as `null`. */
function octets(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a positive whole number of octets');
  return Number(value);
}

export function buildProgram(): Command {
  const program = new Command('vigil')
    .description('Vigil: a STIX 2.1 / TAXII 2.1 threat-intelligence exchange node')
    .option('--url <url>', 'the node to administer (default: $VIGIL_URL or http://127.0.0.1:8000)')
    .option(
      '--token <token>',
      'the admin token, or a client token for alert, sighting, submit and poll (default: $ADMIN_TOKEN, else $DATA_DIR/admin-token)',
    )
    .option('--json', 'print JSON for scripts')
    .exitOverride()
    .showHelpAfterError();
  const g = () => program.opts<Globals>();
  const call: AdminClient = async <T>(method: string, p: string, body?: unknown) => connect(g())<T>(method, p, body);
  const out: Print = (value, human) => print(g(), value, human);

  program
    .command('serve')
    .description('run the node (configured by environment variables; see docs/operating.md)')
    .action(async () => {
      await import('../main.ts');
      await new Promise(() => {});
    });
  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .action(async () => {
      const { loadConfig } = await import('../config.ts');
      const { openDatabase, migrateOrThrow } = await import('../node.ts');
      const database = await openDatabase(loadConfig());
      try {
        const applied = await migrateOrThrow(database);
        print(g(), { applied }, (v) => (v.applied.length ? `applied: ${v.applied.join(', ')}` : 'the database is up to date'));
      } finally {
        await database.close();
      }
    });

  keysCommands(program, out);
  trustListCommands(program, out);
  sourceCommands(program, call, out);
  alertCommands(program, call, out, () => nodeUrl(g()));
  feedCommands(program, call, out);
  sightingCommands(program, call, out);
  const taxii = () => taxiiClient(nodeUrl(g()), clientToken(g().token, environment()));
  submitCommand(program, taxii, () => Boolean(g().json));
  pollCommand(program, taxii, () => Boolean(g().json));
  validateCommand(program, () => Boolean(g().json));

  const roots = program.command('api-root').description('manage API roots');
  roots
    .command('list')
    .action(async () =>
      print(g(), await call<{ api_roots: ApiRoot[] }>('GET', 'admin/api-roots'), (v) =>
        table(v.api_roots, ['name', 'title', 'max_content_length']),
      ),
    );
  roots
    .command('create <name>')
    .requiredOption('--title <title>')
    .option('--description <text>')
    .option('--max-content-length <octets>', 'largest request body accepted', octets)
    .action(async (name: string, o: ApiRootOptions) =>
      print(
        g(),
        await call<ApiRoot>('POST', 'admin/api-roots', {
          name,
          title: o.title,
          description: o.description,
          max_content_length: o.maxContentLength,
        }),
        (v) => `created API root ${v.name}`,
      ),
    );
  roots
    .command('update <name>')
    .option('--title <title>')
    .option('--description <text>')
    .option('--max-content-length <octets>', 'largest request body accepted', octets)
    .action(async (name: string, o: Partial<ApiRootOptions>) =>
      print(
        g(),
        await call<ApiRoot>('PATCH', `admin/api-roots/${encodeURIComponent(name)}`, {
          title: o.title,
          description: o.description,
          max_content_length: o.maxContentLength,
        }),
        (v) => `updated API root ${v.name}`,
      ),
    );
  roots
    .command('delete <name>')
    .description('delete an API root with all its collections and objects')
    .action(async (name: string) => {
      await call('DELETE', `admin/api-roots/${encodeURIComponent(name)}`);
      print(g(), { deleted: name }, () => `deleted API root ${name}`);
    });

  const cols = program.command('collection').description('manage collections');
  cols
    .command('list')
    .option('--api-root <name>')
    .action(async (o: { apiRoot?: string }) =>
      print(
        g(),
        await call<{ collections: Collection[] }>(
          'GET',
          `admin/collections${o.apiRoot ? `?api_root=${encodeURIComponent(o.apiRoot)}` : ''}`,
        ),
        (v) => table(v.collections, ['id', 'api_root', 'alias', 'title']),
      ),
    );
  collectionPolicyOptions(
    cols
      .command('create')
      .requiredOption('--api-root <name>')
      .requiredOption('--title <title>')
      .option('--description <text>')
      .option('--alias <alias>')
      .option('--id <uuid>'),
  ).action(async (o: CollectionOptions & { apiRoot: string; id?: string }) =>
    print(
      g(),
      await call<Collection>('POST', 'admin/collections', {
        api_root: o.apiRoot,
        title: o.title,
        description: o.description,
        alias: o.alias,
        id: o.id,
        ...collectionPolicyBody(o),
      }),
      (v) => `created collection ${v.id}`,
    ),
  );
  collectionPolicyOptions(
    cols.command('update <id>').option('--title <title>').option('--description <text>').option('--alias <alias>'),
  ).action(async (id: string, o: Partial<CollectionOptions>) =>
    print(
      g(),
      await call<Collection>('PATCH', `admin/collections/${encodeURIComponent(id)}`, {
        title: o.title,
        description: o.description,
        alias: o.alias,
        ...collectionPolicyBody(o),
      }),
      (v) => `updated collection ${v.id}`,
    ),
  );
  policyCommands(cols, call, out);
  cols
    .command('delete <id>')
    .description('delete a collection and its objects')
    .action(async (id: string) => {
      await call('DELETE', `admin/collections/${encodeURIComponent(id)}`);
      print(g(), { deleted: id }, () => `deleted collection ${id}`);
    });

  const clients = program.command('client').description('manage API clients, their tokens and rights');
  const grants = (v: { grants: Grant[] }) => v.grants.map((x) => `  ${x.collection_id} read=${x.can_read} write=${x.can_write}`).join('\n');
  clients
    .command('list')
    .action(async () =>
      print(
        g(),
        await call<{ clients: Client[] }>('GET', 'admin/clients'),
        (v) => v.clients.map((c) => `${c.id}  ${c.name}\n${grants(c)}`).join('\n') || '(none)',
      ),
    );
  clientPolicyOptions(clients.command('update <id>').option('--name <name>')).action(async (id: string, o: ClientOptions) =>
    print(
      g(),
      await call<Client>('PATCH', `admin/clients/${encodeURIComponent(id)}`, { name: o.name, ...clientPolicyBody(o) }),
      (v) => `updated client ${v.name}: clearance ${v.clearance}`,
    ),
  );
  clientPolicyOptions(clients.command('create <name>'))
    .option('--read <collection...>', 'collections it may read')
    .option('--write <collection...>', 'collections it may write')
    .action(async (name: string, o: ClientOptions & { read?: string[]; write?: string[] }) => {
      const ids = new Set<string>([...(o.read ?? []), ...(o.write ?? [])]);
      const list = [...ids].map((id) => ({
        collection_id: id,
        can_read: (o.read ?? []).includes(id),
        can_write: (o.write ?? []).includes(id),
      }));
      const v = await call<CreatedClient>('POST', 'admin/clients', { name, grants: list, ...clientPolicyBody(o) });
      // A feed client is given to a device: where that device finds its lists comes with the token.
      const feeds = v.kind === 'feed' ? await feedsOf(call, o.read ?? []) : undefined;
      print(g(), feeds ? { ...v, feeds } : v, () =>
        v.token === undefined
          ? `created peer ${name} (${v.id}); it has no token: pin its node id and keys with \`vigil client peer ${v.id} --node-id … --keys …\``
          : `created ${v.kind === 'feed' ? 'feed client' : 'client'} ${name} (${v.id})\ntoken (shown once, keep it safe): ${v.token}` +
            (feeds ? `\n${feedUrlsText(feeds)}` : ''),
      );
    });
  peerCommand(clients, call, out);
  clients.command('rotate-token <id>').action(async (id: string) => {
    const v = await call<{ token: string }>('POST', `admin/clients/${encodeURIComponent(id)}/token`);
    print(g(), v, () => `new token (shown once): ${v.token}`);
  });
  clients
    .command('grant <id> <collection>')
    .addOption(new Option('--read', 'may read').default(false))
    .addOption(new Option('--write', 'may write').default(false))
    .action(async (id: string, collection: string, o: { read: boolean; write: boolean }) =>
      print(
        g(),
        await call<{ grants: Grant[] }>('PUT', `admin/clients/${encodeURIComponent(id)}/grants/${encodeURIComponent(collection)}`, {
          can_read: o.read,
          can_write: o.write,
        }),
        grants,
      ),
    );
  clients
    .command('revoke <id> <collection>')
    .action(async (id: string, collection: string) =>
      print(
        g(),
        await call<{ grants: Grant[] }>('DELETE', `admin/clients/${encodeURIComponent(id)}/grants/${encodeURIComponent(collection)}`),
        grants,
      ),
    );
  clients.command('delete <id>').action(async (id: string) => {
    await call('DELETE', `admin/clients/${encodeURIComponent(id)}`);
    print(g(), { deleted: id }, () => `deleted client ${id}`);
  });
  return program;
}

/** Exit codes: 0 ok, 1 refused by the node, 2 usage or configuration, 3 node unreachable, 4 not authorised. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(serverUrlArgs(argv), { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof CliError) {
      process.stderr.write(`vigil: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`vigil: ${(err as Error).message}\n`);
    return err instanceof ConfigError ? 2 : 1;
  }
}
