import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SqliteEventBus } from '@mlops/adapters-local';
import { floorEvent } from './bus.floor.js';

/**
 * The throughput run's shape (windows of 1,000 publishes, one subscription, concurrency 64) run
 * several times in one process, each on a fresh bus file, printing the CPU per event of each, split
 * into the main thread and the others (V8's garbage-collection helpers, the checkpoint worker).
 * `--profile <file>` samples the last run with the V8 CPU profiler, `HEAP_PROFILE=<file>` with the
 * sampling heap profiler (every allocation, collected or not): the measured window only.
 * Usage: `node --conditions=@mlops/source --import tsx bench/bus/bus.profile.ts [events] [runs] [--profile out.cpuprofile]`.
 */
const args = process.argv.slice(2);
const profileAt = args.indexOf('--profile');
const profileFile = profileAt >= 0 ? args[profileAt + 1] : undefined;
const positional = args.filter((arg, i) => !arg.startsWith('--') && (profileAt < 0 || i !== profileAt + 1));
const count = Number(positional[0] ?? 20_000);
const runs = Number(positional[1] ?? 3);

/** The bench's event: the one the SQL floor publishes too. */
const eventFor = floorEvent;

/** CPU ticks (user + system, 1/100 s) of this process's threads: the main thread and the others. */
function threadTicks(): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const task of readdirSync('/proc/self/task')) {
    try {
      const fields = readFileSync(`/proc/self/task/${task}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      if (Number(task) === process.pid) main += ticks;
      else others += ticks;
    } catch {
      // The thread ended meanwhile.
    }
  }
  return { main, others };
}

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const dir = mkdtempSync(join(tmpdir(), 'mlops-bus-profile-'));
const session = new Session();
session.connect();
try {
  for (let run = 1; run <= runs; run += 1) {
    const bus = new SqliteEventBus({ path: join(dir, `bus-${run}.sqlite`) });
    // Timed once open and settled, as a service's bus is: its checkpoint worker boots in ~70 ms of CPU.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const events = Array.from({ length: count }, (_, i) => eventFor(i));
    let handled = 0;
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (done = resolve));
    const subscription = await bus.subscribe(
      { name: `profile-${run}`, topic: 'pipeline-start', concurrency: 64 },
      async () => {
        handled += 1;
        if (handled === count) done();
      },
    );
    // The run's events (built just above) moved to the old generation before timing, as the bench does.
    collectGarbage();
    const profiling = profileFile !== undefined && run === runs;
    const heapFile = process.env.HEAP_PROFILE;
    if (heapFile && run === runs) {
      await session.post('HeapProfiler.enable');
      await session.post('HeapProfiler.startSampling', {
        samplingInterval: 512,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      } as never);
    }
    if (profiling) {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
      await session.post('Profiler.start');
    }
    const ticks = threadTicks();
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let start = 0; start < count; start += 1_000) {
      const window: Promise<string>[] = [];
      for (let i = start; i < Math.min(count, start + 1_000); i += 1) window.push(bus.publish(events[i]!));
      await Promise.all(window);
    }
    const handledAtLastPublish = handled;
    await all;
    const wall = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const after = threadTicks();
    if (heapFile && run === runs) {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      writeFileSync(heapFile, JSON.stringify(profile));
    }
    if (profiling) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(profileFile!, JSON.stringify(profile));
    }
    await subscription.close();
    await bus.close();
    console.log(
      `run ${run}: ${count} events, ${((used.user + used.system) / count).toFixed(1)} µs CPU/event (user ${(used.user / count).toFixed(1)}, system ${(used.system / count).toFixed(1)}), ${Math.round(count / (wall / 1000))} events/s, main thread ${(((after.main - ticks.main) * 1e4) / count).toFixed(1)} µs, other threads ${(((after.others - ticks.others) * 1e4) / count).toFixed(1)} µs, load ${loadavg()[0]!.toFixed(1)}, handled when the last publish resolved ${handledAtLastPublish}`,
    );
  }
} finally {
  session.disconnect();
  rmSync(dir, { recursive: true, force: true });
}
