import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEV_PII_HMAC_KEY, type Environment } from '@mlops/shared';
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

/** A child process whose output lines are prefixed with its name, like `docker compose up`. */
export function spawnService(name: string, env: Environment, io: CliIo): ChildProcess {
  const child = spawn(process.execPath, serviceArgs(name), {
    cwd: repoRoot,
    env: { ...process.env, ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
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
