#!/usr/bin/env node
// The installed `mlops` command. In a checkout it runs the TypeScript sources through tsx, with the
// workspaces' `@mlops/source` export condition (so @mlops/* resolve to src/ too); in the image, which
// ships no src/ and no tsx, it runs the compiled dist/.
import { existsSync } from 'node:fs';
import { register } from 'node:module';

const source = new URL('../src/main.ts', import.meta.url);
let entry = new URL('../dist/main.js', import.meta.url);
if (existsSync(source)) {
  const tsx = await import('tsx/esm/api').catch(() => null);
  if (tsx) {
    tsx.register();
    // Registered last, so it runs first: every resolution asks for the sources' condition.
    const hook =
      'export async function resolve(specifier, context, next) {' +
      " return next(specifier, { ...context, conditions: ['@mlops/source', ...context.conditions] }); }";
    register(`data:text/javascript,${encodeURIComponent(hook)}`);
    entry = source;
  } else if (!existsSync(entry)) {
    console.error('mlops: tsx is not installed and cli/dist/ is not built: run `npm ci` or `npm run build`');
    process.exit(1);
  }
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2), process.env);
