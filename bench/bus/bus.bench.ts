import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SqliteEventBus } from '@mlops/adapters-local';
import { decodeMessage, encodeMessage, validateEvent, type Publisher, type Subscriber } from '@mlops/kernel';
import { PubSubEventBus } from '@mlops/adapters-gcp';
import { emulatorSupport, startEmulator, type RunningEmulator } from '@mlops/testing';
import { floorEvent, measureSqlFloor, type SqlFloor } from './bus.floor.js';

/**
 * Event bus benchmark: events per second end to end (publish → handler finished) and
 * publish-to-handled latency, for the embedded SQLite bus and the Pub/Sub adapter on Google's
 * emulator, under two loads:
 *
 * - throughput: publish N events as fast as the bus accepts them (bounded in time);
 * - light: a steady rate (200 events/s) for a few seconds, where latency is what matters.
 *
 * Both buses validate on publish and on receipt and use the same codec, so the numbers compare the
 * transports. Target for the local bus: ≥ 50,000 events/s end to end, p99 < 2 ms at light load. On a
 * shared machine the CPU time per event is the stable figure: 50,000 events/s needs ≤ 20 µs.
 */
export interface BusBenchOptions {
  localEvents?: number;
  emulatorEvents?: number;
  lightRatePerSecond?: number;
  lightSeconds?: number;
  /** Events of the unmeasured warm-up burst on the local bus (default 5,000). */
  warmUpEvents?: number;
  /** Handler concurrency of the benchmark subscription. */
  concurrency?: number;
  /** Skip the Pub/Sub emulator runs. */
  localOnly?: boolean;
  /** Longest a throughput run may take before it is cut short (its numbers then cover what was handled). */
  maxRunMs?: number;
  log?: (line: string) => void;
}

/** The measurements of one run. */
export interface BusRun {
  bus: 'local SQLite' | 'Pub/Sub emulator';
  load: 'throughput' | 'light';
  published: number;
  handled: number;
  seconds: number;
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU time of this process per handled event (user + system), which contention on a shared machine barely moves. */
  cpuUsPerEvent: number;
  /** Set when the run hit maxRunMs before every event was handled. */
  cutShort: boolean;
}

/** Everything a bench run measured, plus the local-bus target verdict. */
export interface BusBenchResult {
  runs: BusRun[];
  /** The anchor: `better-sqlite3` alone running the local bus's statements for the throughput run's shape. */
  sqlFloor?: SqlFloor;
  /** CPU per event of validating and encoding on publish plus decoding and validating on receipt, alone. */
  codecUsPerEvent?: number;
  emulatorSkipped?: string;
  localTarget: {
    eventsPerSecond: number;
    p99Ms: number;
    cpuUsPerEvent: number;
    met: boolean;
    /** Each target on its own: events/s end to end (a run cut short misses it), p99 at light load. */
    throughputMet: boolean;
    latencyMet: boolean;
    /** Whether the CPU per event would carry the target rate on one core (the figure load barely moves). */
    cpuMet: boolean;
  };
}

/** The local bus's targets: events/s end to end, p99 at light load, and the CPU per event that rate needs. */
const TARGET_EVENTS_PER_SECOND = 50_000;
const TARGET_P99_MS = 2;
const TARGET_CPU_US_PER_EVENT = 1e6 / TARGET_EVENTS_PER_SECOND;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

setFlagsFromString('--expose-gc');
/**
 * A full garbage collection, run before timing: the run's inputs (its events, built just before)
 * are then in the old generation instead of being copied out of the young one during the run.
 */
const collectGarbage = runInNewContext('gc') as () => void;

/** The bench's event: the one the SQL floor publishes too. */
const eventFor = floorEvent;

/** Subscribe, publish according to `drive`, and time each event from its publish call to its handler's end. */
async function measure(
  bus: Publisher & Subscriber,
  label: BusRun['bus'],
  load: BusRun['load'],
  count: number,
  concurrency: number,
  maxRunMs: number,
  drive: (publish: (i: number) => Promise<void>) => Promise<void>,
): Promise<BusRun> {
  const events = Array.from({ length: count }, (_, i) => eventFor(i));
  const index = new Map(events.map((event, i) => [event.id, i]));
  const publishedAt = new Float64Array(count);
  const latencies: number[] = [];
  let handled = 0;
  let lastHandled = 0;
  let done: () => void = () => undefined;
  const allHandled = new Promise<void>((resolve) => (done = resolve));
  const subscription = await bus.subscribe(
    { name: `bench-${load}-${Date.now().toString(36)}`, topic: 'pipeline-start', concurrency },
    async (event) => {
      const i = index.get(event.id);
      if (i === undefined) return;
      const now = performance.now();
      latencies.push(now - publishedAt[i]!);
      lastHandled = now;
      handled += 1;
      if (handled === count) done();
    },
  );
  let published = 0;
  collectGarbage();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const publish = async (i: number) => {
    publishedAt[i] = performance.now();
    await bus.publish(events[i]!);
    published += 1;
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), maxRunMs)));
  const outcome = await Promise.race([
    drive(publish)
      .then(() => allHandled)
      .then(() => 'done' as const),
    deadline,
  ]);
  clearTimeout(timer);
  const cpu = process.cpuUsage(cpuBefore);
  await subscription.close();
  latencies.sort((a, b) => a - b);
  const seconds = ((handled > 0 ? lastHandled : performance.now()) - started) / 1000;
  return {
    bus: label,
    load,
    published,
    handled,
    seconds,
    eventsPerSecond: handled / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    cpuUsPerEvent: (cpu.user + cpu.system) / Math.max(1, handled),
    cutShort: outcome === 'timeout',
  };
}

/** Publish everything at once, a window of outstanding publishes at a time (what a fan-out stage does). */
function flood(count: number, window = 1_000) {
  return async (publish: (i: number) => Promise<void>) => {
    for (let start = 0; start < count; start += window) {
      const batch: Promise<void>[] = [];
      for (let i = start; i < Math.min(count, start + window); i += 1) batch.push(publish(i));
      await Promise.all(batch);
    }
  };
}

/** Publish at a steady rate, one event at a time, correcting for timer drift. */
function steady(count: number, ratePerSecond: number) {
  return async (publish: (i: number) => Promise<void>) => {
    const interval = 1000 / ratePerSecond;
    const start = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < count; i += 1) {
      const due = start + i * interval;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      pending.push(publish(i));
    }
    await Promise.all(pending);
  };
}

async function runOn(
  label: BusRun['bus'],
  open: () => Promise<{ bus: Publisher & Subscriber; close: () => Promise<void> }>,
  counts: { throughput: number; light: number; warmUp?: number },
  options: Required<Pick<BusBenchOptions, 'lightRatePerSecond' | 'concurrency' | 'maxRunMs'>>,
  log: (line: string) => void,
): Promise<BusRun[]> {
  const runs: BusRun[] = [];
  // A warm-up (JIT, prepared statements, gRPC channels) is not measured: a burst in the throughput
  // run's shape, long enough for the hot paths to be optimised (200 events left most of them to the
  // measured run), then a few at a time.
  {
    const { bus, close } = await open();
    await measure(
      bus,
      label,
      'throughput',
      counts.warmUp ?? 200,
      options.concurrency,
      30_000,
      flood(counts.warmUp ?? 200),
    );
    await measure(bus, label, 'light', 200, options.concurrency, 30_000, flood(200, 50));
    await close();
  }
  for (const load of ['throughput', 'light'] as const) {
    const { bus, close } = await open();
    // Timed once open and settled, as a service's bus is when events flow: the local bus boots its
    // checkpoint worker (a thread, ~70 ms of CPU) right after it opens.
    await sleep(300);
    const count = counts[load];
    log(`${label}: ${load} run, ${count} events${load === 'light' ? ` at ${options.lightRatePerSecond}/s` : ''}…`);
    const run = await measure(
      bus,
      label,
      load,
      count,
      options.concurrency,
      options.maxRunMs,
      load === 'throughput' ? flood(count) : steady(count, options.lightRatePerSecond),
    );
    await close();
    runs.push(run);
  }
  return runs;
}

/**
 * What the bus must do per event besides SQL, alone in a loop: validate and encode (publish),
 * decode and validate (receipt), over the same events (the minimum of three passes).
 */
function measureCodec(count: number): number {
  const events = Array.from({ length: count }, (_, i) => eventFor(i));
  const publishedAt = new Date();
  let best = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass < 3; pass += 1) {
    const cpu = process.cpuUsage();
    for (const event of events)
      decodeMessage(encodeMessage(validateEvent(event, { readOnly: true })), undefined, { publishedAt });
    const used = process.cpuUsage(cpu);
    best = Math.min(best, (used.user + used.system) / count);
  }
  return best;
}

/** Run the benchmark and return its measurements (printing is left to {@link formatBusBench}). */
export async function runBusBench(options: BusBenchOptions = {}): Promise<BusBenchResult> {
  const log = options.log ?? ((line: string) => console.error(line));
  const rate = options.lightRatePerSecond ?? 200;
  const lightSeconds = options.lightSeconds ?? 5;
  const settings = {
    lightRatePerSecond: rate,
    concurrency: options.concurrency ?? 64,
    maxRunMs: options.maxRunMs ?? 60_000,
  };
  const runs: BusRun[] = [];

  const dir = mkdtempSync(join(tmpdir(), 'mlops-bus-bench-'));
  let sqlFloor: SqlFloor | undefined;
  let codecUsPerEvent: number | undefined;
  try {
    let n = 0;
    runs.push(
      ...(await runOn(
        'local SQLite',
        async () => {
          const bus = new SqliteEventBus({ path: join(dir, `bus-${(n += 1)}.sqlite`) });
          return { bus, close: () => bus.close() };
        },
        {
          throughput: options.localEvents ?? 50_000,
          light: Math.round(rate * lightSeconds),
          warmUp: options.warmUpEvents ?? 5_000,
        },
        settings,
        log,
      )),
    );
    const anchorEvents = options.localEvents ?? 50_000;
    log(`anchors: the bus's SQL alone (better-sqlite3), then validation and codec alone, ${anchorEvents} events…`);
    sqlFloor = await measureSqlFloor(dir, anchorEvents, eventFor);
    codecUsPerEvent = measureCodec(Math.min(anchorEvents, 20_000));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  let emulatorSkipped: string | undefined;
  const support = emulatorSupport('pubsub');
  if (options.localOnly) emulatorSkipped = 'asked for local only';
  else if (!support.available) emulatorSkipped = support.reason;
  else {
    let emulator: RunningEmulator | undefined;
    try {
      emulator = await startEmulator('pubsub');
      const host = emulator.host;
      let n = 0;
      runs.push(
        ...(await runOn(
          'Pub/Sub emulator',
          async () => {
            const bus = new PubSubEventBus({
              projectId: `bench-${process.pid}-${(n += 1)}`,
              emulatorHost: host,
              publishBatching: { maxMessages: 500, maxMilliseconds: 5 },
            });
            return { bus, close: () => bus.close() };
          },
          { throughput: options.emulatorEvents ?? 10_000, light: Math.round(rate * lightSeconds) },
          settings,
          log,
        )),
      );
    } finally {
      await emulator?.stop();
    }
  }

  const localThroughput = runs.find((run) => run.bus === 'local SQLite' && run.load === 'throughput')!;
  const localLight = runs.find((run) => run.bus === 'local SQLite' && run.load === 'light')!;
  const throughputMet = localThroughput.eventsPerSecond >= TARGET_EVENTS_PER_SECOND && !localThroughput.cutShort;
  const latencyMet = localLight.p99Ms < TARGET_P99_MS;
  const localTarget = {
    eventsPerSecond: localThroughput.eventsPerSecond,
    p99Ms: localLight.p99Ms,
    cpuUsPerEvent: localThroughput.cpuUsPerEvent,
    met: throughputMet && latencyMet,
    throughputMet,
    latencyMet,
    cpuMet: localThroughput.cpuUsPerEvent <= TARGET_CPU_US_PER_EVENT,
  };
  return {
    runs,
    ...(sqlFloor ? { sqlFloor } : {}),
    ...(codecUsPerEvent !== undefined ? { codecUsPerEvent } : {}),
    ...(emulatorSkipped ? { emulatorSkipped } : {}),
    localTarget,
  };
}

/** The measurements as a table, the buses side by side. */
export function formatBusBench(result: BusBenchResult, options: { lightRatePerSecond?: number } = {}): string {
  const buses = [...new Set(result.runs.map((run) => run.bus))];
  const cell = (bus: string, load: BusRun['load'], pick: (run: BusRun) => string) => {
    const run = result.runs.find((r) => r.bus === bus && r.load === load);
    return run ? pick(run) : '-';
  };
  const fmt = (value: number, digits = 0) =>
    Number.isFinite(value)
      ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
      : '-';
  const rows: [string, (run: BusRun) => string, BusRun['load']][] = [
    [
      'throughput: events handled',
      (run) => `${fmt(run.handled)}${run.cutShort ? ` of ${fmt(run.published)} (cut short)` : ''}`,
      'throughput',
    ],
    ['throughput: events/s end to end', (run) => fmt(run.eventsPerSecond), 'throughput'],
    ['throughput: p50 latency ms', (run) => fmt(run.p50Ms, 2), 'throughput'],
    ['throughput: p99 latency ms', (run) => fmt(run.p99Ms, 2), 'throughput'],
    ['throughput: CPU µs per event (this process)', (run) => fmt(run.cpuUsPerEvent), 'throughput'],
    [`light (${options.lightRatePerSecond ?? 200}/s): events handled`, (run) => fmt(run.handled), 'light'],
    ['light: p50 latency ms', (run) => fmt(run.p50Ms, 2), 'light'],
    ['light: p99 latency ms', (run) => fmt(run.p99Ms, 2), 'light'],
    ['light: max latency ms', (run) => fmt(run.maxMs, 2), 'light'],
  ];
  const table = [
    ['', ...buses],
    ...rows.map(([name, pick, load]) => [name, ...buses.map((bus) => cell(bus, load, pick))]),
  ];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  const lines = table.map((row) =>
    row
      .map((text, column) => (column === 0 ? text.padEnd(widths[column]!) : text.padStart(widths[column]!)))
      .join('   '),
  );
  lines.splice(1, 0, widths.map((width) => '-'.repeat(width)).join('   '));
  const target = result.localTarget;
  lines.push('');
  const verdict = (met: boolean) => (met ? 'met' : 'not met');
  lines.push(
    `local bus, events/s end to end (target >= ${fmt(TARGET_EVENTS_PER_SECOND)}): ${fmt(target.eventsPerSecond)}: ${verdict(target.throughputMet)}`,
  );
  lines.push(
    `local bus, p99 latency at ${options.lightRatePerSecond ?? 200}/s (target < ${TARGET_P99_MS} ms): ${fmt(target.p99Ms, 2)} ms: ${verdict(target.latencyMet)}`,
  );
  lines.push(
    `local bus, CPU per event (<= ${fmt(TARGET_CPU_US_PER_EVENT)} µs, what 50,000 events/s needs on one core): ${fmt(target.cpuUsPerEvent)} µs, ${fmt(1e6 / target.cpuUsPerEvent)} events/s per core of CPU: ${verdict(target.cpuMet)}`,
  );
  if (result.sqlFloor) {
    const floor = result.sqlFloor;
    lines.push(
      `anchor, the bus's SQL alone (better-sqlite3, the same statements and commits for ${fmt(floor.events)} events): ${fmt(floor.cpuUsPerEvent, 1)} µs CPU per event, ${fmt(floor.eventsPerSecond)} events/s; the bus: ${fmt(target.cpuUsPerEvent / floor.cpuUsPerEvent, 1)}x its CPU`,
    );
  }
  if (result.codecUsPerEvent !== undefined) {
    lines.push(
      `validation and codec alone (publish: validate + encode; receipt: decode + validate): ${fmt(result.codecUsPerEvent, 1)} µs CPU per event`,
    );
    if (result.sqlFloor) {
      const floor = result.sqlFloor.cpuUsPerEvent + result.codecUsPerEvent;
      lines.push(
        `floor of the work every event needs (SQL + validation and codec): ${fmt(floor, 1)} µs, ${fmt(1e6 / floor)} events/s per core; the bus: ${fmt(target.cpuUsPerEvent / floor, 1)}x it (the rest: promises, handler dispatch, garbage collection)`,
      );
    }
  }
  lines.push(
    `machine: ${cpus().length} CPUs, load average ${loadavg()
      .map((value) => value.toFixed(1))
      .join(' / ')} at the end (other work on the machine slows the wall-clock numbers, not the CPU ones)`,
  );
  if (result.emulatorSkipped) lines.push(`Pub/Sub emulator runs skipped: ${result.emulatorSkipped}`);
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const number = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
  const options: BusBenchOptions = {
    ...(number('BENCH_LOCAL_EVENTS') ? { localEvents: number('BENCH_LOCAL_EVENTS') } : {}),
    ...(number('BENCH_EMULATOR_EVENTS') ? { emulatorEvents: number('BENCH_EMULATOR_EVENTS') } : {}),
    ...(number('BENCH_CONCURRENCY') ? { concurrency: number('BENCH_CONCURRENCY') } : {}),
    ...(number('BENCH_WARMUP_EVENTS') ? { warmUpEvents: number('BENCH_WARMUP_EVENTS') } : {}),
    localOnly: process.argv.includes('--local-only'),
  };
  const result = await runBusBench(options);
  console.log(formatBusBench(result));
}
