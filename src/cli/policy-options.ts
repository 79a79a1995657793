import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import type { AdminClient } from './admin-client.ts';
import type { Collection, Denied, Print, Provenance, Recipient } from './answers.ts';

// The TLP policy as the vigil command speaks it: options shared by create and update, and the
// commands for RED recipients, the audit and denied objects.

const LEVELS = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'];

function level(allowed: string[]) {
  return (v: string) => {
    const up = v.toUpperCase();
    if (!allowed.includes(up)) throw new InvalidArgumentError(`one of ${allowed.join(', ')}`);
    return up;
  };
}

function flag(v: string): boolean {
  if (v === 'true' || v === 'yes') return true;
  if (v === 'false' || v === 'no') return false;
  throw new InvalidArgumentError('true or false');
}

export function collectionPolicyOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--default-level <level>', 'TLP level of unmarked objects (default AMBER)').argParser(level(LEVELS)))
    .addOption(new Option('--pap-green-only <bool>', 'take PAP:CLEAR/GREEN content only').argParser(flag))
    .addOption(
      new Option('--relax-container-refs <bool>', 'serve reports, groupings, notes and opinions whatever they point at').argParser(flag),
    )
    .addOption(new Option('--public <bool>', 'serve its CLEAR content without credentials').argParser(flag));
}

export type CollectionPolicyOptions = { defaultLevel?: string; papGreenOnly?: boolean; relaxContainerRefs?: boolean; public?: boolean };

export function collectionPolicyBody(o: CollectionPolicyOptions) {
  return { default_level: o.defaultLevel, pap_green_only: o.papGreenOnly, relax_container_refs: o.relaxContainerRefs, public: o.public };
}

export function clientPolicyOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--clearance <level>', 'strictest TLP it may receive (default CLEAR)').argParser(level(LEVELS.slice(0, 4))))
    .addOption(new Option('--own-org <bool>', "belongs to this node's organisation (needed for AMBER+STRICT)").argParser(flag))
    .addOption(new Option('--peer', 'a peer node of the federation, not a client').conflicts('feed'))
    .addOption(new Option('--feed', 'reads feeds only (docs/feeds.md); its token may be sent as ?token='))
    .addOption(new Option('--peer-amber <bool>', "a peer's agreement lets it pull AMBER this node originated").argParser(flag))
    .addOption(new Option('--organisation <name>', 'the organisation it reports sightings for (docs/sightings.md); "" for none'));
}

export type ClientPolicyOptions = {
  clearance?: string;
  ownOrg?: boolean;
  peer?: boolean;
  feed?: boolean;
  peerAmber?: boolean;
  organisation?: string;
};

export function clientPolicyBody(o: ClientPolicyOptions) {
  return {
    kind: o.peer ? 'peer' : o.feed ? 'feed' : undefined,
    clearance: o.clearance,
    own_org: o.ownOrg,
    peer_amber: o.peerAmber,
    organisation: o.organisation === '' ? null : o.organisation,
  };
}

export function policyCommands(cols: Command, call: AdminClient, print: Print): void {
  const red = cols.command('red-recipient').description('name the clients that may receive RED content of a collection');
  for (const [verb, method] of [
    ['add', 'PUT'],
    ['remove', 'DELETE'],
  ] as const) {
    red
      .command(`${verb} <collection> <client>`)
      .action(async (collection: string, client: string) =>
        print(
          await call<Collection>(
            method,
            `admin/collections/${encodeURIComponent(collection)}/red-recipients/${encodeURIComponent(client)}`,
          ),
          (v) => `RED recipients of ${v.id}: ${v.red_recipients.join(', ') || '(none)'}`,
        ),
      );
  }
  cols
    .command('recipients <collection> <object-id>')
    .description('who received an object: recorded pages with AMBER or stricter content that covered it')
    .action(async (collection: string, objectId: string) =>
      print(
        await call<{ deliveries: Recipient[] }>(
          'GET',
          `admin/collections/${encodeURIComponent(collection)}/objects/${encodeURIComponent(objectId)}/recipients`,
        ),
        (v) =>
          v.deliveries.map((d) => `${d.delivered_at}  ${d.recipient}  ${d.max_level}  ${d.object_count} objects`).join('\n') || '(nobody)',
      ),
    );
  cols
    .command('object <collection> <object-id>')
    .description("an object's versions: TLP level, the peer each came from, its origin node")
    .action(async (collection: string, objectId: string) =>
      print(
        await call<{ versions: Provenance[] }>(
          'GET',
          `admin/collections/${encodeURIComponent(collection)}/objects/${encodeURIComponent(objectId)}`,
        ),
        (v) =>
          v.versions
            .map(
              (x) =>
                `${x.version}  ${x.tlp_level}  added ${x.date_added}  from ${x.received_from ?? '(submitted here)'}  origin ${x.origin_node ?? '?'}` +
                (x.intake ? `  (taken in by it from ${x.intake.url} at ${x.intake.at}: signed by no node before)` : ''),
            )
            .join('\n'),
      ),
    );
  cols
    .command('denied <collection>')
    .alias('withheld')
    .description('versions served to nobody, with why: waiting for a marking definition, unknown TLP-like marking, ...')
    .action(async (collection: string) =>
      print(await call<Denied>('GET', `admin/collections/${encodeURIComponent(collection)}/denied`), (v) => {
        if (v.objects.length === 0) return '(none)';
        const lines = v.objects.map((o) => `${o.id}  ${o.version}  ${o.cause}  ${o.reason}`);
        const waiting = v.waiting.map((w) => `  ${w.marking_definition}: holds back ${w.objects} version(s)`);
        if (waiting.length > 0) lines.push('', 'missing marking definitions (send them to release what they hold back):', ...waiting);
        if (v.truncated) lines.push('', '(more: only the oldest 10,000 are listed)');
        return lines.join('\n');
      }),
    );
}
