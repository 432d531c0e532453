// Checks what one packed tarball ships: README.md and LICENSE, a manifest whose entry points
// exist in dist/ (types first, no workspace: ranges), and no test-only file: every source under
// src/ that ships is one the build compiled (so a test helper that no entry imports cannot ship).
//   node .ci/check-tarball.mjs <package.tgz>
import { execFileSync } from 'node:child_process';

const tarball = process.argv[2];
const files = new Set(
  execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, '')),
);
const manifest = JSON.parse(
  execFileSync('tar', ['-xOzf', tarball, 'package/package.json'], { encoding: 'utf8' }),
);
const problems = [];

for (const required of ['README.md', 'LICENSE', 'package.json']) {
  if (!files.has(required)) problems.push(`${required} is missing`);
}
const targets = [manifest.main, manifest.types];
for (const [subpath, conditions] of Object.entries(manifest.exports ?? {})) {
  const keys = Object.keys(conditions);
  if (keys[0] !== 'types') problems.push(`exports["${subpath}"]: "types" must come first`);
  targets.push(...Object.values(conditions));
}
if (!manifest.exports) problems.push('no exports');
for (const target of targets) {
  const file = String(target).replace(/^\.\//, '');
  if (!file.startsWith('dist/')) problems.push(`${target} does not point into dist/`);
  else if (!files.has(file)) problems.push(`${target} is not in the tarball`);
}
for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
  for (const [name, range] of Object.entries(manifest[field] ?? {})) {
    if (String(range).startsWith('workspace:')) problems.push(`${field}.${name} is still ${range}`);
  }
}
for (const file of files) {
  if (/\.(test|spec)\.|test-support|(^|\/)(__tests__|fixtures)\//.test(file))
    problems.push(`test-only file ${file}`);
  const source = /^src\/(.+)\.ts$/.exec(file);
  if (source && !files.has(`dist/${source[1]}.js`)) {
    problems.push(`src/${source[1]}.ts ships but no entry point imports it (test-only?)`);
  }
  if (file.endsWith('.js') && file.startsWith('dist/') && !files.has(`${file}.map`))
    problems.push(`${file}.map is missing`);
  if (file.endsWith('.d.ts') && file.startsWith('dist/') && !files.has(`${file}.map`))
    problems.push(`${file}.map is missing`);
}
if (manifest.sideEffects !== false)
  problems.push('sideEffects is not false (say why in the manifest if it must be)');

const dist = [...files].filter((f) => f.startsWith('dist/'));
if (problems.length > 0) {
  console.error(`${manifest.name}: ${problems.length} problem(s) in ${tarball}:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(
  `${manifest.name}@${manifest.version}: ${files.size} files (${dist.length} in dist/), contents ok`,
);
