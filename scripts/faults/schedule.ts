/**
 * The fault suite's schedule, drawn from a seed: the same seed and window give the same schedule
 * (which services are SIGKILLed at which point of their work, which topics are delivered again in
 * which order, which bronze file is corrupted and how, which stage's disk fills up).
 */
import type { KillPlan } from '../../cli/test/fixtures/stack.harness.js';

/** A small seeded generator (mulberry32): deterministic across platforms and Node versions. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One SIGKILL: the service, the n-th log line of its kind that marks the point, and a delay after it. */
export interface ScheduledKill {
  readonly service: string;
  /** What the point is, for the report (`the 3rd handled mlops.sales.generated.v1`). */
  readonly point: string;
  readonly pattern: RegExp;
  readonly nth: number;
  readonly afterMs: number;
}

/** How a bronze file is corrupted: bytes overwritten in place (same size), cut short, or removed. */
export type Corruption = 'garble' | 'truncate' | 'delete';

/** The whole schedule. */
export interface FaultSchedule {
  readonly seed: number;
  /** The backfill window, then the three daily runs after it (bad file: the 2nd, landed with the 1st; disk: the 3rd). */
  readonly backfill: { from: string; to: string };
  readonly dailyDates: readonly [string, string, string];
  readonly kills: readonly ScheduledKill[];
  /** Topics delivered again, in this order, after the backfill. */
  readonly replays: readonly string[];
  readonly corrupt: { runDate: string; source: 'sales' | 'clickstream'; how: Corruption };
  /** The stage whose lake folder fills up, and the source it writes. */
  readonly diskFull: { runDate: string; stage: 'lander' | 'click-gen'; source: 'sales' | 'clickstream' };
}

const KILL_POINTS: readonly { service: string; what: string; pattern: RegExp; perDay: boolean }[] = [
  {
    service: 'sales-gen',
    what: 'handled mlops.pipeline.start.v1',
    pattern: /^handled mlops\.pipeline\.start/,
    perDay: true,
  },
  {
    service: 'click-gen',
    what: 'handled mlops.pipeline.start.v1',
    pattern: /^handled mlops\.pipeline\.start/,
    perDay: true,
  },
  {
    service: 'startup-gen',
    what: 'handled mlops.pipeline.start.v1',
    pattern: /^handled mlops\.pipeline\.start/,
    perDay: true,
  },
  {
    service: 'lander',
    what: 'handled mlops.sales.generated.v1',
    pattern: /^handled mlops\.sales\.generated/,
    perDay: true,
  },
  { service: 'transformer', what: 'building line', pattern: /^building \d+ run date/, perDay: false },
  { service: 'trainer', what: 'pipeline decision', pattern: /^(training|predicting only): /, perDay: false },
];

const TOPICS = ['pipeline-start', 'sales-generated', 'bronze-landed', 'warehouse-ready'];

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

function ordinal(n: number): string {
  return `${n}${n % 10 === 1 && n !== 11 ? 'st' : n % 10 === 2 && n !== 12 ? 'nd' : n % 10 === 3 && n !== 13 ? 'rd' : 'th'}`;
}

/** Draw the schedule of a seed for a backfill of `days` days from `from`. */
export function drawSchedule(seed: number, from: string, days: number): FaultSchedule {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const shuffled = <T>(items: readonly T[]): T[] => {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  // Three to five services, each killed once, always the transformer (mid-build is the hard case).
  const others = shuffled(KILL_POINTS.filter((point) => point.service !== 'transformer'));
  const chosen = [
    KILL_POINTS.find((point) => point.service === 'transformer')!,
    ...others.slice(0, 2 + Math.floor(random() * 3)),
  ];
  const kills = chosen.map((point) => {
    const nth = point.perDay ? 1 + Math.floor(random() * Math.max(1, days - 1)) : 1;
    return {
      service: point.service,
      point: `the ${ordinal(nth)} ${point.what}`,
      pattern: point.pattern,
      nth,
      afterMs: Math.floor(random() * 2000),
    };
  });
  const replays = shuffled(TOPICS).slice(0, 2 + Math.floor(random() * 3));
  const to = addDays(from, days - 1);
  const dailyDates = [addDays(to, 1), addDays(to, 2), addDays(to, 3)] as const;
  const disk = pick(['lander', 'click-gen'] as const);
  return {
    seed,
    backfill: { from, to },
    dailyDates,
    kills,
    replays,
    corrupt: {
      runDate: dailyDates[1],
      source: pick(['sales', 'clickstream'] as const),
      how: pick(['garble', 'truncate', 'delete'] as const),
    },
    diskFull: { runDate: dailyDates[2], stage: disk, source: disk === 'lander' ? 'sales' : 'clickstream' },
  };
}

/** The kills as the stack harness's plan. */
export function killPlan(schedule: FaultSchedule): KillPlan[] {
  return schedule.kills.map((kill) => ({
    service: kill.service,
    when: (lines) => lines.filter((line) => kill.pattern.test(line.message ?? '')).length >= kill.nth,
    afterMs: kill.afterMs,
  }));
}

/** The schedule in a few lines, printed before the run (a failure replays with the same seed). */
export function describeSchedule(schedule: FaultSchedule): string[] {
  return [
    `seed ${schedule.seed}: backfill ${schedule.backfill.from}..${schedule.backfill.to}, then daily runs ${schedule.dailyDates.join(', ')}`,
    `  kills: ${schedule.kills.map((kill) => `${kill.service} ${kill.afterMs} ms after ${kill.point}`).join('; ')}`,
    `  delivered again, in order: ${schedule.replays.join(', ')}`,
    `  bad file: ${schedule.corrupt.source} of ${schedule.corrupt.runDate} (${schedule.corrupt.how}), landed with ${schedule.dailyDates[0]} while the transformer is stopped`,
    `  disk full: ${schedule.diskFull.stage} writing ${schedule.diskFull.source} of ${schedule.diskFull.runDate}`,
  ];
}
