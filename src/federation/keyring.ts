import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { z } from 'zod';

// The node's Ed25519 signing keys, kept as files (mode 600) in a key directory that replicas of
// one node share. A new key is published at once but signs only from `activates`; the key it
// replaces keeps verifying until `retires`.

export const ALGORITHM = 'EdDSA';

const entry = z.object({
  kid: z.string().min(1),
  created: z.iso.datetime(),
  activates: z.iso.datetime(),
  retires: z.iso.datetime().optional(),
});
const keyringFile = z.object({ node_id: z.string().min(1), keys: z.array(entry) });
export type KeyEntry = z.infer<typeof entry>;
export type KeyringState = z.infer<typeof keyringFile>;

export type Timing = { activationDelayMs: number; retentionMs: number };

export class KeyringError extends Error {
  override name = 'KeyringError';
}

const stateFile = (dir: string) => path.join(dir, 'keyring.json');
const keyFile = (dir: string, kid: string) => path.join(dir, `${kid}.private.jwk`);

function writeSecret(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

export function readKeyring(dir: string): KeyringState | undefined {
  if (!existsSync(stateFile(dir))) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(stateFile(dir), 'utf8'));
  } catch (err) {
    throw new KeyringError(`${stateFile(dir)} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = keyringFile.safeParse(json);
  if (!parsed.success) throw new KeyringError(`${stateFile(dir)} is malformed: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

async function newKey(dir: string): Promise<string> {
  const { privateKey } = await generateKeyPair(ALGORITHM, { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  // RFC 7638: the kid is the thumbprint of the public key.
  const kid = await calculateJwkThumbprint({ kty: jwk.kty!, crv: jwk.crv!, x: jwk.x! }, 'sha256');
  writeSecret(keyFile(dir, kid), JSON.stringify({ ...jwk, kid, alg: ALGORITHM }));
  return kid;
}

/** The keyring, created with a first, active key (and the node id) when there is none. */
export async function ensureKeyring(dir: string, nodeId: string | undefined, now = new Date()): Promise<KeyringState> {
  const existing = readKeyring(dir);
  if (existing) {
    if (nodeId && existing.node_id !== nodeId) {
      throw new KeyringError(`NODE_ID is '${nodeId}' but the keys in ${dir} belong to node '${existing.node_id}'`);
    }
    return existing;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const kid = await newKey(dir);
  const state: KeyringState = {
    node_id: nodeId ?? `vigil-${kid.slice(0, 16)}`,
    keys: [{ kid, created: now.toISOString(), activates: now.toISOString() }],
  };
  writeSecret(stateFile(dir), JSON.stringify(state, null, 2));
  return state;
}

/**
 * Makes a new key: published now, signing after the activation delay. The key signing until
 * then retires once the new one has been active for the retention time.
 */
export async function rotateKeys(dir: string, timing: Timing, now = new Date()): Promise<KeyringState> {
  const state = readKeyring(dir);
  if (!state) throw new KeyringError(`no keyring in ${dir}: start the node once first`);
  const kid = await newKey(dir);
  const activates = new Date(now.getTime() + timing.activationDelayMs);
  const retires = new Date(activates.getTime() + timing.retentionMs).toISOString();
  const keys = state.keys
    .filter((k) => !k.retires || Date.parse(k.retires) > now.getTime())
    .map((k) => (k.retires ? k : { ...k, retires }));
  const next: KeyringState = { ...state, keys: [...keys, { kid, created: now.toISOString(), activates: activates.toISOString() }] };
  writeSecret(stateFile(dir), JSON.stringify(next, null, 2));
  return next;
}

export type PublicJwk = JWK & { kid: string };

/** A loaded keyring: what the node signs with now, and what it publishes. */
export type Keyring = {
  nodeId: string;
  signingKey(now?: Date): Promise<{ kid: string; key: CryptoKey }>;
  /** The same key for node:crypto's synchronous signing: much cheaper per object at ingest. */
  signingKeyObject(now?: Date): { kid: string; key: KeyObject };
  publicKeys(now?: Date): PublicJwk[];
};

function privateJwk(dir: string, kid: string): JWK {
  return JSON.parse(readFileSync(keyFile(dir, kid), 'utf8')) as JWK;
}

/**
 * Reads the keyring from `dir`, and again whenever its file changes (a `vigil keys rotate`
 * while the node runs takes effect without a restart).
 */
export function loadKeyring(dir: string): Keyring {
  // The file is replaced by rename on every change, so its inode tells a new version even when
  // two writes fall within the file system's timestamp granularity.
  let version = '';
  let state: KeyringState | undefined;
  const publics = new Map<string, PublicJwk>();
  const privates = new Map<string, CryptoKey>();
  const keyObjects = new Map<string, KeyObject>();
  const current = (): KeyringState => {
    const st = statSync(stateFile(dir));
    const v = `${st.ino}:${st.mtimeMs}:${st.size}`;
    if (v !== version || !state) {
      state = readKeyring(dir);
      if (!state) throw new KeyringError(`no keyring in ${dir}`);
      version = v;
    }
    return state;
  };
  const publicOf = (kid: string): PublicJwk => {
    let jwk = publics.get(kid);
    if (!jwk) {
      const { kty, crv, x } = privateJwk(dir, kid);
      jwk = { kty: kty!, crv: crv!, x: x!, kid, alg: ALGORITHM, use: 'sig' };
      publics.set(kid, jwk);
    }
    return jwk;
  };
  const activeKid = (now: Date): string => {
    const active = current()
      .keys.filter((k) => Date.parse(k.activates) <= now.getTime() && (!k.retires || Date.parse(k.retires) > now.getTime()))
      .sort((a, b) => Date.parse(b.activates) - Date.parse(a.activates))[0];
    if (!active) throw new KeyringError(`no active signing key in ${dir}`);
    return active.kid;
  };
  return {
    get nodeId() {
      return current().node_id;
    },
    signingKeyObject(now = new Date()) {
      const kid = activeKid(now);
      let key = keyObjects.get(kid);
      if (!key) {
        key = createPrivateKey({ key: privateJwk(dir, kid) as JsonWebKey, format: 'jwk' });
        keyObjects.set(kid, key);
      }
      return { kid, key };
    },
    async signingKey(now = new Date()) {
      const active = { kid: activeKid(now) };
      let key = privates.get(active.kid);
      if (!key) {
        key = (await importJWK(privateJwk(dir, active.kid), ALGORITHM)) as CryptoKey;
        privates.set(active.kid, key);
      }
      return { kid: active.kid, key };
    },
    publicKeys(now = new Date()) {
      return current()
        .keys.filter((k) => !k.retires || Date.parse(k.retires) > now.getTime())
        .map((k) => publicOf(k.kid));
    },
  };
}
