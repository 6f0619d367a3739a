import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

async function sourceFiles(folder: string, extension: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(path, extension)));
    else if (entry.name.endsWith(extension) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/**
 * `<name>@<package version>+<first 12 hex of the SHA-256 of the code that runs>` for the package
 * whose module `moduleUrl` sits at the root of its src/ (or dist/): its `.ts` files from src/, its
 * `.js` from dist/ (whose `.d.ts` files do not run), then `extra` (the code versions it builds on).
 * Two builds that could behave differently never share one.
 */
export async function sourceCodeVersion(
  name: string,
  moduleUrl: string,
  extra: readonly string[] = [],
): Promise<string> {
  const root = fileURLToPath(new URL('.', moduleUrl));
  const extension = moduleUrl.endsWith('.js') ? '.js' : '.ts';
  const hash = createHash('sha256');
  for (const file of (await sourceFiles(root, extension)).sort()) {
    hash
      .update(relative(root, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  }
  for (const part of extra) hash.update(part);
  const packageJson = fileURLToPath(new URL('../package.json', moduleUrl));
  const version = (JSON.parse(await readFile(packageJson, 'utf8')) as { version?: string }).version ?? '0.0.0';
  return `${name}@${version}+${hash.digest('hex').slice(0, 12)}`;
}

/** The GBDT's code version (the kernels' bytes are in a generated `.ts`, so they count too). */
export function gbdtCodeVersion(): Promise<string> {
  return sourceCodeVersion('gbdt', import.meta.url);
}
