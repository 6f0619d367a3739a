import { createEvent, newRunId, type AnyEvent, type PipelineStarted } from '@mlops/kernel';

/** A pipeline.started event for one run date: a new run id and trace. */
export function startEvent(data: PipelineStarted, now: Date = new Date()): AnyEvent {
  return createEvent('mlops.pipeline.started.v1', data, {
    source: '//mlops/scheduler',
    runid: newRunId(data.runDate, now),
    rundate: data.runDate,
    subject: `run/${data.runDate}`,
    time: now,
  }) as AnyEvent;
}

/** The UTC date `days` before `now`, YYYY-MM-DD. */
export function utcDateBefore(now: Date, days: number): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - days))
    .toISOString()
    .slice(0, 10);
}

/** Every date from `from` to `to` inclusive. */
export function datesBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}
