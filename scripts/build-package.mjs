// Builds the package in the current directory (every package's `build` and `prepack` script):
// TypeScript's own emit of the files reachable from the package's entry points into `dist/`:
// ESM JavaScript with source maps, `.d.ts` with declaration maps. Sources import each other with
// `.ts` extensions; `rewriteRelativeImportExtensions` turns them into `.js` in the output.
//
// The entry points are read from the manifest, so a package only has to follow the pattern:
// `exports["<subpath>"].default` is `./src/<name>.ts` in the workspace and
// `publishConfig.exports["<subpath>"]` is `{ types: ./dist/<name>.d.ts, default: ./dist/<name>.js }`
// (and `publishConfig.main`/`types` repeat the "." entry).
// Only what the entries import is emitted: tests and test helpers never reach `dist/`.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const packageDir = process.cwd();
const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
const name = manifest.name ?? packageDir;

function fail(message) {
  console.error(`${name}: ${message}`);
  process.exit(1);
}

/** `./src/x.ts` for every subpath of `exports`, checked against `publishConfig.exports`. */
function entryPoints() {
  const source = manifest.exports ?? {};
  const published = manifest.publishConfig?.exports ?? {};
  const entries = [];
  for (const [subpath, target] of Object.entries(source)) {
    const file = typeof target === 'string' ? target : target?.default;
    const match = /^\.\/src\/(.+)\.ts$/.exec(file ?? '');
    if (!match) fail(`exports["${subpath}"] must point at ./src/<name>.ts (found ${JSON.stringify(target)})`);
    const expected = { types: `./dist/${match[1]}.d.ts`, default: `./dist/${match[1]}.js` };
    if (JSON.stringify(published[subpath]) !== JSON.stringify(expected)) {
      fail(`publishConfig.exports["${subpath}"] must be ${JSON.stringify(expected)} (types first)`);
    }
    entries.push(join(packageDir, file));
  }
  if (Object.keys(published).length !== entries.length) {
    fail('publishConfig.exports must list the same subpaths as exports');
  }
  if (entries.length === 0) fail('exports names no entry point');
  // `main` and `types` for resolvers that predate `exports` (TypeScript's `node10`).
  const dot = published['.'];
  if (dot && (manifest.publishConfig.main !== dot.default || manifest.publishConfig.types !== dot.types)) {
    fail(`publishConfig.main and publishConfig.types must be ${dot.default} and ${dot.types}`);
  }
  for (const entry of entries)
    if (!existsSync(entry)) fail(`entry ${relative(packageDir, entry)} is missing`);
  return entries;
}

const configFile = join(root, 'tsconfig.build.json');
const { config, error } = ts.readConfigFile(configFile, ts.sys.readFile);
if (error) fail(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
const parsed = ts.parseJsonConfigFileContent(config, ts.sys, root, undefined, configFile);
const options = {
  ...parsed.options,
  rootDir: join(packageDir, 'src'),
  outDir: join(packageDir, 'dist'),
};

const entries = entryPoints();
rmSync(options.outDir, { recursive: true, force: true });
const program = ts.createProgram({ rootNames: entries, options });
// Declarations keep the sources' `.ts` specifiers; rewrite them as the JavaScript is rewritten, so
// every resolver (not only TypeScript's `.ts` → `.d.ts` substitution) finds the files. Same length,
// so the declaration maps stay exact.
const relativeTsSpecifier = /(\bfrom\s*|\bimport\s*\(\s*)(['"])(\.\.?\/[^'"]*)\.ts\2/g;
const writeFile = (file, text, bom) => {
  const out = file.endsWith('.d.ts') ? text.replace(relativeTsSpecifier, '$1$2$3.js$2') : text;
  ts.sys.writeFile(file, out, bom);
};
const emitted = program.emit(undefined, writeFile);
const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
if (diagnostics.length > 0) {
  const host = {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => packageDir,
    getNewLine: () => '\n',
  };
  console.error(ts.formatDiagnosticsWithColorAndContext(diagnostics, host));
  fail(`build failed with ${diagnostics.length} error(s)`);
}
const written = emitted.emittedFiles ?? [];
const outside = written.filter((f) => relative(options.outDir, f).startsWith('..'));
if (outside.length > 0) fail(`emitted outside dist/: ${outside.join(', ')}`);
console.log(
  `${name}: ${written.length} files in dist/ from ${entries.map((e) => relative(packageDir, e)).join(', ')}`,
);
