/**
 * Supervision of the stack's service processes, as a container orchestrator would: a process that
 * exits while the stack runs is started again after a backoff (doubling from `minBackoffMs` with
 * every recent crash, up to `maxBackoffMs`), each time with a log line; one that crashes
 * `maxCrashes` times within `windowMs` is given up on with a clear message. `stop` ends every
 * process (SIGTERM, then SIGKILL after `killAfterMs`) and waits for them.
 */
import type { ChildProcess } from 'node:child_process';

/** Options of {@link Supervisor}. */
export interface SupervisorOptions {
  /** Start one named process. */
  spawn(name: string): ChildProcess;
  /** One line per restart, give-up and stop. */
  log(line: string): void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Crashes within `windowMs` after which a process is given up on (default 5 in 60 s). */
  maxCrashes?: number;
  windowMs?: number;
  /** Grace between SIGTERM and SIGKILL when stopping (default 10 s). */
  killAfterMs?: number;
}

interface Supervised {
  readonly name: string;
  child: ChildProcess | undefined;
  crashes: number[];
  restarts: number;
  timer: NodeJS.Timeout | undefined;
  gaveUp: boolean;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

/** Keeps a set of named processes running (see the module comment). */
export class Supervisor {
  private readonly processes = new Map<string, Supervised>();
  private stopping = false;
  private allGaveUp!: () => void;
  /** Resolves when every process has been given up on. */
  readonly gaveUp = new Promise<void>((resolve) => (this.allGaveUp = resolve));

  constructor(private readonly options: SupervisorOptions) {}

  /** Start the processes. */
  start(names: readonly string[]): void {
    for (const name of names) {
      const supervised: Supervised = {
        name,
        child: undefined,
        crashes: [],
        restarts: 0,
        timer: undefined,
        gaveUp: false,
      };
      this.processes.set(name, supervised);
      this.launch(supervised);
    }
  }

  /** The process currently running under a name (for tests and diagnostics). */
  child(name: string): ChildProcess | undefined {
    return this.processes.get(name)?.child;
  }

  /** How often a process has been started again. */
  restarts(name: string): number {
    return this.processes.get(name)?.restarts ?? 0;
  }

  private launch(supervised: Supervised): void {
    const child = this.options.spawn(supervised.name);
    supervised.child = child;
    if (child.pid !== undefined) this.options.log(`stack: ${supervised.name} running as pid ${child.pid}`);
    child.once('exit', (code, signal) => this.exited(supervised, child, code, signal));
    // A process that cannot even be started (no such executable) exits through 'error' only.
    child.once('error', (error) => {
      if (child.exitCode === null && child.signalCode === null && child.pid === undefined)
        this.exited(supervised, child, null, null, error.message);
    });
  }

  private exited(
    supervised: Supervised,
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
    reason?: string,
  ): void {
    if (supervised.child !== child) return;
    supervised.child = undefined;
    if (this.stopping) return;
    const now = Date.now();
    const windowMs = this.options.windowMs ?? 60_000;
    supervised.crashes = [...supervised.crashes.filter((at) => now - at < windowMs), now];
    const why = reason ?? describeExit(code, signal);
    const maxCrashes = this.options.maxCrashes ?? 5;
    if (supervised.crashes.length >= maxCrashes) {
      supervised.gaveUp = true;
      this.options.log(
        `stack: ${supervised.name} ${why}, ${maxCrashes} exits within ${Math.round(windowMs / 1000)} s; giving up on it (its log lines above say why)`,
      );
      if ([...this.processes.values()].every((other) => other.gaveUp)) this.allGaveUp();
      return;
    }
    const delay = Math.min(
      this.options.maxBackoffMs ?? 10_000,
      (this.options.minBackoffMs ?? 500) * 2 ** (supervised.crashes.length - 1),
    );
    this.options.log(
      `stack: ${supervised.name} ${why}; restarting it in ${(delay / 1000).toFixed(1)} s (${supervised.crashes.length} exit(s) in the last ${Math.round(windowMs / 1000)} s)`,
    );
    supervised.timer = setTimeout(() => {
      supervised.timer = undefined;
      if (this.stopping) return;
      supervised.restarts += 1;
      this.launch(supervised);
    }, delay);
  }

  /** Stop every process and wait until each has exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    const killAfterMs = this.options.killAfterMs ?? 10_000;
    await Promise.all(
      [...this.processes.values()].map((supervised) => {
        clearTimeout(supervised.timer);
        const child = supervised.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return undefined;
        return new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
          timer.unref();
        });
      }),
    );
  }
}
