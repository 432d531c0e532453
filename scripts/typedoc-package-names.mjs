// TypeDoc plugin: name each entry point's module after its package ("@switchyard/client")
// instead of its path ("client/src/client").
import { readFileSync } from 'node:fs';
import { Converter, ReflectionKind } from 'typedoc';

export function load(app) {
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (_context, reflection) => {
    if (!reflection.kindOf(ReflectionKind.Module)) return;
    const match = /^([\w.-]+)\/src\/\1$/.exec(reflection.name);
    if (!match) return;
    const manifest = new URL(`../packages/${match[1]}/package.json`, import.meta.url);
    reflection.name = JSON.parse(readFileSync(manifest, 'utf8')).name;
  });
}
