/**
 * Time each step of a pipeline run in this process: every task's component is wrapped so its
 * invocation reports its wall time and the process's CPU time (DuckDB's threads included). The
 * profiles of the trainer (bench/model, bench/start) use it. Also the runner the model bench and
 * its profiles run the pipelines with, on a copy of a built warehouse.
 */
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsObjectStore, openDuckDbWarehouse } from '@mlops/adapters-local';
import { ModelRegistry, createLogger } from '@mlops/kernel';
import { InMemoryDocumentStore, warehouseAccessOf } from '@mlops/testing';
import { LocalPipelineRunner } from '@mlops/trainer';

/**
 * A pipeline runner over a copy of `home`'s warehouse in a new scratch folder named from `prefix`
 * (the lake beside it), an in-memory registry, and the messages the pipeline logs.
 */
export async function runnerOnCopy(home: string, prefix: string, options: { keepArtifacts?: boolean } = {}) {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const path = join(work, 'warehouse.duckdb');
  cpSync(join(home, 'warehouse.duckdb'), path);
  const warehouse = await openDuckDbWarehouse({ path });
  const messages: string[] = [];
  const registry = new ModelRegistry(new InMemoryDocumentStore());
  const runner = new LocalPipelineRunner({
    deps: {
      warehouse: warehouseAccessOf(warehouse),
      objects: new FsObjectStore({ root: join(work, 'lake') }),
      registry,
      log: createLogger({ sink: (line) => messages.push(String(JSON.parse(line).message)) }),
    },
    ...(options.keepArtifacts ? { keepArtifacts: true } : {}),
  });
  return { work, path, warehouse, messages, registry, runner };
}

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
