import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventBus } from '@mlops/adapters-local';
import { createEvent, type AnyEvent } from '@mlops/kernel';

/**
 * The throughput run's shape (windows of 1,000 publishes, one subscription, concurrency 64) run
 * several times in one process, each on a fresh bus file, printing the CPU per event of each; with
 * `--profile <file>` the last run is sampled by the V8 profiler (the measured window only).
 * Usage: `tsx --conditions=@mlops/source bench/bus/bus.profile.ts [events] [runs] [--profile out.cpuprofile]`.
 */
const args = process.argv.slice(2);
const profileAt = args.indexOf('--profile');
const profileFile = profileAt >= 0 ? args[profileAt + 1] : undefined;
const positional = args.filter((arg, i) => !arg.startsWith('--') && (profileAt < 0 || i !== profileAt + 1));
const count = Number(positional[0] ?? 20_000);
const runs = Number(positional[1] ?? 3);

function eventFor(i: number): AnyEvent {
  const day = String((i % 28) + 1).padStart(2, '0');
  return createEvent(
    'mlops.pipeline.started.v1',
    { runDate: `2026-01-${day}`, trigger: 'backfill' },
    { source: '//mlops/bench', runid: `run_bench_${i}`, rundate: `2026-01-${day}` },
  ) as AnyEvent;
}

const dir = mkdtempSync(join(tmpdir(), 'mlops-bus-profile-'));
const session = new Session();
session.connect();
try {
  for (let run = 1; run <= runs; run += 1) {
    const bus = new SqliteEventBus({ path: join(dir, `bus-${run}.sqlite`) });
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
    const profiling = profileFile !== undefined && run === runs;
    if (profiling) {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
      await session.post('Profiler.start');
    }
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let start = 0; start < count; start += 1_000) {
      const window: Promise<string>[] = [];
      for (let i = start; i < Math.min(count, start + 1_000); i += 1) window.push(bus.publish(events[i]!));
      await Promise.all(window);
    }
    await all;
    const wall = performance.now() - started;
    const used = process.cpuUsage(cpu);
    if (profiling) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(profileFile!, JSON.stringify(profile));
    }
    await subscription.close();
    await bus.close();
    console.log(
      `run ${run}: ${count} events, ${((used.user + used.system) / count).toFixed(1)} µs CPU/event (user ${(used.user / count).toFixed(1)}, system ${(used.system / count).toFixed(1)}), ${Math.round(count / (wall / 1000))} events/s, load ${loadavg()[0]!.toFixed(1)}`,
    );
  }
} finally {
  session.disconnect();
  rmSync(dir, { recursive: true, force: true });
}
