import type { LedgerEntry } from '@mlops/kernel';
import { table } from './format.js';

/** The phases of a pipeline as the time breakdown names them, in pipeline order. */
export const PHASES = ['generate', 'land', 'transform', 'trainer'] as const;

/** A phase of the breakdown. */
export type Phase = (typeof PHASES)[number];

/** Where a phase's time went: busy time (overlapping handlings counted once) and its span in the run. */
export interface PhaseTime {
  /** A phase, or a step of the trainer's pipeline (indented under it when printed). */
  phase: string;
  /** Wall time during which at least one handling of the phase was under way. */
  busyMs: number;
  /** Handlings measured. */
  handlings: number;
  /** From the run's start to the phase's first handling start and its last output. */
  fromMs: number;
  toMs: number;
}

const PHASE_OF_STAGE: Readonly<Record<string, Phase>> = {
  'sales-gen': 'generate',
  'click-gen': 'generate',
  'startup-gen': 'generate',
  lander: 'land',
  transformer: 'transform',
  trainer: 'trainer',
};

interface Interval {
  start: number;
  end: number;
}

/** Total length of a set of intervals, overlaps counted once. */
export function unionMs(intervals: readonly Interval[]): number {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  let total = 0;
  let start = Number.NaN;
  let end = Number.NaN;
  for (const interval of sorted) {
    if (!(interval.start <= end)) {
      if (end > start) total += end - start;
      start = interval.start;
      end = interval.end;
    } else end = Math.max(end, interval.end);
  }
  if (end > start) total += end - start;
  return total;
}

/**
 * The handling intervals of each phase, read from the ledger: every output carries when its
 * service began handling the cause and when it emitted.
 */
export function phaseIntervals(entries: readonly LedgerEntry[]): Map<Phase, Interval[]> {
  const phases = new Map<Phase, Interval[]>(PHASES.map((phase) => [phase, []]));
  const seen = new Set<string>();
  for (const entry of entries) {
    if (!entry.handlingStart || entry.type === 'mlops.pipeline.started.v1') continue;
    const phase = PHASE_OF_STAGE[entry.stage];
    if (!phase) continue;
    // One interval per handling: its outputs share the cause and the handling start.
    const key = `${entry.stage}|${entry.causationId ?? entry.eventId}|${entry.handlingStart}`;
    const start = Date.parse(entry.handlingStart);
    const end = Date.parse(entry.time);
    const intervals = phases.get(phase)!;
    if (!seen.has(key)) {
      seen.add(key);
      intervals.push({ start, end });
    } else {
      const same = intervals.find((interval) => interval.start === start)!;
      same.end = Math.max(same.end, end);
    }
  }
  return phases;
}

// `refit` has its own line: without it, the refit's fit (on train + holdout, the largest fit of the
// pipeline) was counted in register's time.
const STEP_LINE = /^(features|train|evaluate|refit|register|batch_predict): /;
const DECISION_LINE = /^(training|predicting only): /;

/**
 * The trainer's pipeline steps, from the JSON log lines of the services (what `npm start` writes
 * to its log file): each step logs `<step>: ...` when it ends, after the handler's decision line,
 * so a step lasts from the line before it to its own. Lines before `sinceMs` are other runs'.
 */
export function trainerSteps(logText: string, sinceMs: number): Map<string, Interval[]> {
  const steps = new Map<string, Interval[]>();
  const previous = new Map<string, number>();
  for (const line of logText.split('\n')) {
    if (!line.includes('"service":"trainer"')) continue;
    let record: { message?: unknown; time?: unknown; eventId?: unknown };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      continue;
    }
    if (typeof record.message !== 'string' || typeof record.time !== 'string') continue;
    const time = Date.parse(record.time);
    if (!(time >= sinceMs)) continue;
    const handling = String(record.eventId ?? '');
    if (DECISION_LINE.test(record.message)) {
      previous.set(handling, time);
      continue;
    }
    const step = STEP_LINE.exec(record.message)?.[1];
    const start = previous.get(handling);
    if (!step || start === undefined) continue;
    const name = step === 'batch_predict' ? 'batch predict' : step;
    steps.set(name, [...(steps.get(name) ?? []), { start, end: time }]);
    previous.set(handling, time);
  }
  return steps;
}

function timeOf(phase: string, intervals: readonly Interval[], startedAt: number): PhaseTime {
  return {
    phase,
    busyMs: unionMs(intervals),
    handlings: intervals.length,
    fromMs: Math.min(...intervals.map((interval) => interval.start)) - startedAt,
    toMs: Math.max(...intervals.map((interval) => interval.end)) - startedAt,
  };
}

/**
 * The breakdown of a run that started at `startedAt` (epoch ms): phases in pipeline order, the
 * trainer followed by its steps when the services' log is at hand.
 */
export function stageTimes(entries: readonly LedgerEntry[], startedAt: number, logText?: string): PhaseTime[] {
  const times: PhaseTime[] = [];
  for (const [phase, intervals] of phaseIntervals(entries)) {
    if (intervals.length > 0) times.push(timeOf(phase, intervals, startedAt));
  }
  if (logText !== undefined)
    for (const [step, intervals] of trainerSteps(logText, startedAt))
      times.push(timeOf(`  ${step}`, intervals, startedAt));
  return times;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * The breakdown as printed at the end of `npm start` (and read back by bench/start): one line per
 * phase with its busy time and its span from the start; phases overlap, the total is the wall time.
 */
export function formatStageTimes(times: readonly PhaseTime[], totalMs: number): string {
  return table(
    ['phase', 'busy', 'from', 'to', 'handlings'],
    [
      ...times.map((time) => [
        time.phase,
        seconds(time.busyMs),
        seconds(time.fromMs),
        seconds(time.toMs),
        time.handlings || '',
      ]),
      ['total', seconds(totalMs), seconds(0), seconds(totalMs), ''],
    ],
  );
}
