/**
 * `mlops stack up --no-emulators` as a user runs it, every service its own process: the stack
 * restarts a SIGKILLed service, the environment it prints works when pasted into another shell
 * (another folder, nothing else set), and when the stack itself is SIGKILLed its services stop.
 */
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, waitFor, waitForValue } from '@mlops/testing';
import { repoRoot } from '../src/stack/processes.js';

const tsx = pathToFileURL(join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;
const cli = join(repoRoot, 'cli/src/main.ts');
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The pid each service last reported running as. */
function pids(output: string): Map<string, number> {
  return new Map([...output.matchAll(/stack: ([\w-]+) running as pid (\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

describe('mlops stack up --no-emulators', () => {
  it('restarts a killed service, prints an environment that works elsewhere, and leaves no orphans', async () => {
    const dir = tempDir('mlops-stack-');
    cleanups.push(dir.remove);
    // A relative MLOPS_HOME, resolved against the folder the stack was started in.
    const stack = spawn(
      process.execPath,
      ['--conditions=@mlops/source', '--import', tsx, cli, 'stack', 'up', '--no-emulators'],
      {
        cwd: dir.path,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, MLOPS_HOME: 'state', MLOPS_DASHBOARD_PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    stack.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    stack.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    cleanups.push(() => {
      stack.kill('SIGKILL');
      for (const pid of pids(output).values()) if (alive(pid)) process.kill(pid, 'SIGKILL');
    });

    const exportLine = await waitForValue(
      () => /^ {2}(export .*)$/m.exec(output)?.[1],
      'the printed environment',
      60_000,
    );
    expect(exportLine).toContain(`MLOPS_HOME=${join(dir.path, 'state')}`);
    expect(exportLine).toContain('MLOPS_MODE=local');
    for (const service of ['sales-gen', 'lander', 'transformer', 'trainer'])
      await waitFor(() => output.includes(`"message":"${service} listening"`), `${service} to listen`, 180_000);

    const lander = pids(output).get('lander')!;
    process.kill(lander, 'SIGKILL');
    await waitFor(() => (pids(output).get('lander') ?? lander) !== lander, 'the stack to restart the lander', 60_000);
    expect(output).toMatch(/stack: lander was killed by SIGKILL; restarting it in \d+\.\d s/);
    await waitFor(
      () => output.split('"message":"lander listening"').length > 2,
      'the restarted lander to listen',
      180_000,
    );

    // Another shell: only PATH and HOME, in the repository, the printed line pasted first.
    const status = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        'bash',
        ['-c', `${exportLine} && node --conditions=@mlops/source --import tsx cli/src/main.ts status --json`],
        { cwd: repoRoot, env: { PATH: process.env.PATH, HOME: process.env.HOME } },
        (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout }),
      );
    });
    expect(status.code).toBe(0);
    const { subscriptions } = JSON.parse(status.stdout) as { subscriptions: { subscription: string }[] };
    expect(subscriptions.map((entry) => entry.subscription)).toContain('lander.sales-generated');

    // The stack dies without a chance to stop anything: its services notice and stop themselves.
    const services = [...pids(output).values()];
    expect(services).toHaveLength(7);
    stack.kill('SIGKILL');
    await waitFor(() => services.every((pid) => !alive(pid)), 'every service to stop after the stack died', 60_000);
  }, 600_000);
});
