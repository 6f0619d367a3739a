/**
 * The fault-injection suite: a clean run (the backfill and three daily runs in one process each),
 * then the same on the multi-process stack (`mlops stack up`) under a seeded schedule of faults:
 *
 * 1. the backfill, with services SIGKILLed at points of their work (the stack restarts them);
 * 2. topics delivered again, in a shuffled order (`mlops replay`);
 * 3. two daily runs while the transformer is stopped (SIGSTOP), one bronze file of the second date
 *    corrupted before the transformer resumes: that date fails alone with the file and the reason;
 *    the file is put back, `mlops dlq redrive` rebuilds it, and a replay of `warehouse-ready` since
 *    then lets the trainer score the snapshots it had to leave out;
 * 4. a daily run whose writer finds its lake folder full (a small tmpfs), freed later (then a redrive
 *    where the stage gave up);
 *
 * with a reader taking the gold tables' checksums throughout. Then every gold table's checksum is
 * compared with the clean run's.
 */
import { performance } from 'node:perf_hooks';
import { createPlatform } from '@mlops/platform';
import { loadConfig, silentLogger, type AnyEvent, type Platform, type WarehouseReady } from '@mlops/kernel';
import { tempDir } from '@mlops/testing';
import {
  goldChecksums,
  killDuring,
  mlops,
  parseExportLine,
  startStack,
  type RunningStack,
} from '../../cli/test/fixtures/stack.harness.js';
import { corruptFile, fillDisk, partitionFiles, type FullDisk } from './lake-faults.js';
import { startReader, unwholeStates } from './reader.js';
import { describeSchedule, drawSchedule, killPlan, type FaultSchedule } from './schedule.js';

/** Options of {@link runFaultSuite}. */
export interface FaultSuiteOptions {
  seed: number;
  days: number;
  from: string;
  /** Settings of both runs (scale, churn horizon, bus lease). */
  settings: Record<string, string>;
  /** Where progress goes (a line at a time). */
  print: (line: string) => void;
  keep?: boolean;
}

/** One line of the verdict: a fault class (or the comparison) and whether it held. */
export interface Verdict {
  ok: boolean;
  line: string;
}

/** What the suite found. */
export interface FaultSuiteResult {
  schedule: FaultSchedule;
  verdicts: Verdict[];
  equal: boolean;
  clean: Record<string, string>;
  faulted: Record<string, string>;
}

const TRANSFORMER_LEDGER = 'transformer_ledger';

/** Poll a predicate every `everyMs` until it holds; throws naming what was awaited after `timeoutMs`. */
async function poll(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs: number, everyMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Wait until no subscription has a message pending or in flight, twice in a row 1 s apart. */
async function quiet(platform: Platform, timeoutMs: number): Promise<void> {
  let calm = 0;
  await poll(
    async () => {
      const stats = await platform.bus.stats();
      calm = stats.every((entry) => entry.pending === 0 && entry.inFlight === 0) ? calm + 1 : 0;
      return calm >= 2;
    },
    'every subscription to be idle',
    timeoutMs,
    1000,
  );
}

/** Run the clean reference: the backfill, then each daily run, each in one process. */
async function cleanRun(
  schedule: FaultSchedule,
  options: FaultSuiteOptions,
  home: string,
): Promise<Record<string, string>> {
  const env = { MLOPS_HOME: home, ...options.settings };
  const steps = [
    ['backfill', '--from', schedule.backfill.from, '--to', schedule.backfill.to],
    ...schedule.dailyDates.map((date) => ['run', '--date', date]),
  ];
  for (const args of steps) {
    const result = await mlops(args, env);
    if (result.code !== 0)
      throw new Error(`clean run: mlops ${args.join(' ')} exited ${result.code}\n${result.stderr.slice(-3000)}`);
  }
  return goldChecksums(home);
}

/** Run the suite; resolves to its verdicts. */
export async function runFaultSuite(options: FaultSuiteOptions): Promise<FaultSuiteResult> {
  const { print } = options;
  const schedule = drawSchedule(options.seed, options.from, options.days);
  for (const line of describeSchedule(schedule)) print(line);
  const verdicts: Verdict[] = [];
  const verdict = (ok: boolean, line: string) => {
    verdicts.push({ ok, line });
    print(`${ok ? 'ok  ' : 'FAIL'} ${line}`);
  };

  const cleanHome = tempDir('mlops-faults-clean-');
  const home = tempDir('mlops-faults-');
  let stack: RunningStack | undefined;
  let platform: Platform | undefined;
  let disk: FullDisk | undefined;
  try {
    let started = performance.now();
    const clean = await cleanRun(schedule, options, cleanHome.path);
    print(`clean run: ${((performance.now() - started) / 1000).toFixed(0)} s; state in ${cleanHome.path}`);

    started = performance.now();
    stack = await startStack({ env: { MLOPS_HOME: home.path, MLOPS_DASHBOARD_PORT: '0', ...options.settings } });
    const running = stack;
    const env = { ...parseExportLine(running.exportLine), ...options.settings };
    print(`stack up in ${((performance.now() - started) / 1000).toFixed(0)} s; state in ${home.path}`);
    platform = await createPlatform(loadConfig(env), { log: silentLogger, service: 'faults' });
    const bus = platform.bus;
    // What the transformer committed, to check the reader against.
    const builds: WarehouseReady[] = [];
    const watcher = await bus.subscribe(
      { name: 'faults.warehouse-ready', topic: 'warehouse-ready', concurrency: 4 },
      async (event: AnyEvent) => {
        if (event.type === 'mlops.warehouse.ready.v1') builds.push(event.data);
      },
    );
    const reader = startReader(home.path);
    const since = new Date();

    // 1. The backfill, with SIGKILLs.
    started = performance.now();
    const backfill = mlops(
      ['backfill', '--from', schedule.backfill.from, '--to', schedule.backfill.to, '--attach', '--timeout', '3600'],
      env,
    );
    const killed = await killDuring(running, killPlan(schedule), backfill);
    const backfilled = await backfill;
    await quiet(platform, 600_000);
    const restarted = killed.filter((entry) => {
      const now = running.pids().get(entry.service);
      return now !== undefined && now !== entry.pid;
    });
    const missed = schedule.kills.filter((kill) => !killed.some((entry) => entry.service === kill.service));
    verdict(
      backfilled.code === 0 && restarted.length === killed.length && killed.length > 0,
      `kills: ${killed.map((entry) => `${entry.service} at ${(entry.atMs / 1000).toFixed(1)} s`).join(', ')} SIGKILLed and restarted by the stack${missed.length > 0 ? ` (${missed.map((kill) => kill.service).join(', ')} never reached ${missed.length === 1 ? 'its point' : 'their points'})` : ''}; backfill --attach exited ${backfilled.code} after ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );

    // 2. Everything delivered again, topic after topic in a shuffled order.
    let deliveries = 0;
    for (const topic of schedule.replays) {
      const replay = await mlops(['replay', '--topic', topic, '--since', since.toISOString(), '--attach'], env);
      deliveries += Number(/(\d+) deliver/.exec(replay.stdout)?.[1] ?? 0);
      if (replay.code !== 0) print(replay.stderr.slice(-2000));
    }
    await quiet(platform, 600_000);
    const afterReplay = await goldChecksums(home.path);
    verdict(
      deliveries > 0,
      `duplicates: ${schedule.replays.join(', ')} delivered again in that order (${deliveries} deliveries) after the backfill`,
    );

    // 3. A bad file of the second of two dates that landed while the transformer was stopped.
    const [first, second, third] = schedule.dailyDates;
    const transformerPid = running.pids().get('transformer')!;
    process.kill(transformerPid, 'SIGSTOP');
    const phaseStart = new Date();
    let corrupted;
    const runs: Promise<{ code: number }>[] = [];
    try {
      // One date after the other: the transformer then meets the first date's partitions first.
      const pending = async () =>
        (await bus.stats()).find((entry) => entry.subscription === 'transformer.bronze-landed')?.pending ?? 0;
      for (const [index, date] of [first, second].entries()) {
        runs.push(mlops(['run', '--date', date, '--attach', '--timeout', '1800'], env));
        await poll(
          async () =>
            partitionFiles(home.path, 'sales', date).length > 0 &&
            partitionFiles(home.path, 'clickstream', date).length > 0 &&
            (await pending()) >= 2 * (index + 1),
          `${date} to land`,
          600_000,
          500,
        );
        // A startups delta (Fridays) lands too.
        await new Promise((resolve) => setTimeout(resolve, 3000));
      }
      corrupted = corruptFile(home.path, schedule.corrupt.source, second, schedule.corrupt.how);
    } finally {
      process.kill(transformerPid, 'SIGCONT');
    }
    const codes = (await Promise.all(runs)).map((result) => result.code);
    await quiet(platform, 600_000);
    const broken = (await platform.documents.get(TRANSFORMER_LEDGER, `built_${second}`))?.data;
    const letters = await bus.listDeadLetters({ subscription: 'transformer.bronze-landed' });
    const named = letters.filter(
      (letter) => letter.reason.includes(corrupted.key) || letter.reason.includes(`dt=${second}`),
    );
    // Found while building the other date's event: a copy of that event is the dead letter.
    const copies = named.filter((letter) => letter.reason.startsWith(`${second} not built while building ${first}`));
    const firstBuilt = (await platform.documents.get(TRANSFORMER_LEDGER, `built_${first}`))?.data?.status;
    corrupted.restore();
    const redrive = await mlops(['dlq', 'redrive'], env);
    await quiet(platform, 600_000);
    await mlops(['replay', '--topic', 'warehouse-ready', '--since', phaseStart.toISOString(), '--attach'], env);
    await quiet(platform, 600_000);
    const rebuilt = (await platform.documents.get(TRANSFORMER_LEDGER, `built_${second}`))?.data?.status;
    verdict(
      broken?.status === 'broken' &&
        Array.isArray(broken.files) &&
        broken.files.includes(corrupted.key) &&
        named.length > 0 &&
        firstBuilt === 'ready' &&
        rebuilt === 'ready',
      `bad file: ${corrupted.key} (${corrupted.how}): ${second} ${String(broken?.status)} alone (${String(broken?.code)}, files ${JSON.stringify(broken?.files ?? [])}), ${first} ${String(firstBuilt)}; runs exited ${codes.join(', ')}; ${named.length} dead letter(s) naming it (${copies.length} found while building ${first}); repaired, ${redrive.stdout.trim()}: ${second} ${String(rebuilt)}`,
    );

    // 4. A full disk for one stage's partition folder, freed later.
    const full = fillDisk(home.path, schedule.diskFull.source, third);
    if ('skipped' in full) {
      const run = await mlops(['run', '--date', third, '--attach', '--timeout', '1800'], env);
      verdict(run.code === 0, `disk full: skipped (${full.skipped}); ${third} ran without it, exited ${run.code}`);
    } else {
      disk = full;
      const run = mlops(['run', '--date', third, '--attach', '--timeout', '1800'], env);
      const stage = schedule.diskFull.stage;
      let noticed = false;
      await poll(
        () => (noticed = running.lines(stage).some((line) => /ENOSPC|no space left/i.test(JSON.stringify(line)))),
        `${stage} to hit the full disk`,
        600_000,
        500,
      ).catch(() => undefined);
      full.free();
      const dead = (await bus.listDeadLetters()).filter((letter) => /ENOSPC|no space/i.test(letter.reason));
      if (dead.length > 0) await mlops(['dlq', 'redrive', ...dead.flatMap((letter) => ['--id', letter.id])], env);
      const exited = await run;
      await quiet(platform, 600_000);
      const landed = partitionFiles(home.path, schedule.diskFull.source, third).length;
      verdict(
        noticed && landed > 0,
        `disk full: ${stage} hit ENOSPC writing ${schedule.diskFull.source} of ${third} (a full 16 MB tmpfs on its folder: ${noticed ? 'seen in its log' : 'never seen'}); freed, ${dead.length > 0 ? `${dead.length} dead letter(s) redriven` : 'its retry went through'}; run exited ${exited.code}; ${landed} file(s) landed`,
      );
    }

    const remaining = await bus.listDeadLetters();
    const seen = await reader.stop();
    await watcher.close();
    const unwhole = unwholeStates(seen.states, builds);
    verdict(
      unwhole.length === 0 && seen.reads > 0 && seen.failures.length === 0,
      `reads while killing: ${seen.reads} read sessions (${seen.beforeFirstBuild} more before the warehouse existed), ${seen.states.length} distinct gold states, ${unwhole.length} not a whole build (checked against ${builds.length} warehouse.ready row counts)${seen.failures.length > 0 ? `; ${seen.failures.length} reads failed, first: ${seen.failures[0]}` : ''}`,
    );
    verdict(remaining.length === 0, `dead letters left: ${remaining.length}`);

    const faulted = await goldChecksums(home.path);
    const tables = [...new Set([...Object.keys(clean), ...Object.keys(faulted)])].sort();
    for (const table of tables)
      if (clean[table] !== faulted[table])
        print(
          `     ${table}: clean ${clean[table] ?? '-'}, faulted ${faulted[table] ?? '-'} (after the replay: ${afterReplay[table] ?? '-'})`,
        );
    const equal = tables.length > 0 && tables.every((table) => clean[table] === faulted[table]);
    print(`gold tables: ${tables.map((table) => `${table} ${clean[table]?.split(':')[0] ?? '-'} rows`).join(', ')}`);
    print(`checksums equal to the clean run: ${equal ? 'yes' : 'no'}`);
    return { schedule, verdicts, equal, clean, faulted };
  } finally {
    await platform?.close().catch(() => undefined);
    if (stack && stack.process.exitCode === null) print(`stack stopped with exit code ${await stack.stop()}`);
    try {
      disk?.unmount();
    } catch (error) {
      print(`could not unmount ${disk?.dir}: ${String(error)}`);
    }
    if (!options.keep) {
      cleanHome.remove();
      home.remove();
    }
  }
}
