import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// npm run vendor:scalar -- <version>: rewrites vendor/scalar/ from the npm package's tarball, so
// /docs serves Scalar's browser bundle without the package's 250-odd runtime dependencies. Run by
// hand when upgrading Scalar; never at install or test time. Review the diff of source.json.

const PACKAGE = '@scalar/api-reference';
const FILE = 'dist/browser/standalone.js';
/** The monorepo's licence: api-reference ships none in its tarball, its sibling packages do. */
const LICENCE_FALLBACK = '@scalar/api-client';
const out = fileURLToPath(new URL('../vendor/scalar/', import.meta.url));

const version = process.argv[2];
if (!version || !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) {
  console.error('usage: npm run vendor:scalar -- <exact version, e.g. 1.72.1>');
  process.exit(2);
}

const tmp = mkdtempSync(path.join(tmpdir(), 'vigil-scalar-'));
try {
  /** Unpacks `spec`'s tarball into its own folder and returns that folder's package/ path. */
  const unpack = (spec: string, members: string[]): string => {
    const dir = mkdtempSync(path.join(tmp, 'pkg-'));
    const [packed] = JSON.parse(execFileSync('npm', ['pack', spec, '--json', '--pack-destination', dir], { encoding: 'utf8' }));
    const tarball = path.join(dir, packed.filename);
    const listed = new Set(execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n'));
    const wanted = members.map((m) => `package/${m}`).filter((m) => listed.has(m));
    execFileSync('tar', ['-xzf', tarball, '-C', dir, ...wanted]);
    return path.join(dir, 'package');
  };

  const pkgDir = unpack(`${PACKAGE}@${version}`, ['package.json', FILE, 'LICENSE']);
  const manifest = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  if (manifest.name !== PACKAGE || manifest.version !== version)
    throw new Error(`npm pack gave ${manifest.name}@${manifest.version}, not ${PACKAGE}@${version}`);
  // A change of licence needs a person to read it before the file is redistributed.
  if (manifest.license !== 'MIT') throw new Error(`${PACKAGE}@${version} is licensed ${manifest.license}, not MIT`);
  if (!existsSync(path.join(pkgDir, FILE))) throw new Error(`${PACKAGE}@${version} has no ${FILE}`);

  let licenceFrom = `${PACKAGE}@${version}`;
  let licenceDir = pkgDir;
  if (!existsSync(path.join(pkgDir, 'LICENSE'))) {
    const sibling = manifest.dependencies?.[LICENCE_FALLBACK];
    if (!sibling) throw new Error(`${PACKAGE}@${version} has no LICENSE and no ${LICENCE_FALLBACK} dependency to take it from`);
    licenceFrom = `${LICENCE_FALLBACK}@${sibling}`;
    licenceDir = unpack(licenceFrom, ['LICENSE']);
    if (!existsSync(path.join(licenceDir, 'LICENSE'))) throw new Error(`neither ${PACKAGE}@${version} nor ${licenceFrom} has a LICENSE`);
  }

  const bundle = readFileSync(path.join(pkgDir, FILE));
  const source = {
    package: PACKAGE,
    version,
    file: FILE,
    sha256: createHash('sha256').update(bundle).digest('hex'),
    licence: `MIT, LICENSE from ${licenceFrom}`,
  };
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'standalone.js'), bundle);
  writeFileSync(path.join(out, 'LICENSE'), readFileSync(path.join(licenceDir, 'LICENSE')));
  writeFileSync(path.join(out, 'source.json'), `${JSON.stringify(source, null, 2)}\n`);
  writeFileSync(path.join(out, 'README.md'), readme(source));
  console.log(`wrote ${PACKAGE}@${version} ${FILE} (${bundle.length} bytes, sha256 ${source.sha256}) into ${out}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

function readme(s: { package: string; version: string; file: string; sha256: string; licence: string }): string {
  return `# Scalar's browser bundle, vendored

- Package: \`${s.package}\`, version ${s.version}, from the npm registry
- File: \`${s.file}\`, unchanged, as \`standalone.js\`
- SHA-256: \`${s.sha256}\`
- Licence: ${s.licence}

Vigil serves \`standalone.js\` at \`/docs/scalar.js\` for the API reference page at \`/docs\`
(\`src/http/api-docs.ts\`), so the page works offline without the package and its dependencies
installed on every node. \`/docs\` reads the version from \`source.json\` to name the bundle in its
URL, which browsers cache for a year. Scalar's packages share one MIT licence; the libraries compiled
into the bundle keep the licence comments Scalar's build left in it.

Update: \`npm run vendor:scalar -- <version>\` packs that exact version from the npm registry, checks
its name, version and licence, and rewrites this folder, this README included. Then run
\`npx vitest run test/browser/docs.test.ts test/integration/openapi.test.ts\`.
`;
}
