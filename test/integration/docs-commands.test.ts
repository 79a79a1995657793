import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testSchema } from '../support/node.ts';
import { freePort, nodeProcess } from '../support/node-process.ts';
import type { NodeProcess } from '../support/node-process.ts';
import { seedPGlite } from '../support/pglite-template.ts';
import { writeCurlShim, writeNpxShim } from '../support/curl-shim.ts';
import { shellSession } from '../support/shell-session.ts';
import type { SnippetResult } from '../support/shell-session.ts';

// Issue 16, "Docs a user can navigate": every command in the docs is run. Each ```sh (bash,
// shell) block of README.md and docs/*.md runs, file by file in document order, in one bash
// session per file, as a reader pasting them into a terminal in the node's directory would:
// variables carry over from block to block, and nothing is filled in by the test. The node is
// started as the README says (npm start's command, in a directory of its own, whose ./data the
// shell's directory shares); it listens on a free port, and the shell's curl and Node processes
// reach it when they connect to 127.0.0.1:8000 (docs-port.mjs, curl --connect-to). A block must
// exit 0 with nothing on stderr (the session's ERR trap reports any failing command there), and
// where the text states an outcome, the test checks it on the block's output.
//
// A block that cannot run here is preceded by `<!-- docs-test: not run: <why> -->`; NOT_RUN
// lists every such block, so a new one fails this test until it is listed with its reason.

const REPO = path.resolve(new URL('../..', import.meta.url).pathname);
const pgUrl = process.env.TEST_DATABASE_URL;

const MARKER = /^<!-- docs-test: not run: (.+?) -->$/;
const SHELL = new Set(['sh', 'bash', 'shell']);

type Block = { file: string; line: number; code: string; notRun?: string };

/** The shell blocks of a markdown file, in order, with the reason given when one is not run. */
function shellBlocks(file: string): Block[] {
  const lines = readFileSync(path.join(REPO, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    if (end < 0) throw new Error(`${file}:${i + 1}: a code block that does not end`);
    if (SHELL.has(open[1]!)) {
      const before = lines.slice(0, i).findLast((l) => l.trim() !== '');
      const notRun = before ? MARKER.exec(before.trim())?.[1] : undefined;
      blocks.push({ file, line: i + 1, code: lines.slice(i + 1, end).join('\n'), ...(notRun ? { notRun } : {}) });
    }
    i = end;
  }
  // A marker must sit right before a shell block: anywhere else it excludes nothing.
  const markers = lines.filter((l) => l.trim().startsWith('<!-- docs-test:')).length;
  const used = blocks.filter((b) => b.notRun).length;
  if (markers !== used) throw new Error(`${file}: ${markers - used} docs-test marker(s) not right before a shell block`);
  return blocks;
}

const FILES = [
  'README.md',
  ...readdirSync(path.join(REPO, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

/** Blocks not run, by file and first line, with why (the marker says the same). */
const NOT_RUN: Record<string, string> = {
  'README.md: npm install && npm start': 'installs and serves in the foreground: this test starts the node with npm start’s command',
  'README.md: npm test': 'the whole suite, which holds this test',
  'docs/early-warning.md: curl -N -H "Authorization: Bearer $HOSPITAL_TOKEN" -H \'Last-Event-ID: 1042\' "$VIGIL_URL/alerts/stream"':
    'a stream that does not end; alerts-stream.test.ts reads it',
  'docs/early-warning.md: npx vigil --url https://cti.example.org alert verify alert.json --signature "$VIGIL_SIGNATURE"':
    'needs an alert a webhook received; cli-alerts.test.ts runs vigil alert verify',
  'docs/operating.md: export DATABASE_URL=postgres://vigil:secret@db.example.org:5432/vigil': 'a PostgreSQL server elsewhere',
  'docs/operating.md: docker compose up --build --wait': 'needs a Docker engine; compose-walkthrough.test.ts runs it under emulation',
  'docs/operating.md: pg_dump --format=custom --file=vigil.dump "$DATABASE_URL"': 'a PostgreSQL server elsewhere, every replica stopped',
  'docs/operating.md: tar -czf vigil-data.tar.gz data': 'needs the node stopped',
  'docs/operating.md: git pull && npm ci          # or unpack the new release': 'replaces the installed release',
};

/**
 * Outcomes the text states, checked on the output of the block that holds `holding` (a line of
 * it). Every entry must find its block.
 */
const OUTCOMES: { file: string; holding: string; check(r: SnippetResult): void }[] = [
  {
    file: 'README.md',
    holding: 'submit examples/bundle.json --collection "$COL"',
    check: ({ stdout }) => {
      // Three stored, the fourth refused with the reason (its pattern misses a bracket); exit 1.
      expect(stdout).toContain('accepted 3, already present 0, rejected 1');
      expect(stdout).toMatch(/objects\[3\] indicator--7d4a1c9e-2b6f-4a3d-9e8c-0b5f7a1d3c46: pattern: syntax error/);
      expect(stdout).toContain('exit code 1');
      // curl's status: the three again (already present), the fourth failing.
      expect(stdout).toContain('{"status":"complete","success_count":3,"failure_count":1}');
      // The poll returns the three; what came after the last of them is nothing: {}.
      const lines = stdout.trim().split('\n');
      expect(lines.filter((l) => /^(indicator|malware|relationship|identity|attack-pattern)--/.test(l))).toHaveLength(3);
      expect(lines.at(-1)).toBe('{}');
    },
  },
  {
    file: 'docs/siem.md',
    holding: 'poll() {',
    check: ({ stdout }) => {
      expect(stdout).toContain('"can_read":true');
      expect(stdout.trim().split('\n').at(-1)!.trim()).toBe('1'); // the GREEN indicator, once
    },
  },
  {
    file: 'docs/tlp.md',
    holding: 'npx vigil collection withheld "$COL"',
    check: ({ stdout }) => {
      expect(stdout).toContain('withheld until marking-definition marking-definition--8a1f6b2c-3d4e-4f5a-9b6c-7d8e9f0a1b2c is known');
      expect(stdout).toMatch(/indicator--5e0c3a8d-5b54-4f3c-9a70-1c2b3d4e5f60 +\S+ +unresolved-marking/);
      expect(stdout).toContain('(nobody)');
    },
  },
  {
    file: 'docs/early-warning.md',
    holding: 'alert deliveries "$SUB" --state dead',
    check: ({ stdout }) => {
      // The ransomware indicator matched the first subscription: one alert, tried, not dead yet.
      expect(stdout).toContain('exit code 1: the fourth object is refused');
      expect(stdout).toMatch(/ #1 +pending +1 objects /);
      if (stdout.includes('last error')) expect(stdout).toContain('last error: ENOTFOUND');
      expect(stdout.trim().split('\n').at(-1)).toBe('(none)');
    },
  },
  {
    file: 'docs/federation.md',
    holding: 'npx vigil trustlist verify',
    check: ({ stdout }) => expect(stdout).toMatch(/eu-health: valid until \S+\n +vigil-\S+ +2 key\(s\)/), // the rotated key, and the key before it
  },
  {
    file: 'docs/federation.md',
    holding: 'npx vigil source list',
    check: ({ stdout }) => expect(stdout).toContain('node-fr'),
  },
  {
    file: 'docs/sightings.md',
    holding: 'sighting report --value 198.51.100.77',
    check: ({ stdout }) => {
      // Once by curl, once by vigil: the example bundle's indicator, which the hospital may read.
      expect(stdout.match(/recorded a sighting of indicator--/g)).toHaveLength(2);
    },
  },
  {
    file: 'docs/sightings.md',
    holding: '198.51.100.250',
    check: ({ stdout }) => {
      // A batch: the example bundle's address recorded, an address no indicator holds failing alone.
      expect(stdout).toMatch(/^\[0,"success","recorded a sighting of indicator--[0-9a-f-]{36}"\]$/m);
      expect(stdout).toContain('[1,"failure","no indicator you may read matches this value"]');
    },
  },
  {
    file: 'docs/cli.md',
    holding: 'npx vigil validate examples/bundle.json',
    check: ({ stdout }) => {
      expect(stdout).toContain('4 objects, 3 valid, 1 invalid');
      expect(stdout).toContain('exit code 1');
      expect(stdout).toMatch(/polled 1 objects[\s\S]*polled 0 objects/);
    },
  },
  {
    file: 'docs/feeds.md',
    holding: 'url.txt?scheme=omit',
    check: ({ stdout }) => {
      // The GREEN feed client's lists: no RED address, no address whose pattern needs a port too.
      expect(stdout).toBe('198.51.100.77\n203.0.113.0/24\nwebmail-login.example.com\nwebmail-login.example.com/owa/auth.php?id=7,8\n');
    },
  },
  {
    file: 'docs/feeds.md',
    holding: 'feed urls --collection',
    check: ({ stdout }) => {
      expect(stdout).toMatch(
        /^Perimeter block list \([0-9a-f-]{36}\)\n {2}ipv4 +http:\/\/127\.0\.0\.1:\d+\/feeds\/[0-9a-f-]{36}\/ipv4\.txt$/m,
      );
      expect(stdout).toContain('?token=<your feed token>');
    },
  },
  {
    file: 'docs/feeds.md',
    holding: 'If-None-Match: $ETAG',
    check: ({ stdout }) => expect(stdout.trim()).toBe('304'),
  },
  {
    file: 'docs/feeds.md',
    holding: 'indicators.csv"',
    check: ({ stdout }) => {
      expect(stdout.startsWith('value,type,indicator_id,confidence,tlp,valid_until\r\n')).toBe(true);
      expect(stdout).toContain(
        '"https://webmail-login.example.com/owa/auth.php?id=7,8",url,indicator--3a9d6f1c-7e2b-4c5d-8f0a-1b4e7c9d2f36,70,GREEN,\r\n',
      );
    },
  },
  {
    file: 'docs/operating.md',
    holding: 'http://127.0.0.1:8000/healthz',
    check: ({ stdout }) => {
      expect(stdout).toContain('{"status":"ok"}');
      expect(stdout).toContain('{"status":"ready"}');
      expect(stdout).toMatch(/^vigil_process_process_resident_memory_bytes \d+/m);
    },
  },
];

/** GitHub's anchors of a markdown file's headings (lowercased, punctuation dropped, spaces to -; repeats get -1, -2…). */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of readFileSync(path.join(REPO, file), 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const h = fenced ? null : /^#{1,6} (.+)$/.exec(line);
    if (!h) continue;
    const slug = h[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replaceAll(' ', '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n ? `${slug}-${n}` : slug);
  }
  return out;
}

const blocks = Object.fromEntries(FILES.map((f) => [f, shellBlocks(f)]));
const key = (b: Block) => `${b.file}: ${b.code.split('\n')[0]}`;

describe(`the docs' shell blocks, run against a node (${pgUrl ? 'PostgreSQL' : 'PGlite'})`, () => {
  let node: NodeProcess;
  let root: string;
  let dropSchema: (() => Promise<void>) | undefined;
  const shellEnv: Record<string, string> = {};

  it('lists every block that is not run, with the reason the docs give', () => {
    const notRun = Object.values(blocks)
      .flat()
      .filter((b) => b.notRun);
    expect(notRun.map(key).sort()).toEqual(Object.keys(NOT_RUN).sort());
    for (const b of notRun) expect(b.notRun!.length, key(b)).toBeGreaterThan(10);
    // Most blocks run: the guides are more than their exceptions.
    expect(
      Object.values(blocks)
        .flat()
        .filter((b) => !b.notRun).length,
    ).toBeGreaterThanOrEqual(15);
  });

  it("runs `npx vigil` as npm's own npx does (the shell's npx skips only npm's start-up)", () => {
    const bin = mkdtempSync(path.join(tmpdir(), 'vigil-npx-'));
    try {
      writeNpxShim(bin, REPO);
      const real = spawnSync('npx', ['vigil', '--help'], { cwd: REPO, encoding: 'utf8' });
      const shim = spawnSync(path.join(bin, 'npx'), ['vigil', '--help'], { cwd: REPO, encoding: 'utf8' });
      expect(real.status).toBe(0);
      expect(shim.stdout).toBe(real.stdout);
      expect(shim.status).toBe(0);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('links only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const file of FILES) {
      const text = readFileSync(path.join(REPO, file), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?|mailto):/.test(target!)) continue;
        const [ref, anchor] = target!.split('#') as [string, string | undefined];
        const linked = ref ? path.relative(REPO, path.resolve(REPO, path.dirname(file), ref)) : file;
        if (!existsSync(path.join(REPO, linked))) broken.push(`${file}: ${target} (no such file)`);
        else if (anchor && linked.endsWith('.md') && !anchors(linked).has(anchor)) broken.push(`${file}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'vigil-docs-'));
    // The node, as `npm start` in a directory of its own: ./data made at first start.
    const home = path.join(root, 'node');
    mkdirSync(home);
    const port = await freePort();
    const env: Record<string, string> = { PORT: String(port), LOG_LEVEL: 'warn' };
    if (pgUrl) {
      const schema = await testSchema(pgUrl);
      env.DATABASE_URL = schema.url;
      dropSchema = schema.drop;
    } else seedPGlite(path.join(home, 'data', 'pgdata')); // the suite's migrated template: speed only
    node = nodeProcess('docs', port, env, { cwd: home, exactEnv: true });
    await node.start(120_000);

    // The shell's curl and Node processes reach the node where the docs say it is.
    const bin = path.join(root, 'bin');
    const to = `127.0.0.1:${port}`;
    writeCurlShim(bin, [`127.0.0.1:8000:${to}`, `localhost:8000:${to}`]);
    writeNpxShim(bin, REPO);
    Object.assign(shellEnv, {
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? root,
      LANG: 'C.UTF-8',
      NODE_OPTIONS: `--import=${path.join(REPO, 'test/support/docs-port.mjs')}`,
      VIGIL_DOCS_PORT: String(port),
    });
  }, 150_000);

  afterAll(async () => {
    await node?.stop();
    await dropSchema?.();
    if (root) rmSync(root, { recursive: true, force: true });
  }, 30_000);

  /** The reader's directory for one guide: the repository's files, and the node's ./data. */
  async function readerDirectory(file: string): Promise<string> {
    const dir = path.join(root, file.replace(/[/.]/g, '-'));
    mkdirSync(dir);
    for (const entry of readdirSync(REPO)) {
      if (entry === '.git' || entry === 'data') continue;
      symlinkSync(path.join(REPO, entry), path.join(dir, entry));
    }
    symlinkSync(path.join(root, 'node', 'data'), path.join(dir, 'data'));
    if (file === 'docs/federation.md') {
      // What node-fr's operators sent out of band: the JWKS their node serves.
      const { publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const jwk = await exportJWK(publicKey);
      const kid = await calculateJwkThumbprint(jwk, 'sha256');
      writeFileSync(path.join(dir, 'node-fr-jwks.json'), JSON.stringify({ keys: [{ ...jwk, kid, alg: 'EdDSA', use: 'sig' }] }));
    }
    return dir;
  }

  // A guide without shell blocks (console.md, development.md) has nothing to run.
  for (const file of FILES.filter((f) => blocks[f]!.some((b) => !b.notRun))) {
    const toRun = blocks[file]!.filter((b) => !b.notRun);
    it(`${file}: ${toRun.length} block(s), in order, each succeeding`, async () => {
      const shell = shellSession({ cwd: await readerDirectory(file), env: shellEnv });
      const outcomes = OUTCOMES.filter((o) => o.file === file);
      for (const o of outcomes) expect(toRun.filter((b) => b.code.includes(o.holding)).length, `${file}: ${o.holding}`).toBe(1);
      try {
        for (const b of toRun) {
          const r = await shell.run(b.code, 120_000);
          expect(
            { code: r.code, stderr: r.stderr },
            `${file}:${b.line}\n${b.code}\n--- stdout:\n${r.stdout}\n--- node:\n${node.output()}`,
          ).toEqual({
            code: 0,
            stderr: '',
          });
          for (const o of outcomes.filter((x) => b.code.includes(x.holding))) o.check(r);
        }
      } finally {
        await shell.close();
      }
    }, 180_000);
  }
});
