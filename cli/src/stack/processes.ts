import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEV_PII_HMAC_KEY, type Environment } from '@mlops/kernel';
import type { CliIo } from '../io.js';

/** The repository root (the CLI lives in cli/src). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Every service process of the topology, as docker-compose.yml runs them. */
export const SERVICE_PROCESSES = [
  'sales-gen',
  'click-gen',
  'startup-gen',
  'lander',
  'transformer',
  'trainer',
  'dashboard',
] as const;

/**
 * The node arguments that start a service the way this CLI runs: its compiled dist/main.js from the
 * built CLI (the image), its TypeScript src/main.ts through tsx from the sources (a checkout).
 */
export function serviceArgs(name: string, compiled = import.meta.url.endsWith('.js')): string[] {
  return compiled
    ? [join(repoRoot, 'services', name, 'dist', 'main.js')]
    : ['--conditions=@mlops/source', '--import', 'tsx', join(repoRoot, 'services', name, 'src', 'main.ts')];
}

// Preloaded into each service (compiled beside this module, or its TypeScript source).
const here = fileURLToPath(import.meta.url);
const orphanGuard = pathToFileURL(join(dirname(here), `orphan-guard${here.endsWith('.js') ? '.js' : '.ts'}`)).href;

/**
 * A child process whose output lines are prefixed with its name, like `docker compose up`. Its
 * stdin is a pipe from this process: it stops when this process goes away (`orphan-guard.ts`).
 */
export function spawnService(name: string, env: Environment, io: CliIo): ChildProcess {
  const args = serviceArgs(name);
  args.splice(args.length - 1, 0, '--import', orphanGuard);
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, ...env } as NodeJS.ProcessEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const prefix = `${name.padEnd(12)}|`;
  let pending = '';
  const forward = (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) io.out(`${prefix} ${line}`);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  return child;
}

/** The environment the service processes share in the emulator topology. */
export function emulatorEnvironment(base: Environment, hosts: { pubsub: string; firestore: string }): Environment {
  return {
    ...base,
    MLOPS_MODE: 'emulator',
    PUBSUB_EMULATOR_HOST: hosts.pubsub,
    FIRESTORE_EMULATOR_HOST: hosts.firestore,
    GOOGLE_CLOUD_PROJECT: base.GOOGLE_CLOUD_PROJECT ?? 'mlops-local',
    // The emulator mode insists on an explicit key; on a laptop the development key is fine.
    MLOPS_PII_HMAC_KEY: base.MLOPS_PII_HMAC_KEY ?? DEV_PII_HMAC_KEY,
  };
}

/** Settings that name a local path: made absolute, so every process and shell means the same files. */
const PATH_SETTINGS = ['MLOPS_HOME', 'MLOPS_LAKE', 'MLOPS_WAREHOUSE_PATH', 'MLOPS_BUS_PATH', 'MLOPS_DOCUMENTS_PATH'];

/**
 * The environment every process of the stack shares: the caller's, with `MLOPS_HOME` (default
 * `.mlops`) and the other local paths absolute, and `MLOPS_MODE` explicit.
 */
export function stackEnvironment(base: Environment, cwd: string = process.cwd()): Environment {
  const env: Record<string, string | undefined> = { ...base, MLOPS_HOME: base.MLOPS_HOME?.trim() || '.mlops' };
  for (const name of PATH_SETTINGS) {
    const value = env[name]?.trim();
    if (value && !value.startsWith('gs://') && !isAbsolute(value)) env[name] = resolve(cwd, value);
  }
  env.MLOPS_MODE = base.MLOPS_MODE?.trim() || 'local';
  return env;
}

/** Whether a variable is one the next `mlops` command must see to reach the same stack. */
function isStackSetting(name: string): boolean {
  return (
    name.startsWith('MLOPS_') ||
    name.endsWith('_EMULATOR_HOST') ||
    name === 'GOOGLE_CLOUD_PROJECT' ||
    name === 'GCLOUD_PROJECT' ||
    name === 'DATAFORM_REPOSITORY'
  );
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

/**
 * One `export ...` line with every setting of the stack's environment: pasted into another shell,
 * the next `mlops` command reaches the same state, bus and emulators.
 */
export function exportLine(env: Environment): string {
  const settings = Object.entries(env)
    .filter((entry): entry is [string, string] => isStackSetting(entry[0]) && entry[1] !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  return `export ${settings.map(([name, value]) => `${name}=${shellQuote(value)}`).join(' ')}`;
}
