// Every installed @switchyard package loads in plain Node through import and through require(),
// and both give the same named exports.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const names = Object.keys(manifest.dependencies).filter((name) => name.startsWith('@switchyard/'));
let failed = 0;
for (const name of names.sort()) {
  try {
    const imported = Object.keys(await import(name)).sort();
    const required = Object.keys(require(name)).sort();
    if (imported.join() !== required.join()) throw new Error('import and require() disagree on exports');
    if (imported.length === 0) throw new Error('no exports');
    console.log(`  ${name}: ${imported.length} exports, same through import and require()`);
  } catch (error) {
    failed++;
    console.error(`  ${name}: ${error.stack ?? error}`);
  }
}
console.log(`every package: ${names.length - failed} of ${names.length} load`);
process.exitCode = failed === 0 ? 0 : 1;
