/**
 * Time each step of a pipeline run in this process: every task's component is wrapped so its
 * invocation reports its wall time and the process's CPU time (DuckDB's threads included). The
 * profiles of the trainer (bench/model, bench/start) use it.
 */

/** One step's times. */
export interface StepTiming {
  name: string;
  wallS: number;
  cpuS: number;
}

/**
 * Wrap the components of `pipeline`'s tasks: `start` runs before each invocation (its result is
 * handed back), `done` after it, with the step's times.
 */
export function timeSteps<Started>(
  pipeline: { tasks: Record<string, { component: unknown }> },
  start: () => Started,
  done: (step: StepTiming, started: Started) => void,
): void {
  for (const spec of Object.values(pipeline.tasks)) {
    const component = spec.component as { name: string; invoke: (...args: unknown[]) => Promise<unknown> };
    const invoke = component.invoke.bind(component);
    component.invoke = async (...args: unknown[]) => {
      const started = start();
      const cpu = process.cpuUsage();
      const at = performance.now();
      try {
        return await invoke(...args);
      } finally {
        const used = process.cpuUsage(cpu);
        done(
          { name: component.name, wallS: (performance.now() - at) / 1000, cpuS: (used.user + used.system) / 1e6 },
          started,
        );
      }
    };
  }
}
