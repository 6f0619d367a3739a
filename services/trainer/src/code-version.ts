/**
 * The trainer's code version: the package version plus a hash of the code that runs (the
 * TypeScript sources, or the compiled JavaScript in the image), so two builds that could train
 * differently never share a fingerprint (and a registry version).
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE_ROOT = fileURLToPath(new URL('.', import.meta.url));
const PACKAGE_JSON = fileURLToPath(new URL('../package.json', import.meta.url));
/** `.ts` from src/, `.js` from dist/ (whose `.d.ts` files do not run). */
const CODE_EXTENSION = import.meta.url.endsWith('.js') ? '.js' : '.ts';

async function sourceFiles(folder: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith(CODE_EXTENSION) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** `trainer@<package version>+<first 12 hex of the sources' SHA-256>`. */
export async function trainerCodeVersion(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of (await sourceFiles(SOURCE_ROOT)).sort()) {
    hash
      .update(relative(SOURCE_ROOT, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  }
  const version = (JSON.parse(await readFile(PACKAGE_JSON, 'utf8')) as { version?: string }).version ?? '0.0.0';
  return `trainer@${version}+${hash.digest('hex').slice(0, 12)}`;
}
