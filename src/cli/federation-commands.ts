import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { JWK } from 'jose';
import type { KeyringState } from '../federation/keyring.ts';
import { CliError } from './admin-client.ts';
import type { AdminClient } from './admin-client.ts';
import type { PeerIdentity, Print } from './answers.ts';

/**
 * `vigil client peer <id> --node-id … --keys jwks.json`: pins a peer node's identity, with the
 * public keys its operators sent (a JWKS file, as its /.well-known/jwks.json serves it).
 */
export function peerCommand(clients: Command, call: AdminClient, print: Print): void {
  clients
    .command('peer <id>')
    .description("pin a peer node's id, URL and public keys (a JWKS file exchanged out of band)")
    .requiredOption('--node-id <id>')
    .requiredOption('--keys <jwks.json>')
    .option('--base-url <url>')
    .action(async (id: string, o: { nodeId: string; keys: string; baseUrl?: string }) => {
      let keys: unknown;
      try {
        keys = (JSON.parse(readFileSync(o.keys, 'utf8')) as { keys?: unknown }).keys;
      } catch (err) {
        throw new CliError(`cannot read a JWKS from ${o.keys}: ${(err as Error).message}`, 2);
      }
      const v = await call<PeerIdentity>('PUT', `admin/clients/${encodeURIComponent(id)}/peer`, {
        node_id: o.nodeId,
        base_url: o.baseUrl,
        keys,
      });
      print(v, (x) => `peer ${x.name} is node ${x.node_id}; pinned keys: ${x.keys.map((k) => k.kid).join(', ')}`);
    });
}

/** `vigil keys list|rotate`: the node's signing keys, on this machine's key directory. */
export function keysCommands(program: Command, print: Print): void {
  const keys = program.command('keys').description("the node's signing keys (in KEY_DIR, default DATA_DIR/keys)");
  const open = async () => {
    const { loadConfig } = await import('../config.ts');
    const keyring = await import('../federation/keyring.ts');
    return { config: loadConfig(), keyring };
  };
  const human = (v: KeyringState) =>
    [
      `node ${v.node_id}`,
      ...v.keys.map((k) => `${k.kid}  created ${k.created}  signs from ${k.activates}${k.retires ? `  retires ${k.retires}` : ''}`),
    ].join('\n');

  keys.command('list').action(async () => {
    const { config, keyring } = await open();
    const state = keyring.readKeyring(config.keyDir);
    if (!state) throw new CliError(`no keys in ${config.keyDir}: start the node once first`, 1);
    print(state, human);
  });
  keys
    .command('rotate')
    .description(
      'make a new key: published at once, signing after KEY_ACTIVATION_DELAY_SECONDS; the old one verifies for KEY_RETENTION_SECONDS more',
    )
    .action(async () => {
      const { config, keyring } = await open();
      try {
        const state = await keyring.rotateKeys(config.keyDir, {
          activationDelayMs: config.keyActivationDelaySeconds * 1000,
          retentionMs: config.keyRetentionSeconds * 1000,
        });
        print(state, human);
      } catch (err) {
        if (err instanceof keyring.KeyringError) throw new CliError(err.message, 1);
        throw err;
      }
    });
}

function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read ${what} from ${file}: ${(err as Error).message}`, 2);
  }
}

/** `vigil trustlist keygen|sign|verify`: the federation operator's side of the trust list. */
export function trustListCommands(program: Command, print: Print): void {
  const tl = program.command('trustlist').description("the federation's signed list of member nodes and their keys");
  tl.command('keygen')
    .description(
      'make a federation operator key pair: <prefix>.private.jwk (keep it offline) and <prefix>.public.jwk (give it to every node)',
    )
    .requiredOption('--out <prefix>')
    .action(async (o: { out: string }) => {
      const { generateOperatorKey } = await import('../federation/trust-list.ts');
      const { privateJwk, publicJwk } = await generateOperatorKey();
      writeFileSync(`${o.out}.private.jwk`, JSON.stringify(privateJwk), { mode: 0o600 });
      writeFileSync(`${o.out}.public.jwk`, JSON.stringify(publicJwk));
      print(
        { kid: publicJwk.kid, private: `${o.out}.private.jwk`, public: `${o.out}.public.jwk` },
        (v) => `operator key ${v.kid}\n  ${v.private} (mode 600)\n  ${v.public}`,
      );
    });
  tl.command('sign <document.json>')
    .description('check a trust list document and sign it with the operator key')
    .requiredOption('--key <operator.private.jwk>')
    .requiredOption('--out <trustlist.jws>')
    .action(async (file: string, o: { key: string; out: string }) => {
      const { signTrustList, TrustListError } = await import('../federation/trust-list.ts');
      try {
        const jws = await signTrustList(readJson(file, 'a trust list document'), readJson(o.key, 'the operator key') as JWK);
        writeFileSync(o.out, `${jws}\n`);
        print({ signed: o.out }, () => `signed trust list written to ${o.out}`);
      } catch (err) {
        throw err instanceof TrustListError ? new CliError(err.message, 1) : err;
      }
    });
  tl.command('verify <trustlist.jws>')
    .description('check a signed trust list against the operator public key')
    .requiredOption('--operator-key <operator.public.jwk>')
    .action(async (file: string, o: { operatorKey: string }) => {
      const { verifyTrustList, TrustListError } = await import('../federation/trust-list.ts');
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read ${file}: ${(err as Error).message}`, 2);
      }
      try {
        const list = await verifyTrustList(text, readJson(o.operatorKey, 'the operator key') as JWK);
        print(list, (v) =>
          [`${v.federation}: valid until ${v.expires}`, ...v.members.map((m) => `  ${m.node_id}  ${m.keys.length} key(s)`)].join('\n'),
        );
      } catch (err) {
        throw err instanceof TrustListError ? new CliError(err.message, 1) : err;
      }
    });
}
