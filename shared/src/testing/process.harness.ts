import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A process started by {@link startMainProcess}. */
export interface StartedProcess {
  child: ChildProcessWithoutNullStreams;
  /** Everything it printed so far (stdout and stderr). */
  output: () => string;
  /** Its exit code (null after a signal). */
  exited: Promise<number | null>;
}

/**
 * A TypeScript entry point (a service's `src/main.ts`) in its own process through the
 * repository's tsx, as `npx tsx --conditions=@mlops/source <main>` starts it (the workspaces' sources),
 * with only PATH, HOME and the given environment.
 */
export function startMainProcess(main: string, env: Record<string, string>): StartedProcess {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const child = spawn(join(root, 'node_modules/.bin/tsx'), ['--conditions=@mlops/source', main], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** A service's `main.ts` run as its own process, test after test. */
export interface ProcessHarness {
  /** A fresh folder for `MLOPS_HOME`, removed by {@link ProcessHarness.stop}. */
  home(): string;
  /** Start the service with only this environment (see `startMainProcess`); stopped by {@link ProcessHarness.stop}. */
  start(env: Record<string, string>): StartedProcess;
  /** Kill the processes still running and remove the folders (call it after each test). */
  stop(): void;
}

/** A harness for the process of `main`; its folders are named after `prefix`. */
export function processHarness(main: string, prefix: string): ProcessHarness {
  const folders: string[] = [];
  const children: StartedProcess['child'][] = [];
  return {
    home() {
      const folder = mkdtempSync(join(tmpdir(), prefix));
      folders.push(folder);
      return folder;
    },
    start(env) {
      const run = startMainProcess(main, env);
      children.push(run.child);
      return run;
    },
    stop() {
      for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
      for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
    },
  };
}
